"""Region-wise maps: rectified region-wise (RRW) and active-contour maps.

Valverde & Tohka, "Region-wise loss for biomedical image segmentation" (eq. 4 for RRW).
The region-wise loss is ``mean(softmax * W)`` for one of these maps ``W``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._backend import array_module, distance_to_other_label
from ._distances import inside_distance
from ._geometry import shifted_labels
from ._inputs import compute_maps


def rrw_map(
    label: Any,
    num_classes: int | None,
    spacing: Sequence[float] | float | None = None,
    *,
    batch: bool = False,
    one_hot: bool = False,
) -> Any:
    """Rectified region-wise map (Valverde & Tohka, eq. 4).

    Convention:
        For the pixels of class k, ``-d / max(d)`` where ``d`` is the distance (in
        physical units when ``spacing`` is given) from the pixel to the nearest pixel
        *outside* class k and the maximum is over the class's pixels of this sample:
        values in ``[-1, 0)``, ``-1`` at the class's deepest point. Every other entry is
        ``+1``. An absent class is all ``+1``; a class filling the image has no outside
        pixel and gets ``-1`` on all its pixels.

        With these values the gradient of ``mean(softmax * W)`` with respect to the
        logits has exactly one negative component per pixel, the true class's; this
        is the paper's stability principle.

    Args:
        label: as in :func:`boundaryloss.maps.signed_distance_map`.
        num_classes: C (optional for one-hot input).
        spacing: pixel size per spatial axis, or None for unit spacing.
        batch: ``label`` has a leading batch axis.
        one_hot: ``label`` holds one binary mask per class.

    Returns:
        float32 ``(C, *spatial)`` (or ``(B, C, *spatial)``), same array type as ``label``.
    """
    return compute_maps(
        label,
        num_classes,
        spacing,
        batch=batch,
        one_hot=one_hot,
        from_labels=_rrw_from_labels,
        from_masks=_rrw_from_masks,
    )


def ac_map(
    label: Any,
    num_classes: int | None,
    *,
    batch: bool = False,
    one_hot: bool = False,
) -> Any:
    """Active-contour region-wise map ``1 - one_hot(label)``.

    Convention:
        ``0`` on the pixels of class k, ``1`` elsewhere: the region-wise loss with this
        map penalises the probability given to every wrong class (the region terms of
        the active-contour loss). Arguments as in :func:`rrw_map`.

    Returns:
        float32 ``(C, *spatial)`` (or ``(B, C, *spatial)``) of zeros and ones.
    """
    return compute_maps(
        label,
        num_classes,
        None,
        batch=batch,
        one_hot=one_hot,
        from_labels=_ac_from_labels,
        from_masks=lambda masks, _spacing: 1.0 - masks.astype(array_module(masks).float32),
        uses_spacing=False,
    )


def _ac_from_labels(labels: Any, num_classes: int, _spacing: Any) -> Any:
    xp = array_module(labels)
    classes = xp.arange(num_classes).reshape((num_classes,) + (1,) * labels.ndim)
    return (labels[None] != classes).astype(xp.float32)


def _rectify(out_k: Any, mask: Any, depth: Any) -> None:
    """Write ``-depth/max(depth)`` on ``mask`` into ``out_k`` (already +1 elsewhere)."""
    xp = array_module(mask)
    values = depth[mask]
    if values.size == 0:
        return
    top = values.max()
    out_k[mask] = -1.0 if not bool(xp.isfinite(top)) else -values / top


def _rrw_from_labels(labels: Any, num_classes: int, spacing: Any) -> Any:
    """One multi-label transform gives every class's inside distance at once."""
    xp = array_module(labels)
    out = xp.ones((num_classes, *labels.shape), dtype=xp.float32)
    depth = distance_to_other_label(shifted_labels(labels), spacing)
    for k in range(num_classes):
        _rectify(out[k], labels == k, depth)
    return out


def _rrw_from_masks(masks: Any, spacing: Any) -> Any:
    xp = array_module(masks)
    out = xp.ones(masks.shape, dtype=xp.float32)
    for k, mask in enumerate(masks):
        depth = xp.full(mask.shape, xp.inf) if bool(mask.all()) else inside_distance(mask, spacing)
        _rectify(out[k], mask, depth)
    return out
