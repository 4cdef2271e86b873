"""Small geometric helpers on label arrays: interfaces, bounding boxes, class counts."""

from __future__ import annotations

from typing import Any

from ._backend import array_module


def interface_mask(labels: Any, box: tuple[slice, ...] | None = None) -> Any:
    """Pixels with at least one face-neighbour of a different label.

    For a binary mask ``G`` the boundary set of the paper convention is
    ``interface_mask(G) & G``: pixels of G with a face-neighbour outside G. Neighbours
    beyond the image edge do not exist, so the image edge is never an interface.

    With ``box`` (slices of ``labels``), only that part is computed: the same values as
    ``interface_mask(labels)[box]``, read from the box grown by the one pixel that
    decides whether its outer pixels are interfaces.
    """
    if box is not None:
        outer = grow_box(box, 1, labels.shape)
        inner = tuple(
            slice(b.start - o.start, b.stop - o.start) for b, o in zip(box, outer, strict=True)
        )
        return interface_mask(labels[outer])[inner]
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


def grow_box(box: tuple[slice, ...], margin: int, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """``box`` (slices with explicit bounds) grown by ``margin`` pixels on each side,
    clipped to an image of ``shape``."""
    return tuple(
        slice(max(s.start - margin, 0), min(s.stop + margin, n))
        for s, n in zip(box, shape, strict=True)
    )


def bounding_box(mask: Any, margin: int = 0) -> tuple[slice, ...] | None:
    """Slices of the smallest box holding every True pixel of ``mask`` (NumPy or CuPy),
    grown by ``margin`` pixels on each side and clipped to the image; None if ``mask`` is
    empty."""
    xp = array_module(mask)
    tight: list[slice] = []
    view = mask
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hits = xp.flatnonzero(view.any(axis=other)) if other else xp.flatnonzero(view)
        if hits.size == 0:
            return None
        tight.append(slice(int(hits[0]), int(hits[-1]) + 1))
        # Later passes only read the slab already found: cheap for small structures.
        index = [slice(None)] * mask.ndim
        index[axis] = tight[-1]
        view = view[tuple(index)]
    return grow_box(tuple(tight), margin, mask.shape)


#: Up to this many classes, counting them one comparison at a time beats ``bincount``
#: (measured on int64 labels: 7 vs 35 us for 2 classes of 128x128, 27 vs 108 us for 3
#: classes of 32x48x32).
FEW_CLASSES = 8


def class_counts(labels: Any, num_classes: int) -> list[int]:
    """Number of pixels of each class ``0..num_classes-1``."""
    xp = array_module(labels)
    if num_classes <= FEW_CLASSES:
        return [int(xp.count_nonzero(labels == k)) for k in range(num_classes)]
    return [int(c) for c in xp.bincount(labels.ravel(), minlength=num_classes).tolist()]


def shifted_labels(labels: Any) -> Any:
    """``labels + 1`` in the smallest unsigned dtype, so that no class is label 0
    (label 0 means "distance zero" to the distance backend)."""
    xp = array_module(labels)
    top = int(labels.max()) + 1 if labels.size else 1
    dtype = xp.uint8 if top < 2**8 else xp.uint16 if top < 2**16 else xp.uint32
    return labels.astype(dtype) + dtype(1)
