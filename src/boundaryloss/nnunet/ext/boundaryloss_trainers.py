"""This project's nnU-Net trainers, for nnU-Net's lookup through ``nnUNet_extTrainer``.

nnU-Net imports this file as the top-level module ``boundaryloss_trainers``; the classes
are re-exported from :mod:`boundaryloss.nnunet.trainers`, so they are the same objects
whichever way they are imported.
"""

from boundaryloss.nnunet.trainers import (
    nnUNetTrainerBoundaryLoss,
    nnUNetTrainerDiceCEBoundaryConstant,
    nnUNetTrainerDiceCEBoundaryRebalance,
    nnUNetTrainerGDLBoundary,
    nnUNetTrainerMapLossBase,
    nnUNetTrainerRRW,
    nnUNetTrainerRRWCE,
)

__all__ = [
    "nnUNetTrainerBoundaryLoss",
    "nnUNetTrainerDiceCEBoundaryConstant",
    "nnUNetTrainerDiceCEBoundaryRebalance",
    "nnUNetTrainerGDLBoundary",
    "nnUNetTrainerMapLossBase",
    "nnUNetTrainerRRW",
    "nnUNetTrainerRRWCE",
]
