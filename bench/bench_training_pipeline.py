"""Cost of the boundary term in a whole training step, data pipeline included (2D and 3D).

Issue 13: once spatial augmentation (rotation, zoom) resamples every patch, the
distance maps can no longer be cropped from whole-volume maps; they are recomputed
for every sample after the transform, in the data pipeline. This benchmark times the
step as a run does it with ``num_workers=0``: draw a batch (crop with context,
resample, flips, maps for the boundary term, collate), forward, backward and Adam
update of the CPU configs' networks with deep supervision. It reports the median step
time of CE + 0.05 boundary over the median of CE alone (interleaved, same network and
same random draws), the issue's target being at most 1.05x.

- 3D: a 3D U-Net (8 channels, depth 3, instance norm) on batches of 4 32x48x32
  patches from hippocampus-sized synthetic volumes (36x50x36, 3 classes).
- 2D: a 2D U-Net (16 channels, depth 4, instance norm) on batches of 8 128x128
  patches from synthetic 2D images (320x320, 2 classes).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch.utils.data import DataLoader

from boundaryloss.data import synthetic_2d, synthetic_3d
from boundaryloss.data.augment import Compose, RandomCrop, RandomFlip
from boundaryloss.data.datasets import PatchDataset, SliceDataset
from boundaryloss.data.spatial import RandomSpatial
from boundaryloss.losses import BoundaryLoss, CompoundLoss, CrossEntropyLoss, DeepSupervisionLoss
from boundaryloss.maps import DistanceMapTransform
from boundaryloss.nets import UNet

SETTINGS = {
    "3D U-Net (8 ch, depth 3), batch 4, 32x48x32 patches, 3 classes": {
        "dims": 3,
        "shape": (36, 50, 36),
        "patch": (32, 48, 32),
        "classes": 3,
        "batch": 4,
        "base": 8,
        "depth": 3,
    },
    "2D U-Net (16 ch, depth 4), batch 8, 128x128 patches, 2 classes": {
        "dims": 2,
        "shape": (320, 320),
        "patch": (128, 128),
        "classes": 2,
        "batch": 8,
        "base": 16,
        "depth": 4,
    },
}


def spatial_transform(patch: tuple[int, ...], dims: int) -> RandomSpatial:
    """Rotation and zoom on every sample (p = 1): the worst case for the maps."""
    return RandomSpatial(
        rotation=30.0 if dims == 3 else 180.0,
        p_rotation=1.0,
        scale=(0.7, 1.4),
        p_scale=1.0,
        output_shape=patch,
    )


def make_dataset(setting: dict, with_maps: bool, cases: int = 8):
    """The training dataset of a setting, with or without the boundary term's maps."""
    dims, patch, classes = setting["dims"], setting["patch"], setting["classes"]
    maps = [DistanceMapTransform("signed", classes)] if with_maps else []
    margin = tuple(int(np.ceil(p / 4)) for p in patch)  # context 1.5
    if dims == 3:
        source = synthetic_3d(
            cases, shape=setting["shape"], foreground_fraction=0.03, num_classes=classes
        )
        transforms = Compose([spatial_transform(patch, 3), RandomFlip()])
        return PatchDataset(source, patch, maps=maps, transforms=transforms, margin=margin)
    source = synthetic_2d(
        cases, shape=setting["shape"], foreground_fraction=0.07, num_classes=classes
    )
    transforms = Compose(
        [
            RandomCrop(patch, foreground_probability=1 / 3, margin=margin),
            spatial_transform(patch, 2),
            RandomFlip(),
        ]
    )
    return SliceDataset(source, transforms=transforms, maps=maps)


def make_loss(with_boundary: bool) -> DeepSupervisionLoss:
    """CE (+ 0.05 boundary); lower-scale maps are the ones the compound loss declares."""
    terms = {"ce": CrossEntropyLoss()}
    weights = [1.0]
    if with_boundary:
        terms["boundary"] = BoundaryLoss(include_background=False)
        weights.append(0.05)
    return DeepSupervisionLoss(CompoundLoss(terms, weights))


def step_seconds(model, optimizer, loss_fn, batches) -> float:
    """Wall time of one training step, the batch's preparation included."""
    start = time.perf_counter()
    batch = next(batches)
    maps = {"dist_map": batch["dist_map"]} if "dist_map" in batch else {}
    outputs = model(batch["image"])
    loss = loss_fn(outputs, batch["label"], spacing=batch["spacing"], **maps)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def endless(loader):
    while True:
        yield from loader


def run_setting(setting: dict, repeats: int) -> dict:
    torch.manual_seed(0)
    model = UNet(
        1,
        setting["classes"],
        spatial_dims=setting["dims"],
        base_channels=setting["base"],
        depth=setting["depth"],
        norm="instance",
        deep_supervision=True,
    )
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, betas=(0.9, 0.99))
    pipelines = {}
    for name, with_boundary in (("ce", False), ("ce_boundary", True)):
        dataset = make_dataset(setting, with_maps=with_boundary)
        generator = torch.Generator().manual_seed(0)
        loader = DataLoader(dataset, batch_size=setting["batch"], shuffle=True, generator=generator)
        pipelines[name] = (endless(loader), make_loss(with_boundary))
    times: dict[str, list[float]] = {"ce": [], "ce_boundary": []}
    for i in range(repeats + 1):  # interleaved; the first round warms up
        for name, (batches, loss_fn) in pipelines.items():
            seconds = step_seconds(model, optimizer, loss_fn, batches)
            if i > 0:
                times[name].append(seconds)
    ce, combined = float(np.median(times["ce"])), float(np.median(times["ce_boundary"]))
    return {
        "step_ce_s": ce,
        "step_ce_boundary_s": combined,
        "ce_boundary_over_ce": combined / ce,
        "samples_per_s_ce_boundary": setting["batch"] / combined,
    }


def run(repeats: int = 5, settings: dict | None = None) -> dict:
    return {name: run_setting(setting, repeats) for name, setting in (settings or SETTINGS).items()}


if __name__ == "__main__":
    import json

    print(json.dumps(run(3), indent=2))
