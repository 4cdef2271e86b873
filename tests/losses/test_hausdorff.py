"""One-sided Hausdorff loss against a formula with scipy distance maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.losses import HausdorffDTLoss, hausdorff_dt_loss

from .reference import one_hot, random_case, softmax, spatial_mean, unsigned_rw_maps


@pytest.mark.parametrize("alpha", [1.0, 2.0])
@pytest.mark.parametrize("shape", [(2, 3, 10, 11), (1, 3, 6, 7, 8)], ids=["2d", "3d"])
def test_matches_formula(shape, alpha):
    logits, label = random_case(shape, seed=1, dtype=torch.float64)
    probs, truth = softmax(logits.numpy()), one_hot(label.numpy(), 3)
    distance = unsigned_rw_maps(label.numpy(), 3)
    expected = spatial_mean((probs - truth) ** 2 * distance**alpha) / 3
    got = HausdorffDTLoss(alpha=alpha, reduction="none")(logits, label)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-7)
    given = hausdorff_dt_loss(logits, label, torch.tensor(distance), alpha=alpha, reduction="none")
    torch.testing.assert_close(given, got)


def test_hand_computed_row():
    # Row [0, 0, 1, 1]: class-1 unsigned map edt(G) + edt(~G) = [2, 1, 1, 2].
    probs1 = np.array([0.1, 0.5, 0.5, 1.0])
    probs = torch.tensor(np.stack([1 - probs1, probs1]).reshape(1, 2, 1, 4))
    label = torch.tensor([[[0, 0, 1, 1]]])
    got = hausdorff_dt_loss(probs, label, activation=None, classes=[1])
    assert got.item() == pytest.approx((0.01 * 4 + 0.25 * 1 + 0.25 * 1 + 0) / 4)


def test_spacing_is_used():
    logits, label = random_case((1, 2, 9, 10), seed=2, dtype=torch.float64)
    spacing = (0.6, 2.0)
    probs, truth = softmax(logits.numpy()), one_hot(label.numpy(), 2)
    distance = unsigned_rw_maps(label.numpy(), 2, spacing)
    expected = spatial_mean((probs - truth) ** 2 * distance**2) / 2
    got = HausdorffDTLoss(reduction="none", spacing=spacing)(logits, label)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-7)


def test_perfect_prediction_is_zero():
    label = torch.zeros(1, 10, 10, dtype=torch.long)
    label[:, 2:6, 3:8] = 1
    probs = torch.nn.functional.one_hot(label, 2).movedim(-1, 1).double()
    assert hausdorff_dt_loss(probs, label, activation=None).item() == 0
