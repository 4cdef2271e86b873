"""A tiny synthetic dataset in nnU-Net's raw layout, planned and preprocessed for tests.

Five 3D cases of ``(20, 24, 22)`` voxels with anisotropic spacing, two foreground classes
(two ellipsoids), one MRI-like channel. The plan is shrunk to a 16^3 patch, batch 2 and
4..8 features so a CPU iteration takes a fraction of a second.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import nibabel as nib
import numpy as np

DATASET_ID = 987
DATASET_NAME = f"Dataset{DATASET_ID:03d}_BoundaryTiny"
SHAPE = (20, 24, 22)
#: Voxel size in (z, y, x) array order; nibabel stores it in the header zooms.
SPACING = (2.0, 1.0, 1.0)
NUM_CASES = 5
PATCH = [16, 16, 16]
#: Four stages: three deep-supervision outputs (16^3, 8^3, 4^3), the coarsest of weight 0.
STRIDES = [[1, 1, 1], [2, 2, 2], [2, 2, 2], [2, 2, 2]]


def _ellipsoid(shape, centre, radii) -> np.ndarray:
    grid = np.indices(shape, dtype=np.float64)
    r2 = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii, strict=True))
    return r2 <= 1.0


def write_raw_dataset(raw_root: Path, seed: int = 0) -> Path:
    """Write ``imagesTr/<case>_0000.nii.gz``, ``labelsTr/<case>.nii.gz`` and dataset.json."""
    rng = np.random.default_rng(seed)
    folder = raw_root / DATASET_NAME
    (folder / "imagesTr").mkdir(parents=True)
    (folder / "labelsTr").mkdir()
    affine = np.diag([*SPACING, 1.0])
    for i in range(NUM_CASES):
        label = np.zeros(SHAPE, dtype=np.uint8)
        c1 = (10 + rng.integers(-2, 3), 8 + rng.integers(-2, 3), 11 + rng.integers(-2, 3))
        label[_ellipsoid(SHAPE, c1, (4.0, 5.0, 4.0))] = 1
        c2 = (10 + rng.integers(-2, 3), 17 + rng.integers(-2, 3), 11 + rng.integers(-2, 3))
        label[_ellipsoid(SHAPE, c2, (3.0, 3.0, 5.0))] = 2
        image = 100.0 + 40.0 * label + rng.normal(0.0, 10.0, SHAPE)
        name = f"tiny_{i:03d}"
        nib.save(
            nib.Nifti1Image(image.astype(np.float32), affine),
            folder / "imagesTr" / f"{name}_0000.nii.gz",
        )
        nib.save(nib.Nifti1Image(label, affine), folder / "labelsTr" / f"{name}.nii.gz")
    dataset = {
        "channel_names": {"0": "MRI"},
        "labels": {"background": 0, "anterior": 1, "posterior": 2},
        "numTraining": NUM_CASES,
        "file_ending": ".nii.gz",
    }
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=2))
    return folder


def shrink_plan(plans_file: Path) -> None:
    """Make the 3d_fullres configuration tiny: 16^3 patch, batch 2, 4 stages of 4..8 features."""
    plans = json.loads(plans_file.read_text())
    config = plans["configurations"]["3d_fullres"]
    config["patch_size"] = PATCH
    config["batch_size"] = 2
    arch = config["architecture"]["arch_kwargs"]
    arch["n_stages"] = 4
    arch["features_per_stage"] = [4, 8, 8, 8]
    arch["kernel_sizes"] = [[3, 3, 3]] * 4
    arch["strides"] = STRIDES
    arch["n_conv_per_stage"] = [1] * 4
    arch["n_conv_per_stage_decoder"] = [1] * 3
    config.pop("pool_op_kernel_sizes", None)
    config.pop("conv_kernel_sizes", None)
    plans_file.write_text(json.dumps(plans, indent=2))


def plan_and_preprocess() -> None:
    """nnU-Net's fingerprint, plan and preprocessing of the dataset (env paths must be set).

    The worker pools nnU-Net opens are forked rather than spawned: a spawned worker
    re-imports nnunetv2 and torch, seconds per worker on a small machine.
    """
    from nnunetv2.experiment_planning import plan_and_preprocess_api as api
    from nnunetv2.experiment_planning.dataset_fingerprint.fingerprint_extractor import (
        DatasetFingerprintExtractor,
    )

    class SmallSampleFingerprint(DatasetFingerprintExtractor):
        # nnU-Net samples 1e8 foreground intensities in total (2e7 per case here, seconds
        # per case); 1e5 give the same normalisation for a tiny synthetic set
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.num_foreground_voxels_for_intensitystats = 1e5

    get_context = multiprocessing.get_context
    multiprocessing.get_context = lambda method=None: get_context("fork")
    try:
        api.extract_fingerprint_dataset(
            DATASET_ID, SmallSampleFingerprint, num_processes=1, show_progress_bar=False
        )
        api.plan_experiments([DATASET_ID])
        from nnunetv2.paths import nnUNet_preprocessed

        shrink_plan(Path(str(nnUNet_preprocessed)) / DATASET_NAME / "nnUNetPlans.json")
        api.preprocess(
            [DATASET_ID],
            configurations=("3d_fullres",),
            num_processes=(1,),
            show_progress_bar=False,
        )
    finally:
        multiprocessing.get_context = get_context
