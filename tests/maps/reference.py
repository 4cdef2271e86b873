"""Independent reference maps written straight from the formulas with scipy.

These never call boundaryloss code, so the tests compare two implementations.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def edt(mask: np.ndarray, spacing=None) -> np.ndarray:
    return ndimage.distance_transform_edt(mask, sampling=spacing)


def boundary_set(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with a face-neighbour outside it (the image edge is not outside)."""
    structure = ndimage.generate_binary_structure(mask.ndim, 1)
    eroded = ndimage.binary_erosion(mask, structure, border_value=1)
    return mask & ~eroded


def official(mask: np.ndarray, spacing=None) -> np.ndarray:
    """The original code: edt(~G) * ~G - (edt(G) - 1) * G, zeros if absent/full."""
    if not mask.any() or mask.all():
        return np.zeros(mask.shape)
    return edt(~mask, spacing) * ~mask - (edt(mask, spacing) - 1) * mask


def region_wise(mask: np.ndarray, spacing=None) -> np.ndarray:
    if not mask.any() or mask.all():
        return np.zeros(mask.shape)
    return edt(~mask, spacing) * ~mask - edt(mask, spacing) * mask


def paper(mask: np.ndarray, spacing=None) -> np.ndarray:
    """-dist(x, dG) inside, +dist(x, dG) outside, by brute force on the boundary set."""
    if not mask.any() or mask.all():
        return np.zeros(mask.shape)
    to_boundary = edt(~boundary_set(mask), spacing)
    return np.where(mask, -to_boundary, to_boundary)


def rrw(mask: np.ndarray, spacing=None) -> np.ndarray:
    out = np.ones(mask.shape)
    if not mask.any():
        return out
    if mask.all():
        out[:] = -1.0
        return out
    depth = edt(mask, spacing)
    out[mask] = -depth[mask] / depth[mask].max()
    return out


REFERENCES = {"paper": paper, "official": official, "rw": region_wise}


def per_class(reference, label: np.ndarray, num_classes: int, spacing=None) -> np.ndarray:
    return np.stack([reference(label == k, spacing) for k in range(num_classes)])
