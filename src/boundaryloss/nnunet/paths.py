"""Where nnU-Net finds this project's trainers (``nnUNet_extTrainer``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: The folder nnU-Net searches: it imports each module in it as a top-level module and
#: looks the ``-tr`` class name up in it, so the folder holds one module re-exporting the
#: trainers of :mod:`boundaryloss.nnunet.trainers`.
TRAINERS_FOLDER = Path(__file__).resolve().parent / "ext"


def trainers_path() -> Path:
    """The directory to put in ``nnUNet_extTrainer``.

    Raises:
        ModuleNotFoundError: nnunetv2 is not installed (checked without importing it).
    """
    if importlib.util.find_spec("nnunetv2") is None:
        raise ModuleNotFoundError(
            "nnunetv2 is not installed; install the extra: pip install 'boundaryloss[nnunet]'"
        )
    return TRAINERS_FOLDER
