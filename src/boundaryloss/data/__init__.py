"""Data: the case record, dataset readers and synthetic data.

Readers are lazy :class:`CaseSource` sequences of :class:`Case` objects:
:class:`ImageFolderDataset` (and the :func:`drive`, :func:`chase_db1`, :func:`stare`
layouts) for 2D image folders, :class:`DecathlonDataset` for the MSD / nnU-Net raw
layout; :func:`synthetic_2d` and :func:`synthetic_3d` generate unbalanced cases.
File reading and writing lives in :mod:`boundaryloss.data.io`.
"""

from .augment import (
    SPATIAL_KEYS,
    Compose,
    Pad,
    RandomCrop,
    RandomFlip,
    RandomGamma,
    RandomIntensity,
    RandomRot90,
    rotate90,
)
from .cache import MapCache, map_key
from .case import Case
from .datasets import CaseDataset, EpochDataset, PatchDataset, SliceDataset, to_tensors
from .folders import CHASE_DB1_SPLITS, ImageFolderDataset, chase_db1, drive, red_channel_fov, stare
from .fov import restrict_to_fov
from .idrid import IDRID_LESIONS, idrid
from .intensity import (
    RandomBrightness,
    RandomContrast,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomLowResolution,
)
from .msd import DecathlonDataset, read_dataset_json
from .patches import crop_patch, foreground_locations, patch_grid, random_patch_start
from .preprocess import (
    NORMALIZATIONS,
    Preprocess,
    clip_percentiles,
    normalize_case,
    normalize_image,
    resize_case,
    resized_affine,
)
from .slicing import case_slices, slice_case, stack_slices
from .source import CaseSource
from .spatial import RandomSpatial, resample, rotation_matrix
from .splits import (
    CaseSubset,
    Split,
    group_of,
    kfold_splits,
    load_splits,
    save_splits,
    select_cases,
    train_val_split,
)
from .synthetic import synthetic_2d, synthetic_3d

__all__ = [
    "CHASE_DB1_SPLITS",
    "IDRID_LESIONS",
    "NORMALIZATIONS",
    "SPATIAL_KEYS",
    "Case",
    "CaseDataset",
    "CaseSource",
    "CaseSubset",
    "Compose",
    "DecathlonDataset",
    "EpochDataset",
    "ImageFolderDataset",
    "MapCache",
    "Pad",
    "PatchDataset",
    "Preprocess",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomGamma",
    "RandomGaussianBlur",
    "RandomGaussianNoise",
    "RandomIntensity",
    "RandomLowResolution",
    "RandomRot90",
    "RandomSpatial",
    "SliceDataset",
    "Split",
    "case_slices",
    "chase_db1",
    "clip_percentiles",
    "crop_patch",
    "drive",
    "foreground_locations",
    "group_of",
    "idrid",
    "kfold_splits",
    "load_splits",
    "map_key",
    "normalize_case",
    "normalize_image",
    "patch_grid",
    "random_patch_start",
    "read_dataset_json",
    "red_channel_fov",
    "resample",
    "resize_case",
    "resized_affine",
    "restrict_to_fov",
    "rotate90",
    "rotation_matrix",
    "save_splits",
    "select_cases",
    "slice_case",
    "stack_slices",
    "stare",
    "synthetic_2d",
    "synthetic_3d",
    "to_tensors",
    "train_val_split",
]
