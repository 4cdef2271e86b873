"""Average surface distance, directed (ASD) and symmetric (ASSD), per class, in physical units."""

from __future__ import annotations

from collections.abc import Sequence

from .._validation import ArrayLike
from ._empty import check_empty, check_missing, distance_per_class
from ._inputs import prepare_case
from ._surface import SurfaceDistances


def _validate_args(symmetric: bool, missing: str, empty: str) -> None:
    if not isinstance(symmetric, bool):
        raise ValueError(f"symmetric must be a bool, got {symmetric!r}")
    check_missing(missing)
    check_empty(empty)


def reduce_average(distances: SurfaceDistances, symmetric: bool) -> float:
    """Mean surface distance of one pair of non-empty surfaces."""
    values = distances.pooled() if symmetric else distances.pred_to_ref
    return float(values.mean())


def average_surface_distance(
    pred: ArrayLike,
    ref: ArrayLike,
    spacing: Sequence[float] | float | None = None,
    symmetric: bool = True,
    *,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    missing: str = "inf",
    empty: str = "perfect",
) -> dict[int, float]:
    """Average (symmetric) surface distance per class.

    Convention:
        Surfaces and directed distances as in :func:`hausdorff_distance`.
        ``symmetric=True`` (ASSD) is the mean of both directed distance sets pooled,
        ``(Σ d(pred→ref) + Σ d(ref→pred)) / (|∂pred| + |∂ref|)`` — medpy 0.5.2 ``assd`` and
        MONAI ``compute_average_surface_distance(symmetric=True)``. (Older medpy releases and
        some papers average the two directed means instead; the two differ when the surfaces
        have different sizes.) ``symmetric=False`` is the directed mean from the prediction
        surface to the reference surface (medpy ``asd(pred, ref)``).

        Empty masks: a class present in only one of prediction and reference gets
        ``missing`` (``inf`` by default); a class absent from both gets 0 (or NaN with
        ``empty="nan"``).

    Args:
        pred: predicted label map ``(*spatial)`` or, with ``one_hot=True``, binary masks
            ``(C, *spatial)``; numpy array or torch tensor, 2 or 3 spatial axes.
        ref: reference segmentation in the same layout and shape.
        spacing: voxel size per spatial axis in numpy axis order (e.g. mm); ``None``
            measures in voxels.
        symmetric: ASSD (``True``) or the directed ASD from prediction to reference.
        num_classes: number of classes of a label map (default 2: a binary mask).
        include_background: evaluate class 0 too.
        classes: explicit class indices to evaluate.
        one_hot: inputs are ``(C, *spatial)`` binary masks.
        missing: ``"inf"``, ``"nan"`` or ``"diagonal"``, the value for a class present in
            only one of the two.
        empty: ``"perfect"`` (0) or ``"nan"``, the value for a class absent from both.

    Returns:
        ``{class index: distance}`` as Python floats, in the units of ``spacing``.

    Raises:
        ValueError: a shape mismatch, a bad ``spacing``, labels outside the class range, or
            an unknown ``missing`` or ``empty``.
    """
    _validate_args(symmetric, missing, empty)
    case = prepare_case(
        pred,
        ref,
        spacing=spacing,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )
    return distance_per_class(
        case, lambda d: reduce_average(d, symmetric), missing=missing, empty=empty
    )
