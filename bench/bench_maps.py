"""Distance-map speed and memory against what a user would otherwise run.

Baselines, measured in the same run:

- ``scipy per class``: the original boundary-loss code, two
  ``scipy.ndimage.distance_transform_edt`` calls per class (official formula);
- ``MONAI``: ``monai.losses.BoundaryLoss.compute_distance_map`` on the one-hot target
  (no spacing support, so only in the isotropic cases).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage

from boundaryloss.maps import set_num_threads, signed_distance_map

try:
    from .common import median_seconds, peak_extra_memory_mib
except ImportError:  # run as a script
    from common import median_seconds, peak_extra_memory_mib


def scipy_official(label: np.ndarray, num_classes: int, spacing=None) -> np.ndarray:
    """The original code's one_hot2dist: two scipy transforms per present class."""
    out = np.zeros((num_classes, *label.shape), dtype=np.float32)
    for k in range(num_classes):
        pos = label == k
        if pos.any() and not pos.all():
            neg = ~pos
            out[k] = (
                ndimage.distance_transform_edt(neg, sampling=spacing) * neg
                - (ndimage.distance_transform_edt(pos, sampling=spacing) - 1) * pos
            )
    return out


def blobs_2d(rng: np.random.Generator, size: int, num_classes: int) -> np.ndarray:
    """A label map of random ellipses of classes 1..C-1 on background."""
    yy, xx = np.mgrid[:size, :size]
    label = np.zeros((size, size), dtype=np.int64)
    for k in range(1, num_classes):
        for _ in range(3):
            cy, cx = rng.uniform(0.15, 0.85, 2) * size
            ry, rx = rng.uniform(0.03, 0.15, 2) * size
            label[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1] = k
    return label


def blobs_3d(rng: np.random.Generator, size: int) -> np.ndarray:
    """An organ-sized ellipsoid and a few small lesions, binary."""
    zz, yy, xx = np.mgrid[:size, :size, :size] / size
    label = ((zz - 0.5) / 0.3) ** 2 + ((yy - 0.45) / 0.25) ** 2 + ((xx - 0.5) / 0.2) ** 2 < 1
    for _ in range(5):
        c = rng.uniform(0.1, 0.9, 3)
        r = rng.uniform(0.02, 0.05)
        label |= (zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 < r**2
    return label.astype(np.int64)


def monai_maps(one_hot: torch.Tensor) -> torch.Tensor:
    from monai.losses import BoundaryLoss

    return BoundaryLoss().compute_distance_map(one_hot)


def _bench_case(labels: list[np.ndarray], num_classes: int, spacing, repeats: int) -> dict:
    batch = np.stack(labels)
    row: dict = {}
    row["scipy_per_class_s"] = median_seconds(
        lambda: [scipy_official(x, num_classes, spacing) for x in labels], repeats
    )
    for convention in ("paper", "official"):
        row[f"ours_{convention}_s"] = median_seconds(
            lambda c=convention: signed_distance_map(batch, num_classes, spacing, c, batch=True),
            repeats,
        )
    set_num_threads(1)
    row["ours_paper_1thread_s"] = median_seconds(
        lambda: signed_distance_map(batch, num_classes, spacing, batch=True), repeats
    )
    set_num_threads(None)
    if spacing is None:  # MONAI's map has no spacing argument
        one_hot = torch.nn.functional.one_hot(torch.from_numpy(batch), num_classes)
        one_hot = one_hot.movedim(-1, 1).float()
        row["monai_s"] = median_seconds(lambda: monai_maps(one_hot), repeats)
        row["speedup_vs_monai_paper"] = row["monai_s"] / row["ours_paper_s"]
    row["speedup_vs_scipy_paper"] = row["scipy_per_class_s"] / row["ours_paper_s"]
    row["speedup_vs_scipy_official"] = row["scipy_per_class_s"] / row["ours_official_s"]
    row["speedup_vs_scipy_paper_1thread"] = row["scipy_per_class_s"] / row["ours_paper_1thread_s"]
    # Same formula, same answer: the speed-up is not bought with accuracy.
    ours = signed_distance_map(batch, num_classes, spacing, "official", batch=True)
    reference = np.stack([scipy_official(x, num_classes, spacing) for x in labels])
    row["max_abs_diff_official_vs_scipy"] = float(np.abs(ours - reference).max())
    return row


def run(repeats: int = 5) -> dict:
    rng = np.random.default_rng(0)
    results: dict = {}

    cases = {
        "batch 8x256x256, 4 classes": ([blobs_2d(rng, 256, 4) for _ in range(8)], 4, None),
        "128^3, 2 classes": ([blobs_3d(rng, 128)], 2, None),
        "128^3, 2 classes, spacing (1,1,3)": ([blobs_3d(rng, 128)], 2, (1.0, 1.0, 3.0)),
    }
    for name, (labels, num_classes, spacing) in cases.items():
        results[name] = _bench_case(labels, num_classes, spacing, repeats)

    setup = (
        "import numpy as np\n"
        "from bench.bench_maps import blobs_3d, scipy_official\n"
        "from boundaryloss.maps import signed_distance_map\n"
        "label = blobs_3d(np.random.default_rng(0), 128)\n"
        "signed_distance_map(np.zeros((4, 4), int), 2)\n"
        "scipy_official(np.eye(4, dtype=int), 2)\n"
    )
    memory = {
        "scipy_per_class_mib": peak_extra_memory_mib(setup, "out = scipy_official(label, 2)"),
        "ours_paper_mib": peak_extra_memory_mib(setup, "out = signed_distance_map(label, 2)"),
        "ours_official_mib": peak_extra_memory_mib(
            setup, "out = signed_distance_map(label, 2, convention='official')"
        ),
    }
    memory["ratio_paper_to_scipy"] = memory["ours_paper_mib"] / memory["scipy_per_class_mib"]
    results["peak extra memory, 128^3, 2 classes"] = memory
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(3), indent=2))
