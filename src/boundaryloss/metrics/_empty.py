"""The empty-mask rule, one for every metric.

A class can be absent from the prediction, from the reference, or from both:

* **missed** — present in exactly one of the two (a missed structure, or a structure
  predicted where the reference has none). Scores (Dice, Jaccard, precision, recall,
  normalized surface Dice) are 0. Distances follow ``missing``: ``"inf"`` (default),
  ``"nan"``, or ``"diagonal"`` — the diagonal of the image's field of view,
  ``sqrt(sum((n_i * spacing_i) ** 2))``, an upper bound on any distance inside the image
  (what the original boundary-loss evaluation reports).
* **both empty** — absent from both. ``empty="perfect"`` (default): scores 1, distances 0;
  ``empty="nan"``: ``NaN`` for every metric.

A missed structure therefore never vanishes from an average unless the user asks for
``missing="nan"`` explicitly (and :class:`~boundaryloss.metrics.SegmentationEvaluator`
still counts it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from .._validation import check_one_of
from ._inputs import CaseMasks
from ._surface import SurfaceDistances, surface_distances

MISSING_OPTIONS = ("inf", "nan", "diagonal")
EMPTY_OPTIONS = ("perfect", "nan")

#: Value of every score (Dice, Jaccard, precision, recall, NSD) for a missed structure.
MISSED_SCORE = 0.0


def check_missing(missing: str) -> str:
    """Return ``missing`` after checking it is ``"inf"``, ``"nan"`` or ``"diagonal"``."""
    return check_one_of(missing, MISSING_OPTIONS, "missing")


def check_empty(empty: str) -> str:
    """Return ``empty`` after checking it is ``"perfect"`` or ``"nan"``."""
    return check_one_of(empty, EMPTY_OPTIONS, "empty")


def image_diagonal(shape: Sequence[int], spacing: Sequence[float]) -> float:
    """Diagonal of the field of view, ``sqrt(sum((n_i * spacing_i) ** 2))``, in spacing units."""
    return math.sqrt(sum((n * s) ** 2 for n, s in zip(shape, spacing, strict=True)))


def missed_distance(missing: str, shape: Sequence[int], spacing: Sequence[float]) -> float:
    """Distance reported for a structure present in only one of prediction and reference."""
    if missing == "inf":
        return math.inf
    if missing == "nan":
        return math.nan
    return image_diagonal(shape, spacing)


def both_empty_distance(empty: str) -> float:
    """Distance reported when a class is absent from both prediction and reference."""
    return 0.0 if empty == "perfect" else math.nan


def both_empty_score(empty: str) -> float:
    """Score reported when a class is absent from both prediction and reference."""
    return 1.0 if empty == "perfect" else math.nan


def apply_per_class(
    case: CaseMasks,
    compute: Callable[[np.ndarray, np.ndarray], float],
    missed: float,
    both_empty: float,
) -> dict[int, float]:
    """Evaluate ``compute(pred_mask, ref_mask)`` per class, applying the empty-mask rule.

    ``compute`` only ever sees two non-empty masks; a class absent from exactly one of them
    gets ``missed``, a class absent from both gets ``both_empty``.
    """
    results: dict[int, float] = {}
    for cls, pred, ref in case:
        has_pred, has_ref = bool(pred.any()), bool(ref.any())
        if has_pred and has_ref:
            results[cls] = float(compute(pred, ref))
        else:
            results[cls] = missed if has_pred or has_ref else both_empty
    return results


def distance_per_class(
    case: CaseMasks,
    reduce: Callable[[SurfaceDistances], float],
    missing: str,
    empty: str,
) -> dict[int, float]:
    """Reduce the surface distances of every selected class, applying the empty-mask rule."""
    return apply_per_class(
        case,
        lambda pred, ref: reduce(surface_distances(pred, ref, case.spacing)),
        missed=missed_distance(missing, case.shape, case.spacing),
        both_empty=both_empty_distance(empty),
    )
