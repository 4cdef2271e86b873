"""Independent numpy references for the losses, written straight from the formulas.

Nothing here calls ``boundaryloss``; distance maps come from scipy via the maps tests'
reference module.
"""

from __future__ import annotations

import numpy as np
import torch

from ..maps.reference import official, region_wise, rrw


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def one_hot(label: np.ndarray, num_classes: int) -> np.ndarray:
    """``(B, *spatial)`` labels -> ``(B, C, *spatial)`` float64."""
    return np.stack([(label == k) for k in range(num_classes)], axis=1).astype(np.float64)


def batched_map(reference, label: np.ndarray, num_classes: int, spacing=None) -> np.ndarray:
    """``(B, C, *spatial)`` map from ``(B, *spatial)`` labels with a per-mask reference."""
    return np.stack(
        [
            np.stack([reference(sample == k, spacing) for k in range(num_classes)])
            for sample in label
        ]
    ).astype(np.float64)


def official_maps(label, num_classes, spacing=None):
    return batched_map(official, label, num_classes, spacing)


def rw_signed_maps(label, num_classes, spacing=None):
    return batched_map(region_wise, label, num_classes, spacing)


def rrw_maps(label, num_classes, spacing=None):
    return batched_map(rrw, label, num_classes, spacing)


def unsigned_rw_maps(label, num_classes, spacing=None):
    return np.abs(rw_signed_maps(label, num_classes, spacing))


def spatial_mean(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], x.shape[1], -1).mean(-1)


def spatial_sum(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], x.shape[1], -1).sum(-1)


def random_case(shape=(2, 3, 12, 12), seed=0, dtype=torch.float32):
    """Random logits and labels where every class is present in every sample."""
    generator = np.random.default_rng(seed)
    batch, num_classes, *spatial = shape
    logits = generator.normal(size=shape) * 2
    label = generator.integers(0, num_classes, size=(batch, *spatial))
    # Blocks so the maps have interiors, not only isolated pixels.
    for b in range(batch):
        for k in range(1, num_classes):
            corner = generator.integers(0, [max(s - 4, 1) for s in spatial])
            block = tuple(slice(int(c), int(c) + 4) for c in corner)
            label[(b, *block)] = k
    return torch.tensor(logits, dtype=dtype), torch.tensor(label)
