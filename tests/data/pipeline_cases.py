"""Small in-memory cases (random blobs) for the pipeline tests."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from boundaryloss.data.case import Case


def blob_label(shape, num_classes=3, seed=0, smooth=2.0, fill=0.15) -> np.ndarray:
    """int64 label with a few smooth blobs of classes 1..num_classes-1 on background 0."""
    rng = np.random.default_rng(seed)
    label = np.zeros(shape, dtype=np.int64)
    for k in range(1, num_classes):
        noise = ndimage.gaussian_filter(rng.standard_normal(shape), smooth)
        label[noise > np.quantile(noise, 1.0 - fill)] = k
    return label


def blob_case(
    case_id="case_0",
    shape=(12, 16, 10),
    num_classes=3,
    seed=0,
    spacing=None,
    channels=2,
    fov=False,
    affine=None,
) -> Case:
    """A case whose image channels are the label plus noise (so alignment is checkable)."""
    rng = np.random.default_rng(seed + 1000)
    label = blob_label(shape, num_classes, seed)
    image = np.stack(
        [label * (c + 1) + 0.1 * rng.standard_normal(shape) for c in range(channels)]
    ).astype(np.float32)
    return Case(
        case_id=case_id,
        image=image,
        label=label,
        spacing=spacing or (1.0,) * len(shape),
        spacing_unit="mm",
        affine=affine,
        fov=np.ones(shape, dtype=bool) if fov else None,
    )
