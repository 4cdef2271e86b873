"""Scores that count true negatives — specificity and accuracy — inside a field of view.

Convention:
    With ``TP``, ``FP``, ``FN``, ``TN`` the voxels counted inside ``mask`` (the region of
    interest, e.g. a retinal field of view; the whole image by default): specificity
    ``TN / (TN + FP)``, accuracy ``(TP + TN) / |mask|``. Retinal-vessel papers report both
    (with sensitivity, which is :func:`~boundaryloss.metrics.recall`) inside the FOV mask
    shipped with DRIVE and STARE; outside it every pixel would be a free true negative.

    Empty masks: specificity scores the negatives, so the package's rule applies to them
    (:func:`~boundaryloss.metrics._counts.count_score`, also used for pooled counts): no
    negative voxel inside ``mask`` in either prediction or reference gives 1
    (``empty="perfect"``) or NaN (``empty="nan"``), in only one of them 0. A class missing
    from one mask therefore does not make specificity 0 (its negatives are all there).
    Accuracy of an empty ``mask`` is NaN (no voxel to score).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import ArrayLike, check_one_of
from ._counts import count_masks, count_score
from ._empty import check_empty
from ._inputs import prepare_case, to_numpy

NEGATIVE_METRICS = ("specificity", "accuracy")


def check_roi(mask: ArrayLike | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Return ``mask`` as a boolean array of the spatial ``shape`` (or None).

    Raises:
        ValueError: a shape mismatch or values other than 0/1 (bools, or integral 0/1).
    """
    if mask is None:
        return None
    roi = to_numpy(mask, "mask")
    if tuple(roi.shape) != tuple(shape):
        raise ValueError(
            f"mask must have the spatial shape {tuple(shape)} of pred, got {tuple(roi.shape)}"
        )
    if roi.dtype != bool:
        if not np.isin(roi, (0, 1)).all():
            raise ValueError("mask must be binary (bool or 0/1 values)")
        roi = roi.astype(bool)
    return roi


def negative_score(
    name: str, pred: np.ndarray, ref: np.ndarray, region_voxels: int, empty: str
) -> float:
    """Specificity or accuracy of two boolean masks already restricted to the region.

    ``region_voxels`` is the number of voxels in the region (``|mask|``).
    """
    check_one_of(name, NEGATIVE_METRICS, "metric")
    return count_score(name, count_masks(pred, ref, region_voxels), empty)


def _negative(
    name: str,
    pred: ArrayLike,
    ref: ArrayLike,
    mask: ArrayLike | None,
    num_classes: int | None,
    include_background: bool,
    classes: Sequence[int] | None,
    one_hot: bool,
    empty: str,
) -> dict[int, float]:
    check_empty(empty)
    case = prepare_case(
        pred,
        ref,
        spacing=None,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )
    roi = check_roi(mask, case.shape)
    voxels = int(np.prod(case.shape)) if roi is None else int(np.count_nonzero(roi))
    results = {}
    for cls, p, r in case:
        if roi is not None:
            p, r = p & roi, r & roi
        results[cls] = negative_score(name, p, r, voxels, empty)
    return results


def specificity(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Specificity (true negative rate) ``TN / (TN + FP)`` per class, inside ``mask``.

    Convention:
        See :mod:`boundaryloss.metrics.specificity`.

    Args:
        pred, ref, num_classes, include_background, classes, one_hot: as
            :func:`~boundaryloss.metrics.dice`.
        mask: region of interest ``(*spatial)``, bool or 0/1 (a field of view); voxels
            outside it are not counted. ``None``: the whole image.
        empty: ``"perfect"`` or ``"nan"``, the value when neither prediction nor
            reference has a negative voxel inside ``mask``.

    Returns:
        ``{class index: specificity}`` in ``[0, 1]``.

    Example:
        >>> import numpy as np
        >>> pred = np.array([[1, 1, 0, 1]]); ref = np.array([[1, 0, 0, 0]])
        >>> specificity(pred, ref), specificity(pred, ref, mask=np.array([[1, 1, 1, 0]]))
        ({1: 0.3333333333333333}, {1: 0.5})
    """
    return _negative(
        "specificity", pred, ref, mask, num_classes, include_background, classes, one_hot, empty
    )


def accuracy(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    mask: ArrayLike | None = None,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Accuracy ``(TP + TN) / |mask|`` per class (one class against the rest), inside ``mask``.

    Convention, Args: as :func:`specificity`; an empty ``mask`` gives NaN.

    Returns:
        ``{class index: accuracy}`` in ``[0, 1]``.
    """
    return _negative(
        "accuracy", pred, ref, mask, num_classes, include_background, classes, one_hot, empty
    )
