"""Throughput of the 2D training-data pipeline, with and without distance maps.

Per sample, in 2 DataLoader workers: read the case from disk, preprocess it (CHASE_DB1:
resize 999x960 -> 256x256, z-score inside the field of view; hippocampus: z-score),
slice, augment (flips, 90-degree rotations, intensity jitter), compute the signed
distance map of the augmented label, convert to tensors; batches of 8 by default
collate. Cases are re-read for every sample (``in_memory=False``), so the rate
includes decoding JPEG/PNG or NIfTI files. Reported: samples per second with maps
and with maps switched off (same dataset object, ``maps`` emptied), the share of
the pipeline's time spent on maps, ``1 - rate_with / rate_without``, and the rate
with maps when cases are read and preprocessed once and kept in memory.

Data: the real CHASE_DB1 and hippocampus (MSD Task04) folders in ``../shared/data``;
a missing dataset is skipped with a note.

Not measured yet: the training-step rate of a 2D UNet on these batches. When the
networks land, add it under the key ``"unet2d_train_steps_per_s"`` in each dataset's
row (see ``TRAINING_STEP_KEY``); until then the key is absent, never estimated.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from boundaryloss.data.augment import Compose, Pad, RandomFlip, RandomIntensity, RandomRot90
from boundaryloss.data.case import Case
from boundaryloss.data.datasets import SliceDataset
from boundaryloss.data.io import read_image_2d, read_nifti
from boundaryloss.data.preprocess import Preprocess
from boundaryloss.maps import DistanceMapTransform

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WORKERS = 2
BATCH_SIZE = 8
#: The key the UNet training-step rate will be reported under (not measured yet).
TRAINING_STEP_KEY = "unet2d_train_steps_per_s"


class _ChaseFallback:
    """CHASE_DB1 read directly, for when ``boundaryloss.data.folders`` is unavailable."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.case_ids = sorted(p.stem for p in (root / "images").glob("Image_*.jpg"))

    def __len__(self) -> int:
        return len(self.case_ids)

    def __getitem__(self, index: int) -> Case:
        case_id = self.case_ids[index]
        rgb = read_image_2d(self.root / "images" / f"{case_id}.jpg", "RGB")
        label = read_image_2d(self.root / "manual" / f"{case_id}_1stHO.png", "L")
        return Case(
            case_id,
            np.moveaxis(rgb, -1, 0).astype(np.float32) / 255.0,
            (label > 127).astype(np.int64),
            (1.0, 1.0),
            fov=rgb[..., 0] > 20,
        )


class _DecathlonFallback:
    """MSD volumes read with nibabel directly, for when ``boundaryloss.data.msd`` is not."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.case_ids = sorted(
            p.name.removesuffix(".nii.gz") for p in (root / "imagesTr").glob("*.nii.gz")
        )

    def __len__(self) -> int:
        return len(self.case_ids)

    def __getitem__(self, index: int) -> Case:
        case_id = self.case_ids[index]
        image, spacing, affine = read_nifti(self.root / "imagesTr" / f"{case_id}.nii.gz")
        label, _, _ = read_nifti(self.root / "labelsTr" / f"{case_id}.nii.gz")
        return Case(
            case_id,
            np.asarray(image, dtype=np.float32)[None],
            np.rint(label).astype(np.int64),
            spacing,
            affine=affine,
        )


def _chase_source(root: Path):
    try:
        from boundaryloss.data.folders import chase_db1

        return chase_db1(root), "boundaryloss.data.folders.chase_db1"
    except ImportError:
        return _ChaseFallback(root), "bench fallback reader"


def _hippocampus_source(root: Path):
    try:
        from boundaryloss.data.msd import DecathlonDataset

        return DecathlonDataset(root), "boundaryloss.data.msd.DecathlonDataset"
    except ImportError:
        return _DecathlonFallback(root), "bench fallback reader (nibabel)"


def _samples_per_second(dataset: SliceDataset, samples: int) -> float:
    """Samples/s of a fresh 2-worker loader over ``samples`` random samples.

    The first two batches (worker start-up, first reads) are not timed.
    """
    torch.manual_seed(0)
    sampler = RandomSampler(dataset, replacement=True, num_samples=samples + 2 * BATCH_SIZE)
    loader = DataLoader(dataset, batch_size=BATCH_SIZE, sampler=sampler, num_workers=WORKERS)
    iterator = iter(loader)
    for _ in range(2):
        next(iterator)
    count, start = 0, time.perf_counter()
    for batch in iterator:
        count += len(batch["case_id"])
    return count / (time.perf_counter() - start)


def _measure(dataset: SliceDataset, samples: int, repeats: int, **settings) -> dict:
    maps = dataset.maps
    with_maps, without = [], []
    try:
        for _ in range(repeats):  # interleaved, so drifting machine load hits both alike
            dataset.maps = maps
            with_maps.append(_samples_per_second(dataset, samples))
            dataset.maps = []
            without.append(_samples_per_second(dataset, samples))
    finally:
        dataset.maps = maps
    # The same pipeline on cases read and preprocessed once, kept in memory.
    in_memory = SliceDataset(dataset._store.source, in_memory=True, **settings)
    kept = [_samples_per_second(in_memory, samples) for _ in range(repeats)]
    rate_with, rate_without = float(np.median(with_maps)), float(np.median(without))
    return {
        "samples_per_s": rate_with,
        "samples_per_s_without_maps": rate_without,
        "maps_share_of_pipeline": 1.0 - rate_with / rate_without,
        "samples_per_s_cases_in_memory": float(np.median(kept)),
        "samples_timed": samples,
        "num_workers": WORKERS,
        "batch_size": BATCH_SIZE,
        # TRAINING_STEP_KEY ("unet2d_train_steps_per_s") goes here once the networks land.
    }


def _chase(root: Path, repeats: int) -> dict:
    source, reader = _chase_source(root)
    settings = {
        "transforms": Compose([RandomFlip(), RandomRot90(), RandomIntensity()]),
        "maps": [DistanceMapTransform("signed", 2)],
        "preprocess": Preprocess(shape=(256, 256), normalization="zscore", mask="fov"),
    }
    dataset = SliceDataset(source, in_memory=False, **settings)
    row = _measure(dataset, samples=160, repeats=repeats, **settings)
    sample = dataset[0]
    return {
        **row,
        "reader": reader,
        "cases": len(dataset),
        "sample_shape": list(sample["image"].shape),
        "sample_spacing": [round(s, 4) for s in sample["spacing"].tolist()],
    }


def _hippocampus(root: Path, repeats: int) -> dict:
    source, reader = _hippocampus_source(root)
    settings = {
        "axis": 0,
        "transforms": Compose([Pad((64, 64)), RandomFlip(), RandomRot90(), RandomIntensity()]),
        "maps": [DistanceMapTransform("signed", 3)],
        "preprocess": Preprocess(normalization="zscore"),
        "skip_empty": True,
    }
    dataset = SliceDataset(source, in_memory=False, **settings)
    row = _measure(dataset, samples=480, repeats=repeats, **settings)
    return {
        **row,
        "reader": reader,
        "cases": len(source),
        "slices": len(dataset),
        "slice_axis": 0,
        "sample_shape": list(dataset[0]["image"].shape),
    }


def run(repeats: int = 3) -> dict:
    """Pipeline samples/s with and without maps for CHASE_DB1 and hippocampus slices."""
    repeats = max(1, min(repeats, 3))  # each repeat starts fresh workers; keep under 2 min
    results: dict = {}
    notes = []
    for name, folder, measure in [
        ("chase_db1_256_slices", SHARED_DATA / "chase_db1", _chase),
        ("hippocampus_slices", SHARED_DATA / "hippocampus", _hippocampus),
    ]:
        if folder.is_dir():
            results[name] = measure(folder, repeats)
        else:
            notes.append(f"{name}: skipped, {folder} not found")
    notes.append(
        f"{TRAINING_STEP_KEY}: not measured yet (needs the 2D UNet); added when networks land"
    )
    results["notes"] = notes
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(1), indent=2))
