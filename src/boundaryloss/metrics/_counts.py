"""Confusion counts and the scores computed from them, with the empty-mask rule: written
once for the per-image metrics (overlap, specificity, accuracy) and for scores of counts
pooled over a dataset (:mod:`boundaryloss.evaluation.pixel_level`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_one_of
from ._empty import MISSED_SCORE, both_empty_score

#: Scores :func:`count_score` computes.
COUNT_SCORES = ("dice", "jaccard", "precision", "recall", "specificity", "accuracy")


@dataclass(frozen=True)
class ConfusionCounts:
    """True/false positives and negatives of one class, counted in pixels (voxels)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: ConfusionCounts) -> ConfusionCounts:
        return ConfusionCounts(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    @property
    def total(self) -> int:
        """Pixels counted: the region of interest (or the whole image without one)."""
        return self.tp + self.fp + self.fn + self.tn


def count_masks(
    pred: np.ndarray, ref: np.ndarray, region_voxels: int | None = None
) -> ConfusionCounts:
    """Counts of two boolean masks of one class.

    Args:
        pred, ref: bool ``(*spatial)``, already restricted to the region of interest.
        region_voxels: voxels in that region (default: every voxel of ``pred``); the
            true negatives are the rest of it.
    """
    tp = int(np.count_nonzero(pred & ref))
    fp = int(np.count_nonzero(pred)) - tp
    fn = int(np.count_nonzero(ref)) - tp
    total = pred.size if region_voxels is None else region_voxels
    return ConfusionCounts(tp, fp, fn, int(total) - tp - fp - fn)


def count_score(name: str, counts: ConfusionCounts, empty: str = "perfect") -> float:
    """One score of confusion counts.

    Convention:
        ``dice = 2 TP / (2 TP + FP + FN)``, ``jaccard = TP / (TP + FP + FN)``,
        ``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``,
        ``specificity = TN / (TN + FP)``, ``accuracy = (TP + TN) / (TP + FP + FN + TN)``.
        The package's empty-mask rule applies to the positives (the first four) and, for
        specificity, to the negatives: absent from both prediction and reference -> 1
        (``empty="perfect"``) or NaN (``empty="nan"``), absent from only one -> 0.
        Accuracy of zero pixels is NaN.

    Raises:
        ValueError: ``name`` is not in :data:`COUNT_SCORES`.
    """
    check_one_of(name, COUNT_SCORES, "metric")
    tp, fp, fn, tn = counts.tp, counts.fp, counts.fn, counts.tn
    if name == "accuracy":
        return (tp + tn) / counts.total if counts.total else math.nan
    if name == "specificity":
        hits, denominator, predicted, actual = tn, tn + fp, tn + fn, tn + fp
    else:
        predicted, actual = tp + fp, tp + fn
        hits, denominator = {
            "dice": (2 * tp, 2 * tp + fp + fn),
            "jaccard": (tp, tp + fp + fn),
            "precision": (tp, tp + fp),
            "recall": (tp, tp + fn),
        }[name]
    if predicted == 0 and actual == 0:
        return both_empty_score(empty)
    if predicted == 0 or actual == 0:
        return MISSED_SCORE
    return hits / denominator
