"""Training-step cost on CPU: throughput of a 2D UNet step and the loss's share of it.

The issue's goal: with maps from the data pipeline, GDL + boundary loss costs at most
5 % more per step than GDL alone. Both are measured on the same network and batch,
interleaved so drifting machine load hits both alike.
"""

from __future__ import annotations

import numpy as np
import torch

from boundaryloss.losses import BoundaryLoss, CompoundLoss, GeneralizedDiceLoss
from boundaryloss.maps import signed_distance_map
from boundaryloss.nets import UNet

try:
    from .common import median_seconds
except ImportError:  # run as a script
    from common import median_seconds


def make_batch(batch: int, channels: int, shape: tuple[int, ...], num_classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.zeros((batch, *shape), dtype=np.int64)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    for b in range(batch):
        for k in range(1, num_classes):
            cy, cx = rng.uniform(0.2, 0.8, 2) * np.array(shape)
            labels[b][(yy - cy) ** 2 + (xx - cx) ** 2 < (0.08 * shape[0]) ** 2] = k
    image = torch.randn(batch, channels, *shape)
    target = torch.from_numpy(labels)
    return image, target, signed_distance_map(target, num_classes, batch=True)


def step_seconds(model, optimizer, loss_fn, image, target, maps, repeats: int) -> float:
    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(image), target, **maps).backward()
        optimizer.step()

    return median_seconds(step, repeats)


def train_samples_per_second(
    channels: int,
    shape: tuple[int, ...],
    num_classes: int,
    batch: int = 8,
    repeats: int = 3,
    base_channels: int = 16,
    depth: int = 4,
) -> float:
    """Samples/s of a GDL + boundary training step of the CPU configs' 2D UNet."""
    torch.manual_seed(0)
    model = UNet(channels, num_classes, base_channels=base_channels, depth=depth)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, betas=(0.9, 0.99))
    loss_fn = CompoundLoss(
        {"gdl": GeneralizedDiceLoss(), "boundary": BoundaryLoss(include_background=False)},
        [0.5, 0.5],
    )
    image, target, dist_map = make_batch(batch, channels, shape, num_classes)
    seconds = step_seconds(
        model, optimizer, loss_fn, image, target, {"dist_map": dist_map}, repeats
    )
    return batch / seconds


def run(repeats: int = 5) -> dict:
    torch.manual_seed(0)
    results = {}
    for name, (channels, shape, classes) in {
        "UNet 2D (16 ch, depth 4), batch 8, 128x128, 2 classes": (1, (128, 128), 2),
        "UNet 2D (16 ch, depth 4), batch 8, 64x64, 3 classes": (1, (64, 64), 3),
    }.items():
        model = UNet(channels, classes, base_channels=16, depth=4)
        optimizer = torch.optim.Adam(model.parameters(), 1e-3, betas=(0.9, 0.99))
        image, target, dist_map = make_batch(8, channels, shape, classes)
        gdl = CompoundLoss({"gdl": GeneralizedDiceLoss()})
        combined = CompoundLoss(
            {"gdl": GeneralizedDiceLoss(), "boundary": BoundaryLoss(include_background=False)},
            [0.5, 0.5],
        )
        gdl_times, combined_times = [], []
        for _ in range(repeats):  # interleaved
            gdl_times.append(step_seconds(model, optimizer, gdl, image, target, {}, 1))
            combined_times.append(
                step_seconds(model, optimizer, combined, image, target, {"dist_map": dist_map}, 1)
            )
        logits = model(image).detach().requires_grad_()
        loss_only = median_seconds(
            lambda f=combined, x=logits, y=target, d=dist_map: f(x, y, dist_map=d).backward(),
            repeats,
        )
        step_gdl, step_combined = float(np.median(gdl_times)), float(np.median(combined_times))
        results[name] = {
            "step_gdl_s": step_gdl,
            "step_gdl_boundary_s": step_combined,
            "gdl_boundary_over_gdl": step_combined / step_gdl,
            "loss_forward_backward_s": loss_only,
            "loss_share_of_step": loss_only / step_combined,
            "train_samples_per_s": 8 / step_combined,
        }
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(3), indent=2))
