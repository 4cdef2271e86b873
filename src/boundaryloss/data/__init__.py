"""Data: the case record, dataset readers and synthetic data.

Readers are lazy :class:`CaseSource` sequences of :class:`Case` objects:
:class:`ImageFolderDataset` (and the :func:`drive`, :func:`chase_db1`, :func:`stare`
layouts) for 2D image folders, :class:`DecathlonDataset` for the MSD / nnU-Net raw
layout; :func:`synthetic_2d` and :func:`synthetic_3d` generate unbalanced cases.
File reading and writing lives in :mod:`boundaryloss.data.io`.
"""

from .case import Case
from .folders import ImageFolderDataset, chase_db1, drive, red_channel_fov, stare
from .msd import DecathlonDataset, read_dataset_json
from .source import CaseSource
from .synthetic import synthetic_2d, synthetic_3d

__all__ = [
    "Case",
    "CaseSource",
    "DecathlonDataset",
    "ImageFolderDataset",
    "chase_db1",
    "drive",
    "read_dataset_json",
    "red_channel_fov",
    "stare",
    "synthetic_2d",
    "synthetic_3d",
]
