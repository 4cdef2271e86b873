"""Boundary loss against hand-computed values and a scipy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.losses import BoundaryLoss, boundary_loss

from ..maps.reference import REFERENCES
from .reference import batched_map, random_case, softmax, spatial_mean


def test_hand_computed_row():
    # One row of 4 pixels, class 1 on the right half. Class-1 maps (distance in pixels):
    #   "rw":       outside edt(~G) = [2, 1], inside -edt(G) = [-1, -2]
    #   "official": outside [2, 1], inside -(edt(G) - 1) = [0, -1]
    probs1 = torch.tensor([0.1, 0.2, 0.7, 0.9], dtype=torch.float64)
    probs = torch.stack([1 - probs1, probs1]).reshape(1, 2, 1, 4)
    label = torch.tensor([[[0, 0, 1, 1]]])
    rw = boundary_loss(probs, label, activation=None, classes=[1], convention="rw")
    official = boundary_loss(probs, label, activation=None, classes=[1], convention="official")
    assert rw.item() == pytest.approx((0.2 + 0.2 - 0.7 - 1.8) / 4)
    assert official.item() == pytest.approx((0.2 + 0.2 + 0.0 - 0.9) / 4)


@pytest.mark.parametrize("convention", ["paper", "official", "rw"])
@pytest.mark.parametrize("shape", [(2, 3, 10, 11), (1, 3, 6, 7, 8)], ids=["2d", "3d"])
def test_matches_scipy_reference(convention, shape):
    logits, label = random_case(shape, seed=1, dtype=torch.float64)
    phi = batched_map(REFERENCES[convention], label.numpy(), 3)
    expected = spatial_mean(softmax(logits.numpy()) * phi) / 3
    got = boundary_loss(logits, label, reduction="none", convention=convention)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_spacing_is_used():
    logits, label = random_case((2, 2, 9, 10), seed=2, dtype=torch.float64)
    spacing = (2.0, 0.5)
    phi = batched_map(REFERENCES["rw"], label.numpy(), 2, spacing)
    expected = spatial_mean(softmax(logits.numpy()) * phi) / 2
    got = BoundaryLoss(reduction="none", convention="rw", spacing=spacing)(logits, label)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_negative_for_good_prediction():
    label = torch.zeros(1, 12, 12, dtype=torch.long)
    label[:, 3:9, 4:10] = 1
    logits = torch.nn.functional.one_hot(label, 2).movedim(-1, 1).float() * 20
    assert BoundaryLoss(include_background=False)(logits, label) < 0
    assert BoundaryLoss(include_background=False)(-logits, label) > 0


def test_given_map_full_or_selected_channels():
    logits, label = random_case((2, 3, 8, 8), seed=4)
    phi = torch.randn(2, 3, 8, 8)
    loss = BoundaryLoss(classes=[2, 1], reduction="none")
    full = loss(logits, label, dist_map=phi)
    torch.testing.assert_close(loss(logits, label, dist_map=phi[:, [2, 1]]), full)
    expected = (torch.softmax(logits, 1) * phi)[:, [2, 1]].flatten(2).mean(2) / 2
    torch.testing.assert_close(full, expected)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_given_map_with_a_non_finite_value_is_refused(bad):
    logits, label = random_case((2, 3, 8, 8), seed=4)
    phi = torch.randn(2, 3, 8, 8)
    phi[1, 2, 3, 4] = bad
    with pytest.raises(ValueError, match="dist_map contains NaN or inf"):
        BoundaryLoss()(logits, label, dist_map=phi)


def test_given_map_whose_sum_overflows_is_finite():
    from boundaryloss.losses._inputs import prepare_inputs, prepare_map

    logits, label = random_case((2, 3, 8, 8), seed=4)
    inputs = prepare_inputs(
        logits, label, activation="softmax", include_background=True, classes=None
    )
    huge = torch.full((2, 3, 8, 8), torch.finfo(torch.float32).max)
    assert torch.equal(prepare_map(huge, "dist_map", inputs), huge)


def test_absent_class_contributes_zero():
    logits = torch.randn(1, 3, 8, 8)
    label = torch.zeros(1, 8, 8, dtype=torch.long)
    label[:, 2:5, 2:5] = 1
    assert BoundaryLoss(reduction="none")(logits, label)[0, 2] == 0
