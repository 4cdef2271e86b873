"""Dice, Jaccard, precision, recall: hand-computed values, MONAI/medpy Dice, empty masks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boundaryloss.metrics import dice, jaccard, precision, recall

from .reference import ball, medpy_dice, monai_dice, random_pair

METRICS = {"dice": dice, "jaccard": jaccard, "precision": precision, "recall": recall}


def test_hand_computed_2d():
    pred = np.array([[1, 1, 1, 0], [0, 0, 0, 0]])
    ref = np.array([[0, 1, 1, 1], [0, 0, 0, 1]])
    # TP = 2, |P| = 3, |R| = 4, |P ∪ R| = 5
    assert dice(pred, ref) == {1: pytest.approx(4 / 7)}
    assert jaccard(pred, ref) == {1: pytest.approx(2 / 5)}
    assert precision(pred, ref) == {1: pytest.approx(2 / 3)}
    assert recall(pred, ref) == {1: pytest.approx(2 / 4)}


def test_hand_computed_3d_multiclass_and_one_hot():
    pred = np.zeros((3, 4, 5), dtype=np.int64)
    ref = np.zeros((3, 4, 5), dtype=np.int64)
    pred[0, :2, :2] = 1  # 4 voxels
    ref[0, :2, :1] = 1  # 2 voxels, both inside
    pred[2, 3, 4] = 2
    ref[2, 3, 3] = 2
    result = dice(pred, ref, num_classes=3)
    assert result == {1: pytest.approx(2 * 2 / 6), 2: 0.0}
    one_hot = dice(
        torch.nn.functional.one_hot(torch.from_numpy(pred), 3).movedim(-1, 0),
        torch.nn.functional.one_hot(torch.from_numpy(ref), 3).movedim(-1, 0),
        one_hot=True,
    )
    assert one_hot == result
    assert set(dice(pred, ref, num_classes=3, include_background=True)) == {0, 1, 2}


@pytest.mark.parametrize("seed", range(4))
def test_dice_matches_monai_and_medpy(seed):
    rng = np.random.default_rng(seed)
    pred, ref = random_pair(rng, (7, 9, 5) if seed % 2 else (11, 13))
    ours = dice(pred, ref)[1]
    assert ours == pytest.approx(medpy_dice(pred, ref), rel=1e-12)
    assert ours == pytest.approx(monai_dice(pred, ref), rel=1e-6)


def test_spheres_dice_matches_medpy():
    a = ball((40, 40, 40), (20, 20, 20), 12)
    b = ball((40, 40, 40), (22, 19, 20), 11)
    assert dice(a, b)[1] == pytest.approx(medpy_dice(a, b), rel=1e-12)
    assert jaccard(a, b)[1] == pytest.approx(np.sum(a & b) / np.sum(a | b), rel=1e-12)


def _masks(which):
    pred = np.zeros((5, 6), dtype=int)
    ref = np.zeros((5, 6), dtype=int)
    if which in ("pred", "neither"):
        ref[1:3, 1:3] = 1
    if which in ("ref", "neither"):
        pred[2:4, 1:3] = 1
    return pred, ref


@pytest.mark.parametrize("name", list(METRICS))
@pytest.mark.parametrize("empty_side", ["pred", "ref"])
@pytest.mark.parametrize("empty", ["perfect", "nan"])
def test_one_empty_mask_scores_zero(name, empty_side, empty):
    pred, ref = _masks(empty_side)
    assert METRICS[name](pred, ref, empty=empty) == {1: 0.0}


@pytest.mark.parametrize("name", list(METRICS))
def test_both_empty(name):
    pred, ref = _masks("both")
    assert METRICS[name](pred, ref) == {1: 1.0}
    assert math.isnan(METRICS[name](pred, ref, empty="nan")[1])


@pytest.mark.parametrize("name", list(METRICS))
def test_bad_arguments(name):
    pred, ref = _masks("neither")
    with pytest.raises(ValueError, match="empty"):
        METRICS[name](pred, ref, empty="one")
    with pytest.raises(ValueError, match="same shape"):
        METRICS[name](pred, ref[:, :5])
    with pytest.raises(ValueError, match="pred values"):
        METRICS[name](pred * 3, ref)
    with pytest.raises(ValueError, match="classes"):
        METRICS[name](pred, ref, classes=[0])
    with pytest.raises(ValueError, match="num_classes"):
        METRICS[name](np.stack([pred, ref]), np.stack([ref, pred]), one_hot=True, num_classes=3)
