"""Loss cost with precomputed maps, against DiceLoss and MONAI's BoundaryLoss.

MONAI's ``BoundaryLoss`` recomputes its distance maps on every call; ours takes the
maps from the data pipeline, so a training step pays only for a multiply and a mean.
"""

from __future__ import annotations

import numpy as np
import torch

from boundaryloss.losses import BoundaryLoss, DiceLoss, GeneralizedDiceLoss
from boundaryloss.maps import signed_distance_map

try:
    from .common import median_seconds
except ImportError:  # run as a script
    from common import median_seconds


def _volume_labels(rng: np.random.Generator, batch: int, size: int) -> torch.Tensor:
    zz, yy, xx = np.mgrid[:size, :size, :size] / size
    labels = []
    for _ in range(batch):
        c = rng.uniform(0.3, 0.7, 3)
        r = rng.uniform(0.1, 0.25)
        labels.append((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 < r**2)
    return torch.from_numpy(np.stack(labels).astype(np.int64))


def _step(loss_fn, logits: torch.Tensor, *args) -> None:
    logits.grad = None
    loss_fn(logits, *args).backward()


def run(repeats: int = 5) -> dict:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    shape = (2, 2, 96, 96, 96)
    target = _volume_labels(rng, shape[0], shape[2])
    dist_map = signed_distance_map(target, 2, batch=True)
    logits = torch.randn(shape, requires_grad=True)

    boundary = BoundaryLoss()
    dice = DiceLoss()
    gdl = GeneralizedDiceLoss()
    row = {
        "shape": list(shape),
        "dice_s": median_seconds(lambda: _step(dice, logits, target), repeats),
        "gdl_s": median_seconds(lambda: _step(gdl, logits, target), repeats),
        "boundary_precomputed_s": median_seconds(
            lambda: _step(boundary, logits, target, dist_map), repeats
        ),
        "boundary_on_the_fly_s": median_seconds(lambda: _step(boundary, logits, target), repeats),
    }
    try:
        from monai.losses import BoundaryLoss as MonaiBoundaryLoss

        monai_loss = MonaiBoundaryLoss(softmax=True, to_onehot_y=True)
        row["monai_boundary_s"] = median_seconds(
            lambda: _step(monai_loss, logits, target[:, None]), repeats
        )
        row["monai_over_ours_precomputed"] = row["monai_boundary_s"] / row["boundary_precomputed_s"]
    except ImportError:  # MONAI is a benchmark extra
        pass
    row["boundary_precomputed_over_dice"] = row["boundary_precomputed_s"] / row["dice_s"]
    row["boundary_on_the_fly_over_dice"] = row["boundary_on_the_fly_s"] / row["dice_s"]
    return {"forward+backward, (2, 2, 96, 96, 96)": row}


if __name__ == "__main__":
    import json

    print(json.dumps(run(3), indent=2))
