"""Pixel-level scores pooled over a dataset, counted inside each image's field of view.

Retinal vessel papers report two aggregates: the mean of per-image scores (what
:class:`~boundaryloss.metrics.SegmentationEvaluator` summarises) and scores of the
confusion counts summed over every image's field-of-view pixels ("pixel-level"). This
module gives the second; both follow the package's empty-mask rule. Given the cases'
probabilities too, it adds the area under the precision-recall curve of the pooled
pixels (``aupr``, :class:`~boundaryloss.metrics.AveragePrecision`), the IDRiD
challenge's ranking metric for lesion segmentation.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..metrics import AveragePrecision
from ..metrics._counts import ConfusionCounts, count_masks, count_score

#: Scores of :func:`pixel_scores`, in order.
PIXEL_SCORES = ("dice", "precision", "recall", "specificity", "accuracy")


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
    return count_masks(p, r, int(np.count_nonzero(inside)))


def pixel_scores(counts: ConfusionCounts, empty: str = "perfect") -> dict[str, float]:
    """Dice, precision, recall (sensitivity), specificity and accuracy of summed counts.

    Convention:
        The formulas and the empty-mask rule of the per-image metrics
        (:func:`~boundaryloss.metrics._counts.count_score`): absent from both prediction
        and reference -> 1 (``empty="perfect"``) or NaN, from only one -> 0 (for
        specificity: the negatives); accuracy of zero pixels is NaN.
    """
    return {name: count_score(name, counts, empty) for name in PIXEL_SCORES}


class PixelLevel:
    """Confusion counts summed over cases, per class; :meth:`summary` scores them.

    Cases added with their probabilities also pool their pixels' scores for the average
    precision (``aupr`` in the summary); it ranks every case's pixels together, so either
    every case comes with probabilities or none does.
    """

    def __init__(self, classes: Iterable[int], empty: str = "perfect") -> None:
        self.classes = tuple(classes)
        self.empty = empty
        self.counts = {cls: ConfusionCounts() for cls in self.classes}
        self.num_cases = 0
        self.ranking: AveragePrecision | None = None

    def update(
        self,
        pred: np.ndarray,
        ref: np.ndarray,
        fov: np.ndarray | None = None,
        probabilities: np.ndarray | None = None,
    ) -> dict[int, ConfusionCounts]:
        """Add one case; return its counts per class.

        Args:
            pred, ref, fov: as :func:`confusion_counts`.
            probabilities: ``(C, *spatial)`` scores per class (channel ``c`` scores class
                ``c``); their pixels inside ``fov`` join the pooled average precision.

        Raises:
            ValueError: shapes differ, or this case has probabilities and earlier ones
                had none (or the reverse); the
                :meth:`~boundaryloss.metrics.AveragePrecision.update` checks.
        """
        if self.num_cases and (probabilities is None) != (self.ranking is None):
            given = "has no probabilities" if probabilities is None else "has probabilities"
            raise ValueError(
                f"this case {given} and the earlier ones do not: the average precision "
                "pools every case's pixels, so every case needs probabilities or none does"
            )
        case = {cls: confusion_counts(pred, ref, cls, fov) for cls in self.classes}
        if probabilities is not None:
            if self.ranking is None:
                self.ranking = AveragePrecision(0 in self.classes, self.classes)
            self.ranking.update(probabilities, ref, fov)
        for cls, counts in case.items():
            self.counts[cls] = self.counts[cls] + counts
        self.num_cases += 1
        return case

    def merge(self, other: PixelLevel) -> None:
        """Add the counts of ``other`` (cases counted elsewhere, the same classes).

        Raises:
            ValueError: ``other`` counts other classes.
        """
        if other.classes != self.classes:
            raise ValueError(f"cannot merge counts of classes {other.classes} into {self.classes}")
        if self.num_cases and other.num_cases and (other.ranking is None) != (self.ranking is None):
            raise ValueError(
                "cannot merge cases with probabilities and cases without: the average "
                "precision pools every case's pixels"
            )
        for cls, counts in other.counts.items():
            self.counts[cls] = self.counts[cls] + counts
        if other.ranking is not None:
            if self.ranking is None:
                self.ranking = AveragePrecision(0 in self.classes, self.classes)
            self.ranking.merge(other.ranking)
        self.num_cases += other.num_cases

    def summary(self) -> dict[int, dict[str, float | int]]:
        """``{class: {"tp", "fp", "fn", "tn", *PIXEL_SCORES}}`` over every case added, and
        ``"aupr"`` when the cases came with probabilities (NaN for a class no reference
        pixel holds)."""
        aupr = {} if self.ranking is None else self.ranking.compute()
        return {
            cls: {
                "tp": c.tp,
                "fp": c.fp,
                "fn": c.fn,
                "tn": c.tn,
                **pixel_scores(c, self.empty),
                **({"aupr": aupr[cls]} if cls in aupr else {}),
            }
            for cls, c in self.counts.items()
        }
