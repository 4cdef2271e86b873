"""How a run's probabilities spread between 0 and 1, from its score histograms.

The AUPR ranks every pixel by its probability. Two losses with the same Dice at the
label map (p = 0.5 for two classes) can rank very differently: one that pushes nearly
every probability to 0 or 1 leaves few pixels undecided, and the lesion pixels it gives
p < 0.01 sit among nearly all of the background, where no threshold reaches them
without a flood of false positives. These shares show that, per class, pooled over a
run's validation images (inside the field of view), from ``score_histograms.csv``
(:func:`~boundaryloss.metrics.precision_recall.histogram_share`: thresholds taken to the
bin edge at or above them, 0.01 as 164 / 16384).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..metrics.precision_recall import histogram_share
from .results import Evaluation

#: The shares per run: key, header, pixels counted (``all`` or the class's reference
#: pixels, ``lesion``), and the probability interval ``[low, high)``.
SPREAD_SCORES = (
    ("undecided", "pixels with 0.01 ≤ p < 0.99", "all", 0.01, 0.99),
    ("lesion_below", "lesion pixels with p < 0.01", "lesion", 0.0, 0.01),
    ("lesion_above_half", "lesion pixels with p ≥ 0.5", "lesion", 0.5, 1.0),
)


def run_spread(evaluation: Evaluation, classes: Sequence[int]) -> dict[int, dict[str, float]]:
    """The shares of :data:`SPREAD_SCORES` (0-1) of one run's evaluation, per class:
    NaN where the evaluation has no histograms (no probabilities, or an evaluation from
    before them) or counted no pixel of that kind."""
    histograms = evaluation.histograms or {}
    out: dict[int, dict[str, float]] = {}
    for cls in classes:
        rows = [counts for (_, c), counts in histograms.items() if c == cls]
        if not rows:
            out[cls] = {key: math.nan for key, *_ in SPREAD_SCORES}
            continue
        pooled = np.sum(rows, axis=0)  # (2, bins): positives, negatives
        counted = {"all": pooled.sum(axis=0), "lesion": pooled[0]}
        out[cls] = {
            key: float(histogram_share(counted[pixels], low, high))
            for key, _, pixels, low, high in SPREAD_SCORES
        }
    return out
