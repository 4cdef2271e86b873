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

Next to it, ``unet2d_train_samples_per_s``: the rate at which a GDL + boundary training
step of the CPU configs' 2D UNet (16 channels, depth 4, Adam) consumes batches of the
same shape, measured in the same run (``bench_training.train_samples_per_second``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler

from boundaryloss.data.augment import Compose, Pad, RandomFlip, RandomIntensity, RandomRot90
from boundaryloss.data.datasets import SliceDataset
from boundaryloss.data.folders import chase_db1
from boundaryloss.data.msd import DecathlonDataset
from boundaryloss.data.preprocess import Preprocess
from boundaryloss.maps import DistanceMapTransform

try:
    from .bench_training import train_samples_per_second
except ImportError:  # run as a script
    from bench_training import train_samples_per_second

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WORKERS = 2
BATCH_SIZE = 8
#: The key the training rate of the CPU configs' 2D UNet is reported under.
TRAINING_STEP_KEY = "unet2d_train_samples_per_s"


def _chase_source(root: Path):
    return chase_db1(root), "boundaryloss.data.folders.chase_db1"


def _hippocampus_source(root: Path):
    return DecathlonDataset(root), "boundaryloss.data.msd.DecathlonDataset"


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
    row[TRAINING_STEP_KEY] = train_samples_per_second(3, (256, 256), 2, BATCH_SIZE, repeats)
    row["pipeline_faster_than_training"] = row["samples_per_s"] > row[TRAINING_STEP_KEY]
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
    row[TRAINING_STEP_KEY] = train_samples_per_second(1, (64, 64), 3, BATCH_SIZE, repeats)
    row["pipeline_faster_than_training"] = row["samples_per_s"] > row[TRAINING_STEP_KEY]
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
    results["notes"] = notes
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(1), indent=2))
