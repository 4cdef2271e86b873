"""The optional ``nnunet`` extra: one message saying how to install it.

Imports nothing from nnU-Net, so it works (and explains) where nnU-Net is missing.
"""

from __future__ import annotations

import importlib.util
import sys

#: What installs nnU-Net v2 and its dependencies (batchgeneratorsv2, ...).
INSTALL = 'pip install "boundaryloss[nnunet]"'
#: The top-level packages the nnU-Net integration imports.
PACKAGES = ("nnunetv2", "batchgeneratorsv2")


def missing_extra(error: ModuleNotFoundError) -> ModuleNotFoundError:
    """The one-line error for a module of the extra that is missing.

    Args:
        error: the ``ModuleNotFoundError`` an import of nnU-Net (or of one of its own
            dependencies) raised.

    Returns:
        A ``ModuleNotFoundError`` naming the module and the extra to install.
    """
    package = (error.name or "").partition(".")[0] or "a module"  # the package to install
    return ModuleNotFoundError(
        f"No module named {package!r}: the nnU-Net integration needs the nnunet extra: {INSTALL}",
        name=error.name,
    )


def require_nnunet() -> None:
    """Check that the extra's packages are installed, without importing them.

    Raises:
        ModuleNotFoundError: the first missing one, with :func:`missing_extra`'s message.
    """
    for package in PACKAGES:
        if not _installed(package):
            raise missing_extra(ModuleNotFoundError(name=package))


def _installed(package: str) -> bool:
    if package in sys.modules and sys.modules[package] is None:  # imports of it blocked
        return False
    try:
        return importlib.util.find_spec(package) is not None
    except ValueError:  # imported, without a __spec__
        return True
