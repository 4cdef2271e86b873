"""HD95 cost against MONAI ``compute_hausdorff_distance`` and medpy ``hd95``, same run.

Cases: a pair of 128^3 blobs with realistic boundary errors (a smooth sphere-ish reference
and a perturbed, slightly shifted prediction), isotropic and with spacing (1, 1, 3); and a
BraTS-sized 240x240x155 volume with a lesion of a few thousand voxels. ``mode="max"`` is
compared with MONAI, ``mode="pooled"`` with medpy; values must agree (MONAI computes in
float32, so to ~1e-6 relative).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from boundaryloss.metrics import hausdorff_distance

try:
    from .common import median_seconds
except ImportError:  # run as a script
    from common import median_seconds

REL_TOLERANCE = 1e-6


def _blob(shape, center, radius, rng, roughness, smoothness):
    """Sphere-ish mask: a ball whose radius varies smoothly by up to ``roughness`` voxels."""
    grids = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing="ij")
    distance = np.sqrt(sum((g - c) ** 2 for g, c in zip(grids, center, strict=True)))
    noise = gaussian_filter(rng.standard_normal(shape).astype(np.float32), smoothness)
    noise *= roughness / max(float(np.abs(noise).max()), 1e-12)
    return distance + noise < radius


def _pair(shape, center, radius, seed):
    rng = np.random.default_rng(seed)
    ref = _blob(shape, center, radius, rng, roughness=2.0, smoothness=6)
    shifted = tuple(c + s for c, s in zip(center, rng.uniform(-1.5, 1.5, len(shape)), strict=True))
    pred = _blob(shape, shifted, radius * 0.97, rng, roughness=4.0, smoothness=4)
    return pred, ref


def _monai_hd95(pred: torch.Tensor, ref: torch.Tensor, spacing) -> float:
    from monai.metrics import compute_hausdorff_distance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(
            compute_hausdorff_distance(
                pred, ref, include_background=True, percentile=95, spacing=spacing
            )
        )


def _case(pred: np.ndarray, ref: np.ndarray, spacing, repeats: int) -> dict:
    from medpy.metric.binary import hd95

    pred_t = torch.from_numpy(pred)[None, None].float()
    ref_t = torch.from_numpy(ref)[None, None].float()
    ours_max = hausdorff_distance(pred, ref, spacing, 95, "max")[1]
    ours_pooled = hausdorff_distance(pred, ref, spacing, 95, "pooled")[1]
    monai = _monai_hd95(pred_t, ref_t, spacing)
    medpy = float(hd95(pred, ref, voxelspacing=spacing))

    t_max = median_seconds(lambda: hausdorff_distance(pred, ref, spacing, 95, "max"), repeats)
    t_pooled = median_seconds(lambda: hausdorff_distance(pred, ref, spacing, 95, "pooled"), repeats)
    t_monai = median_seconds(lambda: _monai_hd95(pred_t, ref_t, spacing), repeats)
    t_medpy = median_seconds(lambda: hd95(pred, ref, voxelspacing=spacing), repeats)
    return {
        "shape": "x".join(map(str, pred.shape)),
        "spacing": ",".join(f"{s:g}" for s in spacing),
        "pred_voxels": int(pred.sum()),
        "ref_voxels": int(ref.sum()),
        "hd95_max": ours_max,
        "hd95_max_monai": monai,
        "max_equal_monai": bool(np.isclose(ours_max, monai, rtol=REL_TOLERANCE, atol=0)),
        "hd95_pooled": ours_pooled,
        "hd95_pooled_medpy": medpy,
        "pooled_equal_medpy": bool(np.isclose(ours_pooled, medpy, rtol=REL_TOLERANCE, atol=0)),
        "ours_max_s": t_max,
        "ours_pooled_s": t_pooled,
        "monai_s": t_monai,
        "medpy_s": t_medpy,
        "speedup_max_vs_monai": t_monai / t_max,
        "speedup_pooled_vs_medpy": t_medpy / t_pooled,
    }


def run(repeats: int = 5) -> dict:
    """Time HD95 (both modes) against MONAI and medpy; return a JSON-serialisable dict."""
    blob_pred, blob_ref = _pair((128, 128, 128), (64, 64, 64), 40, seed=0)
    lesion_pred, lesion_ref = _pair((240, 240, 155), (150, 90, 70), 9, seed=1)
    return {
        "hd95_128_isotropic": _case(blob_pred, blob_ref, (1.0, 1.0, 1.0), repeats),
        "hd95_128_spacing_1_1_3": _case(blob_pred, blob_ref, (1.0, 1.0, 3.0), repeats),
        "hd95_240x240x155_small_lesion": _case(lesion_pred, lesion_ref, (1.0, 1.0, 1.0), repeats),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(3), indent=2))
