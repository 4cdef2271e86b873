"""One-sided distances of a binary mask, cropped to where they can be nonzero."""

from __future__ import annotations

from typing import Any

from ._backend import array_module, distance_to_other_label
from ._geometry import bounding_box


def inside_distance(mask: Any, spacing: tuple[float, ...] | None) -> Any:
    """For pixels of ``mask``, the distance to the nearest pixel outside it (else 0).

    That nearest pixel touches the mask, so the transform is cropped to the mask's
    bounding box grown by one pixel. An empty mask gives zeros.
    """
    xp = array_module(mask)
    out = xp.zeros(mask.shape, dtype=xp.float32)
    box = bounding_box(mask, margin=1)
    if box is not None:
        out[box] = distance_to_other_label(mask[box], spacing)
    return out


def write_outside_distance(out: Any, mask: Any, spacing: tuple[float, ...] | None) -> None:
    """Write, for pixels outside ``mask``, the distance to the nearest mask pixel into
    ``out`` (same shape); pixels of ``mask`` inside the computed box get 0.

    The nearest mask pixel of an outside point lies on the mask's boundary, next to the
    outside region, so the transform is cropped to the complement's box plus one pixel.
    """
    outside = ~mask
    box = bounding_box(outside, margin=1)
    if box is not None:
        out[box] = distance_to_other_label(outside[box], spacing)
