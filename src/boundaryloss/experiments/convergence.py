"""Convergence across seeds (region-wise paper, sec. 4.3) and training stability.

Definition used here: a run has *converged* at the first epoch whose validation Dice
(mean over foreground classes, as logged during training) reaches ``fraction`` of the
best validation Dice that run ever reached. A run whose best Dice is 0 (it never
segmented anything) never converges. The CDF at epoch ``e`` is the share of a loss's
runs (seeds) converged by ``e``; runs that never converge keep it below 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np


def validation_rows(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The epochs of a history that were validated."""
    return [row for row in history if row.get("val_dice_mean") is not None]


def convergence_epoch(history: Sequence[dict[str, Any]], fraction: float) -> int | None:
    """First epoch with ``val_dice_mean >= fraction * best``, or None (never / best 0)."""
    rows = validation_rows(history)
    scores = [float(row["val_dice_mean"]) for row in rows]
    finite = [s for s in scores if not math.isnan(s)]
    if not finite or max(finite) <= 0:
        return None
    threshold = fraction * max(finite)
    for row, score in zip(rows, scores, strict=True):
        if score >= threshold:
            return int(row["epoch"])
    return None  # pragma: no cover - the best epoch always qualifies


def convergence_cdf(
    epochs: Sequence[int | None], total_epochs: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(epoch grid 0..total, share of runs converged by each epoch)``."""
    grid = np.arange(0, total_epochs + 1)
    n = max(len(epochs), 1)
    done = np.array([e for e in epochs if e is not None], dtype=np.int64)
    share = np.array([(done <= e).sum() / n for e in grid], dtype=np.float64)
    return grid, share


def last_epoch_scores(history: Sequence[dict[str, Any]], last: int) -> list[float]:
    """Validation Dice of the last ``last`` validated epochs (training stability)."""
    rows = validation_rows(history)[-last:]
    return [float(row["val_dice_mean"]) for row in rows]


def mean_curve(
    histories: Sequence[Sequence[dict[str, Any]]], key: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(epochs, mean, min, max)`` of ``key`` over runs, on the epochs all runs logged."""
    per_run = [
        {int(row["epoch"]): float(row[key]) for row in h if row.get(key) is not None}
        for h in histories
    ]
    epochs = sorted(set.intersection(*(set(d) for d in per_run))) if per_run else []
    values = np.array([[d[e] for e in epochs] for d in per_run], dtype=np.float64)
    if not epochs:
        empty = np.array([])
        return empty, empty, empty, empty
    return np.array(epochs), values.mean(0), values.min(0), values.max(0)


def hd95_keys(history: Sequence[dict[str, Any]]) -> list[str]:
    """The ``val_hd95/<class>`` keys of a history."""
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k.startswith("val_hd95/") and k not in keys]
    return keys


def with_mean_hd95(history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """History rows with ``val_hd95_mean``: the mean over classes (misses = diagonal)."""
    keys = hd95_keys(history)
    out = []
    for row in history:
        values = [row[k] for k in keys if row.get(k) is not None]
        out.append({**row, "val_hd95_mean": float(np.mean(values)) if values else None})
    return out
