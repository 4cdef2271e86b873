"""Where nnU-Net finds this project's trainers (``nnUNet_extTrainer``)."""

from __future__ import annotations

from pathlib import Path

from ._extra import require_nnunet

#: The folder nnU-Net searches: it imports each module in it as a top-level module and
#: looks the ``-tr`` class name up in it, so the folder holds one module re-exporting the
#: trainers of :mod:`boundaryloss.nnunet.trainers`.
TRAINERS_FOLDER = Path(__file__).resolve().parent / "ext"


def trainers_path() -> Path:
    """The directory to put in ``nnUNet_extTrainer``.

    Raises:
        ModuleNotFoundError: nnunetv2 or batchgeneratorsv2 is not installed (checked
            without importing them); the message says which extra to install.
    """
    require_nnunet()
    return TRAINERS_FOLDER
