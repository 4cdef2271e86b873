"""How wrong a patch's own map is near the patch border (measurement tools).

nnU-Net trains on patches, and the maps are computed from the augmented patch target:
the distance from a voxel to a boundary *outside* the patch is unknown there. This module
compares a patch's map with the same crop of the map of the whole volume, for nnU-Net's
cropping (random, or centred on a foreground voxel, with background padding beyond the
image). Mirroring is left out: a reflection maps distances to equal distances, so it
changes where an error is, not its size.

Exactness bound: along each axis the patch's own boundary set is a subset of the true one,
so ``|d_patch| >= |d_true|``, and any boundary the patch misses is at least ``b(x) - h``
away (``b(x)``: distance from ``x`` to the nearest voxel outside the patch, ``h``: the
largest voxel size). Voxels with ``|d_patch(x)| <= b(x) - h`` therefore carry the exact
value; :func:`certified_exact` returns that mask. No nnunetv2 import.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..maps import compute_map


def patch_corner(
    shape: Sequence[int],
    patch: Sequence[int],
    rng: np.random.Generator,
    foreground: np.ndarray | None = None,
) -> tuple[int, ...]:
    """Lower corner of a patch as nnU-Net's data loader draws it (may lie outside the image).

    Args:
        shape: image shape.
        patch: patch shape.
        rng: random generator.
        foreground: ``(N, ndim)`` foreground voxel coordinates to centre on (nnU-Net's
            foreground oversampling), or None for a uniformly random patch.
    """
    need = [max(p - s, 0) for s, p in zip(shape, patch, strict=True)]
    low = [-n // 2 for n in need]
    high = [s + n // 2 + n % 2 - p for s, n, p in zip(shape, need, patch, strict=True)]
    if foreground is not None and len(foreground):
        voxel = foreground[rng.integers(len(foreground))]
        return tuple(max(lo, int(v) - p // 2) for lo, v, p in zip(low, voxel, patch, strict=True))
    return tuple(int(rng.integers(lo, hi + 1)) for lo, hi in zip(low, high, strict=True))


def crop(array: np.ndarray, corner: Sequence[int], patch: Sequence[int]) -> np.ndarray:
    """``array[corner : corner + patch]`` over the last ``len(patch)`` axes, 0 outside."""
    lead = array.ndim - len(patch)
    out = np.zeros(array.shape[:lead] + tuple(patch), dtype=array.dtype)
    src, dst = [slice(None)] * lead, [slice(None)] * lead
    for c, p, n in zip(corner, patch, array.shape[lead:], strict=True):
        lo, hi = max(c, 0), min(c + p, n)
        if hi <= lo:
            return out
        src.append(slice(lo, hi))
        dst.append(slice(lo - c, hi - c))
    out[tuple(dst)] = array[tuple(src)]
    return out


def certified_exact(
    patch_map: np.ndarray,
    spacing: Sequence[float],
    patch_label: np.ndarray,
    classes: Sequence[int],
) -> np.ndarray:
    """Voxels whose patch map value is provably the whole-volume value (see module doc).

    A class absent from the patch, or filling it, has an all-zero patch map (no boundary)
    and no certified voxel.

    Args:
        patch_map: ``(C_selected, *patch)`` signed distance map of the patch (paper
            convention), in the units of ``spacing``.
        spacing: voxel size per spatial axis.
        patch_label: the patch's integer labels ``(*patch)``.
        classes: the class of each channel of ``patch_map``.

    Returns:
        Boolean ``(C_selected, *patch)``.
    """
    patch = patch_map.shape[1:]
    border = np.full(patch, np.inf)
    for axis, (n, h) in enumerate(zip(patch, spacing, strict=True)):
        index = np.arange(n)
        along = np.minimum(index + 1, n - index) * h
        shape = [1] * len(patch)
        shape[axis] = n
        border = np.minimum(border, along.reshape(shape))
    certified = np.abs(patch_map) <= border[None] - max(spacing)
    for channel, k in enumerate(classes):
        count = int(np.count_nonzero(patch_label == k))
        if count in (0, patch_label.size):
            certified[channel] = False
    return certified


@dataclass
class PatchError:
    """Errors of one patch's map against the crop of the whole-volume map.

    Attributes:
        abs_error: ``(C_selected, *patch)`` absolute differences.
        patch_map, reference: the two ``(C_selected, *patch)`` maps.
    """

    abs_error: np.ndarray
    patch_map: np.ndarray
    reference: np.ndarray


def patch_map_error(
    label: np.ndarray,
    corner: Sequence[int],
    patch: Sequence[int],
    kind: str,
    num_classes: int,
    spacing: Sequence[float],
    classes: Sequence[int],
    margin: int = 0,
) -> PatchError:
    """Map of the cropped label versus the same crop of the whole volume's map.

    With ``margin``, the patch's map is computed on the crop enlarged by ``margin`` voxels
    on every side and then cropped to the patch (the trainers' ``map_margin``).

    The whole volume is padded with background to contain the patch, plus one voxel on
    every side (outside the image nnU-Net's label is background, after
    ``RemoveLabelTansform(-1, 0)``). For foreground classes, whose voxels all lie in the
    image, more padding would not change the map inside this region: a distance to a
    voxel set is exact on any box containing the set and the voxel.

    Args:
        label: whole integer label volume.
        corner, patch: the crop (:func:`patch_corner`).
        kind: ``"signed"`` or ``"rrw"`` (any :func:`~boundaryloss.maps.compute_map` kind).
        num_classes: C.
        spacing: voxel size per axis.
        classes: channels to compare (foreground classes: see above).
        margin: voxels of context around the patch for the patch's map.
    """
    before = [max(1, -c) for c in corner]
    after = [max(1, c + p - n) for c, p, n in zip(corner, patch, label.shape, strict=True)]
    padded = np.pad(label, list(zip(before, after, strict=True)))
    whole = compute_map(kind, padded, num_classes, spacing)
    shifted = [c + b for c, b in zip(corner, before, strict=True)]
    reference = crop(whole, shifted, patch)[list(classes)]
    big = [p + 2 * margin for p in patch]
    enlarged = compute_map(
        kind, crop(label, [c - margin for c in corner], big), num_classes, spacing
    )
    patch_map = crop(enlarged, [margin] * len(patch), patch)[list(classes)]
    return PatchError(np.abs(patch_map - reference), patch_map, reference)
