"""Hausdorff distance and its percentile variants (HD95), per class, in physical units.

Two percentile definitions are in use and give different numbers for the same masks; both
are offered, and agree with their reference implementation:

* ``mode="max"`` — the percentile of each directed distance set, then the larger of the
  two: MONAI's ``compute_hausdorff_distance`` (and DeepMind's surface-distance).
* ``mode="pooled"`` — the percentile of both directed sets pooled together: medpy's
  ``hd95``.

Percentiles use linear interpolation (``numpy.percentile``'s default, which is also what
``torch.quantile`` in MONAI uses). ``percentile=None`` is the plain Hausdorff distance, the
same in both modes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from .._validation import ArrayLike, check_one_of
from ._empty import check_empty, check_missing, distance_per_class
from ._inputs import prepare_case
from ._surface import SurfaceDistances

HD_MODES = ("max", "pooled")


def check_percentile(percentile: float | None) -> float | None:
    """Return ``percentile`` as a float in ``[0, 100]`` (or ``None``)."""
    if percentile is None:
        return None
    if isinstance(percentile, bool) or not isinstance(percentile, numbers.Real):
        raise ValueError(f"percentile must be a number in [0, 100] or None, got {percentile!r}")
    value = float(percentile)
    if not (math.isfinite(value) and 0.0 <= value <= 100.0):
        raise ValueError(f"percentile must lie in [0, 100], got {percentile!r}")
    return value


def check_mode(mode: str, name: str = "mode") -> str:
    """Return ``mode`` after checking it is ``"max"`` or ``"pooled"``."""
    return check_one_of(mode, HD_MODES, name)


def _validate_args(percentile: float | None, mode: str, missing: str, empty: str) -> None:
    check_percentile(percentile)
    check_mode(mode)
    check_missing(missing)
    check_empty(empty)


def reduce_hausdorff(distances: SurfaceDistances, percentile: float | None, mode: str) -> float:
    """Hausdorff distance (or its ``percentile``) of one pair of non-empty surfaces."""
    forward, backward = distances.pred_to_ref, distances.ref_to_pred
    if percentile is None:
        return float(max(forward.max(), backward.max()))
    if mode == "max":
        return float(max(np.percentile(forward, percentile), np.percentile(backward, percentile)))
    return float(np.percentile(distances.pooled(), percentile))


def hausdorff_distance(
    pred: ArrayLike,
    ref: ArrayLike,
    spacing: Sequence[float] | float | None = None,
    percentile: float | None = None,
    mode: str = "max",
    *,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    missing: str = "inf",
    empty: str = "perfect",
) -> dict[int, float]:
    """Hausdorff distance between the surfaces of prediction and reference, per class.

    Convention:
        The surface of a mask is its voxels with a face neighbour outside the mask (outside
        the image counts as outside, as in MONAI, medpy and DeepMind's surface-distance).
        Directed distances are Euclidean between voxel centres, in the units of
        ``spacing`` (usually mm). ``percentile=None`` gives the maximum of all directed
        distances; ``percentile=95`` gives HD95 in the chosen ``mode``:

        ======== ====================================================== ================
        mode     HD95                                                   equals
        ======== ====================================================== ================
        "max"    max(P95(pred→ref), P95(ref→pred))                      MONAI
        "pooled" P95(pred→ref ∪ ref→pred)                               medpy ``hd95``
        ======== ====================================================== ================

        Empty masks: a class present in only one of prediction and reference gets
        ``missing`` (``inf`` by default); a class absent from both gets 0 (or NaN with
        ``empty="nan"``).

    Args:
        pred: predicted label map ``(*spatial)`` or, with ``one_hot=True``, binary masks
            ``(C, *spatial)``; numpy array or torch tensor, 2 or 3 spatial axes.
        ref: reference segmentation in the same layout and shape.
        spacing: voxel size per spatial axis in numpy axis order (e.g. mm), or one number
            for all axes; ``None`` measures in voxels.
        percentile: percentile in ``[0, 100]`` (linear interpolation), or ``None`` for the
            maximum.
        mode: ``"max"`` (MONAI) or ``"pooled"`` (medpy), see above.
        num_classes: number of classes of a label map (default 2: a binary mask).
        include_background: evaluate class 0 too.
        classes: explicit class indices to evaluate.
        one_hot: inputs are ``(C, *spatial)`` binary masks.
        missing: ``"inf"``, ``"nan"`` or ``"diagonal"`` (field-of-view diagonal in spacing
            units), the value for a class present in only one of the two.
        empty: ``"perfect"`` (0) or ``"nan"``, the value for a class absent from both.

    Returns:
        ``{class index: distance}`` as Python floats, in the units of ``spacing``.

    Raises:
        ValueError: a shape mismatch, a ``spacing`` of the wrong length or not positive,
            labels outside ``[0, num_classes)``, a ``percentile`` outside ``[0, 100]``, or
            an unknown ``mode``, ``missing`` or ``empty``.

    Example:
        >>> import numpy as np
        >>> pred = np.zeros((5, 5), int); pred[1, 1] = 1
        >>> ref = np.zeros((5, 5), int); ref[1, 3] = 1
        >>> hausdorff_distance(pred, ref, spacing=(1.0, 1.0))
        {1: 2.0}
    """
    _validate_args(percentile, mode, missing, empty)
    case = prepare_case(
        pred,
        ref,
        spacing=spacing,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )
    percentile = check_percentile(percentile)
    return distance_per_class(
        case, lambda d: reduce_hausdorff(d, percentile, mode), missing=missing, empty=empty
    )
