"""Dice and generalized Dice losses against numpy formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.losses import DiceLoss, GeneralizedDiceLoss, dice_loss, generalized_dice_loss

from .reference import one_hot, random_case, softmax, spatial_sum


def reference_dice(probs, truth, snr=1e-5, sdr=1e-5, squared=False):
    inter = spatial_sum(probs * truth)
    if squared:
        denom = spatial_sum(probs**2) + spatial_sum(truth**2)
    else:
        denom = spatial_sum(probs) + spatial_sum(truth)
    return 1 - (2 * inter + snr) / (denom + sdr)


def reference_gdl(probs, truth, snr=1e-5, sdr=1e-5):
    volume = spatial_sum(truth)
    out = []
    for b in range(len(volume)):
        present = volume[b] > 0
        w = np.zeros_like(volume[b])
        w[present] = 1.0 / volume[b][present] ** 2
        w[~present] = w[present].max() if present.any() else 0.0
        inter = (w * spatial_sum(probs * truth)[b]).sum()
        denom = (w * (spatial_sum(probs)[b] + spatial_sum(truth)[b])).sum()
        out.append(1 - (2 * inter + snr) / (denom + sdr))
    return np.array(out)


def test_dice_hand_computed():
    # p = [0.8, 0.6, 0.1, 0.3], g = [1, 1, 0, 0]: I = 1.4, sum p + sum g = 1.8 + 2 = 3.8.
    probs1 = torch.tensor([0.8, 0.6, 0.1, 0.3], dtype=torch.float64)
    probs = torch.stack([1 - probs1, probs1]).reshape(1, 2, 2, 2)
    label = torch.tensor([1, 1, 0, 0]).reshape(1, 2, 2)
    got = dice_loss(probs, label, activation=None, classes=[1], smooth_nr=0, smooth_dr=0)
    assert got.item() == pytest.approx(1 - 2 * 1.4 / 3.8)


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 9, 10), (2, 3, 5, 6, 7)], ids=["2d", "3d"])
def test_dice_matches_reference(shape, squared):
    logits, label = random_case(shape, seed=2, dtype=torch.float64)
    probs, truth = softmax(logits.numpy()), one_hot(label.numpy(), 3)
    expected = reference_dice(probs, truth, squared=squared) / 3
    got = DiceLoss(reduction="none", squared_pred=squared)(logits, label)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-7)


def test_gdl_hand_computed_two_classes():
    # Class 0: g = [1, 1, 1, 0] (w = 1/9), class 1: g = [0, 0, 0, 1] (w = 1).
    probs1 = np.array([0.1, 0.2, 0.3, 0.6])
    probs = torch.tensor(np.stack([1 - probs1, probs1]).reshape(1, 2, 2, 2))
    label = torch.tensor([0, 0, 0, 1]).reshape(1, 2, 2)
    inter = (0.9 + 0.8 + 0.7) / 9 + 0.6
    denom = (2.8 + 3) / 9 + (1.2 + 1)  # sum p_0 = 0.9 + 0.8 + 0.7 + 0.4
    got = generalized_dice_loss(probs, label, activation=None, smooth_nr=0, smooth_dr=0)
    assert got.item() == pytest.approx(1 - 2 * inter / denom)


@pytest.mark.parametrize("shape", [(2, 3, 9, 10), (2, 3, 5, 6, 7)], ids=["2d", "3d"])
def test_gdl_matches_reference_and_decomposition_sums(shape):
    logits, label = random_case(shape, seed=3, dtype=torch.float64)
    probs, truth = softmax(logits.numpy()), one_hot(label.numpy(), 3)
    none = GeneralizedDiceLoss(reduction="none", smooth_nr=1e-3, smooth_dr=2e-3)(logits, label)
    expected = reference_gdl(probs, truth, 1e-3, 2e-3)
    np.testing.assert_allclose(none.sum(1).numpy(), expected, rtol=1e-7)


def test_gdl_absent_class_takes_largest_finite_weight():
    logits, label = random_case((2, 3, 8, 8), seed=4, dtype=torch.float64)
    label[0][label[0] == 2] = 0  # class 2 absent from sample 0
    probs, truth = softmax(logits.numpy()), one_hot(label.numpy(), 3)
    got = GeneralizedDiceLoss(reduction="none")(logits, label).sum(1)
    np.testing.assert_allclose(got.numpy(), reference_gdl(probs, truth), rtol=1e-7)


def test_gdl_all_absent_is_zero():
    logits = torch.randn(2, 3, 6, 6)
    label = torch.zeros(2, 6, 6, dtype=torch.long)
    loss = GeneralizedDiceLoss(include_background=False, reduction="none")(logits, label)
    assert torch.all(loss == 0)
