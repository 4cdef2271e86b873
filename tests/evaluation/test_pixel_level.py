"""Pixel-level (pooled) confusion counts and scores, against MONAI and the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boundaryloss.evaluation.pixel_level import (
    ConfusionCounts,
    PixelLevel,
    confusion_counts,
    pixel_scores,
)


def _case(seed: int, shape=(13, 17)):
    rng = np.random.default_rng(seed)
    ref = (rng.random(shape) < 0.2).astype(np.int64)
    pred = np.where(rng.random(shape) < 0.15, 1 - ref, ref)
    fov = rng.random(shape) < 0.7
    return pred, ref, fov


def test_counts_written_out():
    pred = np.array([[1, 1, 0, 0], [2, 0, 1, 0]])
    ref = np.array([[1, 0, 1, 0], [2, 2, 1, 1]])
    fov = np.array([[1, 1, 1, 1], [1, 1, 1, 0]], bool)
    # class 1 inside the FOV: TP (0,0) (1,2); FP (0,1); FN (0,2); (1,3) is outside.
    assert confusion_counts(pred, ref, 1, fov) == ConfusionCounts(tp=2, fp=1, fn=1, tn=3)
    assert confusion_counts(pred, ref, 1) == ConfusionCounts(tp=2, fp=1, fn=2, tn=3)
    assert confusion_counts(pred, ref, 2, fov).total == 7


def test_pooled_scores_match_monai_on_the_fov_pixels():
    from monai.metrics import get_confusion_matrix

    cases = [_case(seed) for seed in range(4)]
    pooled = PixelLevel([1])
    for pred, ref, fov in cases:
        pooled.update(pred, ref, fov)
    # MONAI on one long "image" made of every case's FOV pixels: its counts are the pooled
    # counts, with true negatives inside the FOVs only.
    pred_all = np.concatenate([pred[fov] for pred, _, fov in cases])
    ref_all = np.concatenate([ref[fov] for _, ref, fov in cases])
    as_tensor = lambda a: torch.from_numpy(a == 1).float()[None, None]  # noqa: E731
    tp, fp, tn, fn = get_confusion_matrix(as_tensor(pred_all), as_tensor(ref_all))[0, 0].tolist()
    summary = pooled.summary()[1]
    assert (summary["tp"], summary["fp"], summary["tn"], summary["fn"]) == (tp, fp, tn, fn)
    assert summary["dice"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert summary["precision"] == pytest.approx(tp / (tp + fp))
    assert summary["recall"] == pytest.approx(tp / (tp + fn))
    assert summary["specificity"] == pytest.approx(tn / (tn + fp))
    assert summary["accuracy"] == pytest.approx((tp + tn) / (tp + fp + tn + fn))


def test_pooled_differs_from_the_mean_of_images():
    # One big well-segmented vessel tree and one tiny missed vessel: the mean of per-image
    # Dice is pulled down by the miss, the pooled Dice hardly.
    big = ConfusionCounts(tp=90, fp=10, fn=10, tn=890)
    tiny = ConfusionCounts(tp=0, fp=0, fn=2, tn=998)
    per_image = (pixel_scores(big)["dice"] + pixel_scores(tiny)["dice"]) / 2
    assert per_image == pytest.approx(0.45)
    assert pixel_scores(big + tiny)["dice"] == pytest.approx(180 / 202)


def test_empty_mask_rule():
    nothing = ConfusionCounts(tn=50)
    assert pixel_scores(nothing)["dice"] == 1.0 and pixel_scores(nothing)["recall"] == 1.0
    assert math.isnan(pixel_scores(nothing, empty="nan")["precision"])
    missed = ConfusionCounts(fn=5, tn=45)
    assert pixel_scores(missed)["dice"] == 0.0 and pixel_scores(missed)["precision"] == 0.0
    everything = ConfusionCounts(tp=10)
    assert pixel_scores(everything)["specificity"] == 1.0
    assert math.isnan(pixel_scores(ConfusionCounts())["accuracy"])


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shapes differ"):
        confusion_counts(np.zeros((2, 2)), np.zeros((2, 3)), 1)


def _probabilities(ref: np.ndarray, seed: int) -> np.ndarray:
    """Noisy two-class probabilities that favour ``ref`` (float32, ``(2, *spatial)``)."""
    rng = np.random.default_rng(seed)
    foreground = np.clip(0.3 * ref + rng.random(ref.shape) * 0.7, 0, 1).astype(np.float32)
    return np.stack([1 - foreground, foreground])


def test_aupr_pools_the_fov_pixels_of_every_case_as_sklearn():
    from sklearn.metrics import average_precision_score

    pooled = PixelLevel([1])
    scores, targets = [], []
    for seed in range(3):
        pred, ref, fov = _case(seed)
        probabilities = _probabilities(ref, seed)
        pooled.update(pred, ref, fov, probabilities)
        scores.append(probabilities[1][fov])
        targets.append(ref[fov] == 1)
    expected = average_precision_score(np.concatenate(targets), np.concatenate(scores))
    assert pooled.summary()[1]["aupr"] == pytest.approx(expected, rel=1e-12)
    # Without probabilities the summary has no AUPR (label maps cannot be ranked).
    assert "aupr" not in PixelLevel([1]).summary()[1]


def test_aupr_needs_probabilities_for_every_case_or_none():
    pred, ref, fov = _case(0)
    with_scores = PixelLevel([1])
    with_scores.update(pred, ref, fov, _probabilities(ref, 0))
    with pytest.raises(ValueError, match="every case needs probabilities or none"):
        with_scores.update(pred, ref, fov)
    without = PixelLevel([1])
    without.update(pred, ref, fov)
    with pytest.raises(ValueError, match="every case needs probabilities or none"):
        without.update(pred, ref, fov, _probabilities(ref, 0))
    # The refused case left the counts as they were.
    assert without.summary()[1]["tp"] == confusion_counts(pred, ref, 1, fov).tp
