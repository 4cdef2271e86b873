"""Cross-entropy against torch and the RRW-weighted variant against a numpy formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from boundaryloss.losses import CrossEntropyLoss, RRWCrossEntropyLoss, cross_entropy_loss

from .reference import one_hot, random_case, rrw_maps, sigmoid, softmax, spatial_mean


@pytest.mark.parametrize("shape", [(2, 3, 9, 10), (2, 4, 5, 6, 7)], ids=["2d", "3d"])
def test_equals_torch_cross_entropy(shape):
    logits, label = random_case(shape, seed=1)
    torch.testing.assert_close(CrossEntropyLoss()(logits, label), F.cross_entropy(logits, label))
    none = CrossEntropyLoss(reduction="none")(logits, label)
    per_sample = F.cross_entropy(logits, label, reduction="none").flatten(1).mean(1)
    torch.testing.assert_close(none.sum(1), per_sample)


def test_class_weights_equal_torch_unnormalised_mean():
    logits, label = random_case((2, 3, 9, 9), seed=2)
    weights = [0.2, 1.0, 3.0]
    got = CrossEntropyLoss(class_weights=weights)(logits, label)
    expected = F.cross_entropy(logits, label, weight=torch.tensor(weights), reduction="none")
    torch.testing.assert_close(got, expected.mean())


def test_hand_computed():
    probs1 = np.array([0.25, 0.5, 0.8, 0.9])
    probs = torch.tensor(np.stack([1 - probs1, probs1]).reshape(1, 2, 2, 2))
    label = torch.tensor([0, 1, 1, 0]).reshape(1, 2, 2)
    got = cross_entropy_loss(probs, label, activation=None, reduction="none")
    expected = [-(np.log(0.75) + np.log(0.1)) / 4, -(np.log(0.5) + np.log(0.8)) / 4]
    np.testing.assert_allclose(got.numpy()[0], expected)


def test_sigmoid_is_per_channel_binary_cross_entropy():
    logits, label = random_case((2, 3, 8, 8), seed=3)
    target = F.one_hot(label, 3).movedim(-1, 1).float()
    got = CrossEntropyLoss(activation="sigmoid", reduction="none")(logits, label)
    expected = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    torch.testing.assert_close(got, expected.flatten(2).mean(2))
    torch.testing.assert_close(
        CrossEntropyLoss(activation="sigmoid")(logits, label),
        F.binary_cross_entropy_with_logits(logits, target) * 3,
    )


@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
@pytest.mark.parametrize("shape", [(2, 3, 10, 9), (1, 3, 6, 7, 8)], ids=["2d", "3d"])
def test_rrw_cross_entropy_matches_reference(shape, activation):
    logits, label = random_case(shape, seed=4, dtype=torch.float64)
    weights = np.abs(rrw_maps(label.numpy(), 3))
    truth = one_hot(label.numpy(), 3)
    if activation == "softmax":
        terms = -truth * weights * np.log(softmax(logits.numpy()))
    else:
        p = sigmoid(logits.numpy())
        terms = -weights * (truth * np.log(p) + (1 - truth) * np.log(1 - p))
    got = RRWCrossEntropyLoss(activation=activation, reduction="none")(logits, label)
    np.testing.assert_allclose(got.numpy(), spatial_mean(terms), rtol=1e-7)


def test_rrw_cross_entropy_with_unit_map_is_cross_entropy():
    logits, label = random_case((2, 3, 8, 8), seed=5)
    ones = -torch.ones(2, 3, 8, 8)
    torch.testing.assert_close(
        RRWCrossEntropyLoss()(logits, label, rw_map=ones), CrossEntropyLoss()(logits, label)
    )
