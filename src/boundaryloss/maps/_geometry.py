"""Small geometric helpers on label arrays: interfaces, bounding boxes, class counts."""

from __future__ import annotations

from typing import Any

from ._backend import array_module


def interface_mask(labels: Any) -> Any:
    """Pixels with at least one face-neighbour of a different label.

    For a binary mask ``G`` the boundary set of the paper convention is
    ``interface_mask(G) & G``: pixels of G with a face-neighbour outside G. Neighbours
    beyond the image edge do not exist, so the image edge is never an interface.
    """
    xp = array_module(labels)
    out = xp.zeros(labels.shape, dtype=bool)
    for axis in range(labels.ndim):
        lower = [slice(None)] * labels.ndim
        upper = [slice(None)] * labels.ndim
        lower[axis] = slice(None, -1)
        upper[axis] = slice(1, None)
        differs = labels[tuple(lower)] != labels[tuple(upper)]
        out[tuple(lower)] |= differs
        out[tuple(upper)] |= differs
    return out


def bounding_box(mask: Any, margin: int = 0) -> tuple[slice, ...]:
    """Slices of the smallest box holding every True pixel of ``mask``, grown by
    ``margin`` pixels on each side and clipped to the image. ``mask`` must not be empty."""
    xp = array_module(mask)
    box = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hits = xp.flatnonzero(mask.any(axis=other)) if other else xp.flatnonzero(mask)
        start = max(int(hits[0]) - margin, 0)
        stop = min(int(hits[-1]) + 1 + margin, mask.shape[axis])
        box.append(slice(start, stop))
    return tuple(box)


def class_counts(labels: Any, num_classes: int) -> list[int]:
    """Number of pixels of each class ``0..num_classes-1``."""
    xp = array_module(labels)
    return [int(c) for c in xp.bincount(labels.ravel(), minlength=num_classes).tolist()]


def shifted_labels(labels: Any) -> Any:
    """``labels + 1`` in the smallest unsigned dtype, so that no class is label 0
    (label 0 means "distance zero" to the distance backend)."""
    xp = array_module(labels)
    top = int(labels.max()) + 1 if labels.size else 1
    dtype = xp.uint8 if top < 2**8 else xp.uint16 if top < 2**16 else xp.uint32
    return labels.astype(dtype) + dtype(1)
