"""Overlap scores: Dice, Jaccard (IoU), precision and recall, per class.

Convention (shared by the four functions):
    Inputs are one case, as described in :mod:`boundaryloss.metrics` (label map
    ``(*spatial)`` or one-hot ``(C, *spatial)``, numpy or torch, 2D or 3D). With ``TP`` the
    voxels in both masks, ``P`` the predicted and ``R`` the reference voxels:
    Dice ``2 TP / (|P| + |R|)``, Jaccard ``TP / |P ∪ R|``, precision ``TP / |P|``,
    recall ``TP / |R|``. Voxel counts, so ``spacing`` plays no role.

    Empty masks: a class present in only one of prediction and reference scores 0 on every
    overlap metric (including precision of an empty prediction and recall of an empty
    reference, which would otherwise be 0/0); a class absent from both scores 1
    (``empty="perfect"``) or NaN (``empty="nan"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._validation import ArrayLike, check_one_of
from ._counts import count_masks, count_score
from ._empty import MISSED_SCORE, apply_per_class, both_empty_score, check_empty
from ._inputs import CaseMasks, prepare_case

OVERLAP_METRICS = ("dice", "jaccard", "precision", "recall")


def _validate_args(empty: str) -> None:
    check_empty(empty)


def overlap_score(name: str, pred: np.ndarray, ref: np.ndarray) -> float:
    """One overlap score of two non-empty boolean masks."""
    check_one_of(name, OVERLAP_METRICS, "metric")
    return count_score(name, count_masks(pred, ref))


def overlap_per_class(name: str, case: CaseMasks, empty: str) -> dict[int, float]:
    """Apply :func:`overlap_score` to every selected class of ``case`` with the empty rule."""
    return apply_per_class(
        case,
        lambda pred, ref: overlap_score(name, pred, ref),
        missed=MISSED_SCORE,
        both_empty=both_empty_score(empty),
    )


def _overlap(
    name: str,
    pred: ArrayLike,
    ref: ArrayLike,
    num_classes: int | None,
    include_background: bool,
    classes: Sequence[int] | None,
    one_hot: bool,
    empty: str,
) -> dict[int, float]:
    _validate_args(empty)
    case = prepare_case(
        pred,
        ref,
        spacing=None,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )
    return overlap_per_class(name, case, empty)


def dice(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Dice similarity coefficient ``2 |P ∩ R| / (|P| + |R|)`` per class.

    Convention:
        See :mod:`boundaryloss.metrics.overlap`: a class missed by the prediction (or
        predicted where the reference has none) scores 0; a class absent from both scores
        1, or NaN with ``empty="nan"``.

    Args:
        pred: predicted label map ``(*spatial)`` or, with ``one_hot=True``, binary masks
            ``(C, *spatial)``; numpy array or torch tensor, 2 or 3 spatial axes.
        ref: reference segmentation in the same layout and shape.
        num_classes: number of classes of a label map (default 2: a binary mask). With
            ``one_hot=True`` it defaults to, and must equal, ``C``.
        include_background: evaluate class 0 too.
        classes: explicit class indices to evaluate (overrides ``include_background``'s
            default selection).
        one_hot: inputs are ``(C, *spatial)`` binary masks.
        empty: ``"perfect"`` or ``"nan"``, the score of a class absent from both.

    Returns:
        ``{class index: Dice}`` as Python floats in ``[0, 1]``.

    Raises:
        ValueError: a shape mismatch, labels outside ``[0, num_classes)``, a bad ``classes``
            list or an unknown ``empty`` option.

    Example:
        >>> import numpy as np
        >>> pred = np.array([[0, 1, 1, 0]]); ref = np.array([[0, 1, 0, 0]])
        >>> dice(pred, ref)
        {1: 0.6666666666666666}
    """
    return _overlap("dice", pred, ref, num_classes, include_background, classes, one_hot, empty)


def jaccard(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Jaccard index (IoU) ``|P ∩ R| / |P ∪ R|`` per class.

    Convention, Args, Raises: as :func:`dice`.

    Returns:
        ``{class index: Jaccard}`` as Python floats in ``[0, 1]``.
    """
    return _overlap("jaccard", pred, ref, num_classes, include_background, classes, one_hot, empty)


def precision(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Precision (positive predictive value) ``|P ∩ R| / |P|`` per class.

    Convention, Args, Raises: as :func:`dice`. An empty prediction of a class present in the
    reference has precision 0 (a miss), not 0/0.

    Returns:
        ``{class index: precision}`` as Python floats in ``[0, 1]``.
    """
    return _overlap(
        "precision", pred, ref, num_classes, include_background, classes, one_hot, empty
    )


def recall(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Recall (sensitivity) ``|P ∩ R| / |R|`` per class.

    Convention, Args, Raises: as :func:`dice`. A class predicted where the reference has
    none has recall 0 (a false detection), not 0/0.

    Returns:
        ``{class index: recall}`` as Python floats in ``[0, 1]``.
    """
    return _overlap("recall", pred, ref, num_classes, include_background, classes, one_hot, empty)
