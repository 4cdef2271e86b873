"""Focal loss against a numpy formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.losses import CrossEntropyLoss, FocalLoss

from .reference import one_hot, random_case, sigmoid, softmax, spatial_mean


def reference_softmax_focal(logits, label, gamma, alpha):
    p, g = softmax(logits), one_hot(label, logits.shape[1])
    terms = -((1 - p) ** gamma) * g * np.log(p)
    if alpha is not None:
        factors = (
            np.array([1 - alpha] + [alpha] * (logits.shape[1] - 1))
            if np.isscalar(alpha)
            else np.asarray(alpha)
        )
        terms = terms * factors.reshape(1, -1, *([1] * (logits.ndim - 2)))
    return spatial_mean(terms)


def reference_sigmoid_focal(logits, label, gamma, alpha):
    p, g = sigmoid(logits), one_hot(label, logits.shape[1])
    pt = g * p + (1 - g) * (1 - p)
    terms = -((1 - pt) ** gamma) * np.log(pt)
    if alpha is not None:
        terms = terms * (g * alpha + (1 - g) * (1 - alpha))
    return spatial_mean(terms)


@pytest.mark.parametrize("alpha", [None, 0.25, (0.1, 0.3, 0.6)])
@pytest.mark.parametrize("gamma", [0.0, 2.0, 3.5])
@pytest.mark.parametrize("shape", [(2, 3, 9, 10), (1, 3, 5, 6, 7)], ids=["2d", "3d"])
def test_softmax_matches_reference(shape, gamma, alpha):
    logits, label = random_case(shape, seed=1, dtype=torch.float64)
    expected = reference_softmax_focal(logits.numpy(), label.numpy(), gamma, alpha)
    got = FocalLoss(gamma=gamma, alpha=alpha, reduction="none")(logits, label)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-7)


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_sigmoid_matches_reference(alpha):
    logits, label = random_case((2, 3, 9, 10), seed=2, dtype=torch.float64)
    expected = reference_sigmoid_focal(logits.numpy(), label.numpy(), 2.0, alpha)
    got = FocalLoss(alpha=alpha, activation="sigmoid", reduction="none")(logits, label)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-7)


def test_hand_computed():
    # True class probabilities 0.5 and 0.9: terms (0.5)^2 * -log 0.5 and (0.1)^2 * -log 0.9.
    probs = torch.tensor([[0.5, 0.1], [0.5, 0.9]], dtype=torch.float64).reshape(1, 2, 1, 2)
    label = torch.tensor([[[0, 1]]])
    got = FocalLoss(activation=None, reduction="none")(probs, label)
    expected = [0.25 * -np.log(0.5) / 2, 0.01 * -np.log(0.9) / 2]
    np.testing.assert_allclose(got.numpy()[0], expected)


def test_gamma_zero_is_cross_entropy():
    logits, label = random_case((2, 3, 8, 8), seed=3)
    for activation in ("softmax", "sigmoid"):
        torch.testing.assert_close(
            FocalLoss(gamma=0.0, activation=activation)(logits, label),
            CrossEntropyLoss(activation=activation)(logits, label),
        )
