"""Pixel-level scores pooled over a dataset, counted inside each image's field of view.

Retinal vessel papers report two aggregates: the mean of per-image scores (what
:class:`~boundaryloss.metrics.SegmentationEvaluator` summarises) and scores of the
confusion counts summed over every image's field-of-view pixels ("pixel-level"). This
module gives the second; both follow the package's empty-mask rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..metrics._empty import MISSED_SCORE, both_empty_score

#: Scores of :func:`pixel_scores`, in order.
PIXEL_SCORES = ("dice", "precision", "recall", "specificity", "accuracy")


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
        """Pixels counted: the field of view (or the whole image without one)."""
        return self.tp + self.fp + self.fn + self.tn


def confusion_counts(
    pred: np.ndarray, ref: np.ndarray, cls: int, fov: np.ndarray | None = None
) -> ConfusionCounts:
    """Counts of class ``cls`` in a label map against the reference, inside ``fov``.

    Args:
        pred, ref: integer class indices ``(*spatial)``, same shape.
        cls: the class counted as positive; every other class is negative.
        fov: bool ``(*spatial)``; pixels outside are not counted. None counts all.

    Raises:
        ValueError: shapes differ.
    """
    if pred.shape != ref.shape or (fov is not None and fov.shape != ref.shape):
        shapes = [pred.shape, ref.shape, *([] if fov is None else [fov.shape])]
        raise ValueError(f"prediction, reference and field of view shapes differ: {shapes}")
    inside = np.ones(ref.shape, dtype=bool) if fov is None else np.asarray(fov, dtype=bool)
    p, r = (pred == cls) & inside, (ref == cls) & inside
    tp = int(np.count_nonzero(p & r))
    fp = int(np.count_nonzero(p)) - tp
    fn = int(np.count_nonzero(r)) - tp
    tn = int(np.count_nonzero(inside)) - tp - fp - fn
    return ConfusionCounts(tp, fp, fn, tn)


def _score(hits: int, denominator: int, predicted: int, actual: int, empty: str) -> float:
    """``hits / denominator`` under the empty-mask rule of :mod:`boundaryloss.metrics`:
    absent from both prediction and reference -> ``both_empty_score(empty)``, from only
    one -> 0."""
    if predicted == 0 and actual == 0:
        return both_empty_score(empty)
    if predicted == 0 or actual == 0:
        return MISSED_SCORE
    return hits / denominator


def pixel_scores(counts: ConfusionCounts, empty: str = "perfect") -> dict[str, float]:
    """Dice, precision, recall (sensitivity), specificity and accuracy of summed counts.

    Convention:
        ``dice = 2 TP / (2 TP + FP + FN)``, ``precision = TP / (TP + FP)``,
        ``recall = TP / (TP + FN)``, ``specificity = TN / (TN + FP)``,
        ``accuracy = (TP + TN) / (TP + FP + FN + TN)``. The empty-mask rule of
        :mod:`boundaryloss.metrics` applies to the positives (Dice, precision, recall)
        and, for specificity, to the negatives: absent from both prediction and
        reference -> 1 (``empty="perfect"``) or NaN (``empty="nan"``), absent from only
        one -> 0. Accuracy of zero pixels is NaN.
    """
    tp, fp, fn, tn = counts.tp, counts.fp, counts.fn, counts.tn
    positives = (tp + fp, tp + fn)  # predicted, reference
    negatives = (tn + fn, tn + fp)
    scores = {
        "dice": _score(2 * tp, 2 * tp + fp + fn, *positives, empty),
        "precision": _score(tp, tp + fp, *positives, empty),
        "recall": _score(tp, tp + fn, *positives, empty),
        "specificity": _score(tn, tn + fp, *negatives, empty),
    }
    scores["accuracy"] = (tp + tn) / counts.total if counts.total else math.nan
    return scores


class PixelLevel:
    """Confusion counts summed over cases, per class; :meth:`summary` scores them."""

    def __init__(self, classes: Iterable[int], empty: str = "perfect") -> None:
        self.classes = tuple(classes)
        self.empty = empty
        self.counts = {cls: ConfusionCounts() for cls in self.classes}

    def update(
        self, pred: np.ndarray, ref: np.ndarray, fov: np.ndarray | None = None
    ) -> dict[int, ConfusionCounts]:
        """Add one case; return its counts per class."""
        case = {cls: confusion_counts(pred, ref, cls, fov) for cls in self.classes}
        for cls, counts in case.items():
            self.counts[cls] = self.counts[cls] + counts
        return case

    def summary(self) -> dict[int, dict[str, float | int]]:
        """``{class: {"tp", "fp", "fn", "tn", *PIXEL_SCORES}}`` over every case added."""
        return {
            cls: {
                "tp": c.tp,
                "fp": c.fp,
                "fn": c.fn,
                "tn": c.tn,
                **pixel_scores(c, self.empty),
            }
            for cls, c in self.counts.items()
        }
