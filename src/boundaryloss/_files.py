"""Atomic file writing: a file is either complete or absent, never half-written.

Every writer of the package (checkpoints, CSV/JSON, figures, NIfTI and PNG labels,
reports) goes through :func:`atomic_path`. The temporary file lives beside the target,
is named ``.NAME.tmp-XXXX<suffix>`` (so that a process killed mid-write leaves a hidden
file that :func:`remove_temporaries` recognises), and gets the permissions a plain
``open()`` would give (``0o666`` minus the umask), not ``mkstemp``'s private ``0o600``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: Marker in the name of a temporary file written by :func:`atomic_path`.
TEMP_MARKER = ".tmp-"


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def final_suffix(path: str | os.PathLike) -> str:
    """The suffix a library picks the format from: ``".nii.gz"`` or the last one."""
    path = Path(path)
    return ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary name keeps the final suffix (e.g. ``.nii.gz``) so libraries that pick
    the format from the name write the right one. On error the temporary is removed and
    ``path`` is left as it was. The written file has mode ``0o666 & ~umask``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}{TEMP_MARKER}", suffix=final_suffix(path)
    )
    os.close(handle)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        yield Path(tmp)
        with open(tmp, "rb+") as handle:  # on disk before it replaces the old file
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (JSON, CSV, Markdown, YAML) through a temporary file and a rename.

    Returns:
        The path written.
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def is_temporary(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a temporary file left by :func:`atomic_path`."""
    name = Path(path).name
    return name.startswith(".") and TEMP_MARKER in name


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed writer left directly in ``folder``.

    Call it only while holding the folder's lock (no live writer can own them).

    Returns:
        The removed paths (none when ``folder`` does not exist).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        if path.is_file() and is_temporary(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed
