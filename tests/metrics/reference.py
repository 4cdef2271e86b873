"""Test fixtures and thin wrappers around the reference implementations (MONAI, medpy)."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from medpy.metric import binary as medpy_binary
from monai.metrics import (
    compute_average_surface_distance,
    compute_dice,
    compute_hausdorff_distance,
    compute_surface_dice,
)


def ball(shape, center, radius, spacing=None):
    """Boolean ball of ``radius`` (spacing units) around ``center`` (voxel indices)."""
    spacing = np.ones(len(shape)) if spacing is None else np.asarray(spacing, dtype=float)
    grids = np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij")
    squared = sum(((g - c) * s) ** 2 for g, c, s in zip(grids, center, spacing, strict=True))
    return squared <= radius**2


def random_pair(rng, shape):
    """Two random non-empty masks with random densities (they touch the image edges)."""
    while True:
        a = rng.random(shape) < rng.uniform(0.05, 0.9)
        b = rng.random(shape) < rng.uniform(0.05, 0.9)
        if a.any() and b.any():
            return a, b


def _monai(mask):
    return torch.from_numpy(np.asarray(mask, dtype=np.float32))[None, None]


def monai_hd(pred, ref, spacing, percentile):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = compute_hausdorff_distance(
            _monai(pred),
            _monai(ref),
            include_background=True,
            percentile=percentile,
            spacing=spacing,
        )
    return float(value)


def monai_asd(pred, ref, spacing, symmetric):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = compute_average_surface_distance(
            _monai(pred),
            _monai(ref),
            include_background=True,
            symmetric=symmetric,
            spacing=spacing,
        )
    return float(value)


def monai_nsd(pred, ref, spacing, tolerance):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = compute_surface_dice(
            _monai(pred), _monai(ref), [tolerance], include_background=True, spacing=spacing
        )
    return float(value)


def monai_dice(pred, ref):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(compute_dice(_monai(pred), _monai(ref), include_background=True))


def medpy_hd(pred, ref, spacing, percentile):
    if percentile is None:
        return float(medpy_binary.hd(pred, ref, voxelspacing=spacing))
    assert percentile == 95
    return float(medpy_binary.hd95(pred, ref, voxelspacing=spacing))


def medpy_assd(pred, ref, spacing):
    return float(medpy_binary.assd(pred, ref, voxelspacing=spacing))


def medpy_asd(pred, ref, spacing):
    return float(medpy_binary.asd(pred, ref, voxelspacing=spacing))


def medpy_dice(pred, ref):
    return float(medpy_binary.dc(pred, ref))
