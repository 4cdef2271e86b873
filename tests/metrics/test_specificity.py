"""Specificity and accuracy inside a field of view: hand-computed values, the confusion
counts written out, empty rules, and the evaluator's region of interest."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boundaryloss.evaluation.pixel_level import confusion_counts, pixel_scores
from boundaryloss.metrics import SegmentationEvaluator, accuracy, dice, specificity


def test_hand_computed_with_and_without_fov():
    pred = np.array([[1, 1, 0, 0], [0, 1, 1, 0]])
    ref = np.array([[1, 0, 0, 0], [0, 1, 0, 1]])
    # Whole image: TP 2, FP 2, FN 1, TN 3.
    assert specificity(pred, ref) == {1: pytest.approx(3 / 5)}
    assert accuracy(pred, ref) == {1: pytest.approx(5 / 8)}
    fov = np.array([[1, 1, 1, 0], [1, 1, 0, 0]])
    # Inside the FOV (5 pixels): TP 2, FP 1, FN 0, TN 2.
    assert specificity(pred, ref, mask=fov) == {1: pytest.approx(2 / 3)}
    assert accuracy(pred, ref, mask=fov.astype(bool)) == {1: pytest.approx(4 / 5)}
    assert specificity(torch.from_numpy(pred), torch.from_numpy(ref), mask=fov) == {
        1: pytest.approx(2 / 3)
    }


@pytest.mark.parametrize("seed", range(4))
def test_matches_confusion_counts_3d_multiclass(seed):
    rng = np.random.default_rng(seed)
    shape = (6, 7, 5)
    pred, ref = rng.integers(0, 3, shape), rng.integers(0, 3, shape)
    fov = rng.random(shape) < 0.7
    spec = specificity(pred, ref, mask=fov, num_classes=3)
    acc = accuracy(pred, ref, mask=fov, num_classes=3)
    for cls in (1, 2):
        p, r = (pred == cls)[fov], (ref == cls)[fov]
        tn, fp = np.sum(~p & ~r), np.sum(p & ~r)
        assert spec[cls] == pytest.approx(tn / (tn + fp))
        assert acc[cls] == pytest.approx(np.mean(p == r))


def test_empty_rules():
    zero = np.zeros((3, 4), int)
    one = np.ones((3, 4), int)
    # A class missing from the prediction: specificity is computed (1: no false positive).
    assert specificity(zero, np.eye(3, 4, dtype=int)) == {1: 1.0}
    # No negative voxel in prediction and reference: nothing to count.
    assert specificity(one, one) == {1: 1.0}
    assert math.isnan(specificity(one, one, empty="nan")[1])
    # Negatives only in the prediction: a miss of the negatives.
    assert specificity(zero, one) == {1: 0.0}
    empty_fov = np.zeros((3, 4), bool)
    assert math.isnan(accuracy(one, zero, mask=empty_fov)[1])
    with pytest.raises(ValueError, match="spatial shape"):
        specificity(one, one, mask=np.ones((4, 3)))
    with pytest.raises(ValueError, match="binary"):
        specificity(one, one, mask=np.full((3, 4), 2))


def test_evaluator_region_of_interest():
    rng = np.random.default_rng(0)
    pred, ref = rng.random((12, 14)) < 0.3, rng.random((12, 14)) < 0.3
    fov = np.zeros((12, 14), bool)
    fov[2:10, 3:12] = True
    ev = SegmentationEvaluator(metrics=("dice", "specificity", "accuracy", "hd95"))
    ev.update("a", pred.astype(int), ref.astype(int), mask=fov)
    row = ev.rows()[0]
    assert row["dice"] == pytest.approx(dice(pred & fov, ref & fov)[1])
    assert row["specificity"] == pytest.approx(specificity(pred, ref, mask=fov)[1])
    assert row["accuracy"] == pytest.approx(accuracy(pred, ref, mask=fov)[1])
    assert row["pred_voxels"] == np.count_nonzero(pred & fov)
    # A miss inside the FOV: Dice 0, specificity still computed.
    ev.update("b", np.zeros((12, 14), int), ref.astype(int), mask=fov)
    assert ev.rows()[1]["dice"] == 0.0 and ev.rows()[1]["specificity"] == 1.0


@pytest.mark.parametrize("seed", range(3))
def test_per_image_agrees_with_pixel_level_counts(seed):
    rng = np.random.default_rng(seed)
    pred, ref = rng.integers(0, 2, (9, 11)), rng.integers(0, 2, (9, 11))
    fov = rng.random((9, 11)) < 0.6
    pooled = pixel_scores(confusion_counts(pred, ref, 1, fov))
    assert specificity(pred, ref, mask=fov)[1] == pytest.approx(pooled["specificity"])
    assert accuracy(pred, ref, mask=fov)[1] == pytest.approx(pooled["accuracy"])
