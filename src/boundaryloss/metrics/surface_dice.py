"""Normalized surface Dice (NSD, surface Dice at a tolerance), per class."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import ArrayLike, check_non_negative
from ._empty import MISSED_SCORE, apply_per_class, both_empty_score, check_empty
from ._inputs import prepare_case
from ._surface import SurfaceDistances, surface_distances


def check_tolerance(tolerance: float) -> float:
    """Return ``tolerance`` as a finite non-negative float."""
    return check_non_negative(tolerance, "tolerance")


def _validate_args(tolerance: float, empty: str) -> None:
    check_tolerance(tolerance)
    check_empty(empty)


def reduce_surface_dice(distances: SurfaceDistances, tolerance: float) -> float:
    """Share of surface voxels (both masks) within ``tolerance`` of the other surface."""
    within = np.count_nonzero(distances.pred_to_ref <= tolerance) + np.count_nonzero(
        distances.ref_to_pred <= tolerance
    )
    return within / (distances.pred_to_ref.size + distances.ref_to_pred.size)


def normalized_surface_dice(
    pred: ArrayLike,
    ref: ArrayLike,
    tolerance: float,
    spacing: Sequence[float] | float | None = None,
    *,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Normalized surface Dice at ``tolerance`` per class (Nikolov et al., 2021).

    Convention:
        Surfaces and directed distances as in :func:`hausdorff_distance`. NSD is the
        fraction of surface voxels of both masks lying within ``tolerance`` (inclusive) of
        the other mask's surface, ``(|{d(pred→ref) ≤ τ}| + |{d(ref→pred) ≤ τ}|) /
        (|∂pred| + |∂ref|)``. Every surface voxel counts once, which is MONAI's
        ``compute_surface_dice(use_subvoxels=False)``; DeepMind's surface-distance weights
        surface elements by their area instead and gives slightly different values.

        Empty masks: a class present in only one of prediction and reference scores 0; a
        class absent from both scores 1 (or NaN with ``empty="nan"``; MONAI gives NaN).

    Args:
        pred: predicted label map ``(*spatial)`` or, with ``one_hot=True``, binary masks
            ``(C, *spatial)``; numpy array or torch tensor, 2 or 3 spatial axes.
        ref: reference segmentation in the same layout and shape.
        tolerance: distance within which a surface voxel counts as correct, in the units of
            ``spacing`` (e.g. mm).
        spacing: voxel size per spatial axis in numpy axis order (e.g. mm); ``None``
            measures in voxels.
        num_classes: number of classes of a label map (default 2: a binary mask).
        include_background: evaluate class 0 too.
        classes: explicit class indices to evaluate.
        one_hot: inputs are ``(C, *spatial)`` binary masks.
        empty: ``"perfect"`` (1) or ``"nan"``, the score of a class absent from both.

    Returns:
        ``{class index: NSD}`` as Python floats in ``[0, 1]``.

    Raises:
        ValueError: a shape mismatch, a bad ``spacing``, labels outside the class range, a
            negative or non-finite ``tolerance``, or an unknown ``empty``.
    """
    _validate_args(tolerance, empty)
    case = prepare_case(
        pred,
        ref,
        spacing=spacing,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )
    tolerance = check_tolerance(tolerance)
    return apply_per_class(
        case,
        lambda p, r: reduce_surface_dice(surface_distances(p, r, case.spacing), tolerance),
        missed=MISSED_SCORE,
        both_empty=both_empty_score(empty),
    )
