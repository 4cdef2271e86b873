"""Cost of the boundary term in a whole training step, data pipeline included (2D and 3D).

Issue 13: once spatial augmentation (rotation, zoom) resamples every patch, the
distance maps can no longer be cropped from whole-volume maps; they are recomputed
for every sample after the transform, in the data pipeline. This benchmark times the
step as the trainer runs it: draw a batch (crop with context, resample, flips, the
maps the loss declares, only the channels it reads, and the deep-supervision targets
and maps of every lower output of non-zero weight, then the trainer's collate),
forward, backward and Adam update of the CPU configs' networks with deep supervision.
It reports the median step time of CE + 0.05 boundary over the median of CE alone
(same network and same random draws), the issue's target being at most 1.05x.

Three runs per setting:

- ``num_workers=0`` (the shipped default): the batch is prepared in the training
  process, so every map is on the step's clock. The two losses alternate step by step.
- ``num_workers=1``: what a user with 2 cores would run (one core trains, one prepares
  batches, each DataLoader worker limited to one thread by PyTorch). The maps then
  overlap with the step and cost only the CPU they take from it. The two losses
  alternate in blocks so that one worker at a time is busy, as in a run; each block's
  first ``2 * num_workers`` steps (batches prefetched while the other block ran) are
  not timed.
- ``num_workers=0`` with PyTorch on one thread: what one core's work the boundary term
  adds, without the interplay of PyTorch's OpenMP threads and the single-threaded map
  code on a 2-core machine.

Each ratio is a median over ``3 * repeats`` steps per loss (``4 * repeats`` with a
worker; ``steps_per_repeat * repeats`` for the settings at nnU-Net's width, below): on
a shared machine five steps left a noise of about +-0.03.

- 3D: a 3D U-Net (8 channels, depth 3, instance norm) on batches of 4 32x48x32
  patches from hippocampus-sized synthetic volumes (36x50x36, 3 classes).
- 2D: a 2D U-Net (16 channels, depth 4, instance norm) on batches of 8 128x128
  patches from synthetic 2D images (320x320, 2 classes).

These are the CPU configs' small networks, whose steps are cheap next to the boundary
term's fixed per-sample work (the maps of each resampled patch). What users train are
nnU-Net-sized networks, so the same data, batches and pipeline are also run with
nnU-Net's base width (``NNUNET_WIDTH_SETTINGS``, keys "... at nnU-Net's width ...,
num_workers=0"):

- 3D: 32 base channels, depth 3 (widths 32, 64, 128, 256). nnU-Net pools an axis
  only while its feature map stays at least 4 voxels wide, which on 32x48x32 patches
  gives 3 poolings: 4 stages of 32-256 channels, those of its Hippocampus 3d_fullres
  plan. The project's :class:`~boundaryloss.nets.UNet` would accept depth 4 here
  (the patch is a multiple of 16; bottleneck 2x3x2) but nnU-Net would not pool so far.
- 2D: 32 base channels, depth 4 (widths 32-512), as the small 2D setting. nnU-Net
  would pool 128x128 five times (down to 4x4) with a sixth stage of 512 channels;
  depth 5 here would give that stage 1024 channels instead, because the project's
  UNet doubles the width at every level without a cap (nnU-Net caps at 320 channels
  in 3D and 512 in 2D; neither cap is exceeded by the two settings chosen). The stage
  left out works on 4x4 maps: about a fifth of depth 5's FLOPs (uncapped), less
  capped, so the ratio measured is, if anything, a little high.

They run only with ``num_workers=0`` at PyTorch's default threads, the losses
alternating step by step, on fewer steps (``steps_per_repeat`` of the setting).
"""

from __future__ import annotations

import functools
import time

import numpy as np
import torch
from torch.utils.data import DataLoader

from boundaryloss.data import synthetic_2d, synthetic_3d
from boundaryloss.data.augment import Compose, RandomCrop, RandomFlip
from boundaryloss.data.datasets import PatchDataset, SliceDataset
from boundaryloss.data.spatial import RandomSpatial
from boundaryloss.losses import (
    BoundaryLoss,
    CompoundLoss,
    CrossEntropyLoss,
    DeepSupervisionLoss,
    DeepSupervisionTargets,
)
from boundaryloss.losses.deep_supervision import SCALE_TARGETS
from boundaryloss.nets import UNet, supervision_shapes
from boundaryloss.training.batching import collate
from boundaryloss.training.data import map_transforms

#: The loaders compared (see the module docstring).
NUM_WORKERS = (0, 1)
#: Steps per loss and repeat with ``num_workers=0`` (one per round, the losses
#: alternating step by step), unless the setting has its own ``steps_per_repeat``.
STEPS_PER_REPEAT = 3

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

#: The same data, batches and pipeline with networks of nnU-Net's base width (32
#: channels; depths and channel caps: see the module docstring), run with
#: ``num_workers=0`` only. Measured on the idle 2-core machine: about 1.0 s a step in
#: 3D and 0.65 s in 2D (the FLOP ratios, x15.8 and x4.0, overstate it: the small
#: networks are slow per FLOP). Five timed steps a loss left ratios between 1.01 and
#: 1.16 across runs of the same code, so 3D times 10 steps a loss and 2D 15:
#: (10 + 1) x 2 x 1.0 s and (15 + 1) x 2 x 0.65 s, about 45 s added to the benchmark.
NNUNET_WIDTH_SETTINGS = {
    "3D U-Net at nnU-Net's width (32 ch, depth 3), batch 4, 32x48x32 patches, 3 classes": {
        **SETTINGS["3D U-Net (8 ch, depth 3), batch 4, 32x48x32 patches, 3 classes"],
        "base": 32,
        "depth": 3,
        "steps_per_repeat": 2,
    },
    "2D U-Net at nnU-Net's width (32 ch, depth 4), batch 8, 128x128 patches, 2 classes": {
        **SETTINGS["2D U-Net (16 ch, depth 4), batch 8, 128x128 patches, 2 classes"],
        "base": 32,
        "depth": 4,
        "steps_per_repeat": 3,
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


def make_dataset(setting: dict, loss: DeepSupervisionLoss, cases: int = 8):
    """The training dataset of a setting for ``loss``, as the trainer builds it: the maps
    the loss declares (``loss.maps``) at full resolution and, per sample, the targets and
    maps of every lower output (the network's output shapes, the loss's weights)."""
    dims, patch, classes = setting["dims"], setting["patch"], setting["classes"]
    maps = map_transforms(loss.maps, classes)
    depth = setting["depth"]
    targets = DeepSupervisionTargets(
        loss.maps,
        classes,
        functools.partial(supervision_shapes, depth=depth),
        loss.scale_weights(depth),
    )
    margin = tuple(int(np.ceil(p / 4)) for p in patch)  # context 1.5
    if dims == 3:
        source = synthetic_3d(
            cases, shape=setting["shape"], foreground_fraction=0.03, num_classes=classes
        )
        transforms = Compose([spatial_transform(patch, 3), RandomFlip()])
        return PatchDataset(
            source, patch, maps=maps, transforms=transforms, margin=margin, scale_targets=targets
        )
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
    return SliceDataset(source, transforms=transforms, maps=maps, scale_targets=targets)


def make_loss(with_boundary: bool) -> DeepSupervisionLoss:
    """CE (+ 0.05 boundary on the foreground); the maps are the ones the compound loss
    declares (the boundary term's signed map, without the background channel)."""
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
    maps = {spec.argument: batch[spec.argument] for spec in loss_fn.maps}
    outputs = model(batch["image"])
    loss = loss_fn(
        outputs,
        batch["label"],
        spacing=batch["spacing"],
        scale_targets=batch[SCALE_TARGETS],
        **maps,
    )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def endless(loader):
    while True:
        yield from loader


def run_setting(
    setting: dict, repeats: int, num_workers: int = 0, threads: int | None = None
) -> dict:
    """Median step times of CE and CE + boundary; ``threads`` sets PyTorch's threads for
    the run (restored after it), None keeps the process's setting."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _run_setting(setting, repeats, num_workers)
    finally:
        torch.set_num_threads(previous)


def _run_setting(setting: dict, repeats: int, num_workers: int) -> dict:
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
        loss_fn = make_loss(with_boundary)
        loader = DataLoader(
            make_dataset(setting, loss_fn),
            batch_size=setting["batch"],
            shuffle=True,
            generator=torch.Generator().manual_seed(0),
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            collate_fn=collate,
        )
        pipelines[name] = (endless(loader), loss_fn)
    # With workers, a block of steps per loss: its first 2 * num_workers batches were
    # prefetched while the other loss's block ran, so they are not timed.
    prefetched = 2 * num_workers
    block = prefetched + (1 if num_workers == 0 else 4)
    steps_per_repeat = setting.get("steps_per_repeat", STEPS_PER_REPEAT)
    rounds = repeats * (steps_per_repeat if num_workers == 0 else 1)
    times: dict[str, list[float]] = {"ce": [], "ce_boundary": []}
    for i in range(rounds + 1):  # alternating; the first round warms up
        for name, (batches, loss_fn) in pipelines.items():
            for j in range(block):
                seconds = step_seconds(model, optimizer, loss_fn, batches)
                if i > 0 and j >= prefetched:
                    times[name].append(seconds)
    ce, combined = float(np.median(times["ce"])), float(np.median(times["ce_boundary"]))
    return {
        "torch_threads": torch.get_num_threads(),
        "timed_steps_per_loss": len(times["ce"]),
        "step_ce_s": ce,
        "step_ce_boundary_s": combined,
        "ce_boundary_over_ce": combined / ce,
        "samples_per_s_ce_boundary": setting["batch"] / combined,
    }


def run(
    repeats: int = 5,
    settings: dict | None = None,
    num_workers: tuple[int, ...] = NUM_WORKERS,
    wide_settings: dict | None = None,
) -> dict:
    """Every loader of ``settings`` (default :data:`SETTINGS`), then ``wide_settings``
    (default :data:`NNUNET_WIDTH_SETTINGS`) with ``num_workers=0`` only, if 0 is among
    ``num_workers``; keys ``"<setting>, num_workers=<n>[, one torch thread]"``."""
    results = {}
    for name, setting in (settings or SETTINGS).items():
        for workers in num_workers:
            results[f"{name}, num_workers={workers}"] = run_setting(setting, repeats, workers)
        if 0 in num_workers:
            results[f"{name}, num_workers=0, one torch thread"] = run_setting(
                setting, repeats, 0, threads=1
            )
    if 0 in num_workers:
        for name, setting in (wide_settings or NNUNET_WIDTH_SETTINGS).items():
            results[f"{name}, num_workers=0"] = run_setting(setting, repeats, 0)
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(3), indent=2))
