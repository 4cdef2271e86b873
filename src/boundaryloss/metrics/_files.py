"""Writing result files: the package's one atomic writer (see :mod:`boundaryloss._files`)."""

from __future__ import annotations

from .._files import current_umask, write_text_atomically

__all__ = ["current_umask", "write_text_atomically"]
