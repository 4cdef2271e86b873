"""Region-wise loss: reference values and the paper's stability principle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.losses import RegionWiseLoss, region_wise_loss

from .reference import (
    one_hot,
    random_case,
    rrw_maps,
    rw_signed_maps,
    softmax,
    spatial_mean,
)

REFERENCE_MAPS = {
    "rrw": rrw_maps,
    "boundary": rw_signed_maps,
    "ac": lambda label, c, spacing=None: 1.0 - one_hot(label, c),
}


def test_hand_computed_rrw_row():
    # Row [0, 0, 1, 1, 1]: class 1 depths (distance to a pixel outside) are [1, 2, 3], so its
    # RRW map is [1, 1, -1/3, -2/3, -1]; class 0 depths [2, 1] -> [-1, -1/2, 1, 1, 1].
    probs1 = np.array([0.1, 0.2, 0.6, 0.8, 0.9])
    probs = torch.tensor(np.stack([1 - probs1, probs1]).reshape(1, 2, 1, 5))
    label = torch.tensor([[[0, 0, 1, 1, 1]]])
    w1 = np.array([1, 1, -1 / 3, -2 / 3, -1])
    w0 = np.array([-1, -1 / 2, 1, 1, 1])
    expected = [np.mean((1 - probs1) * w0) / 2, np.mean(probs1 * w1) / 2]
    got = region_wise_loss(probs, label, activation=None, reduction="none")
    np.testing.assert_allclose(got.numpy()[0], expected)


@pytest.mark.parametrize("kind", ["rrw", "boundary", "ac"])
@pytest.mark.parametrize("shape", [(2, 3, 10, 11), (1, 3, 6, 7, 8)], ids=["2d", "3d"])
def test_matches_reference(kind, shape):
    logits, label = random_case(shape, seed=1, dtype=torch.float64)
    weights = REFERENCE_MAPS[kind](label.numpy(), 3)
    expected = spatial_mean(softmax(logits.numpy()) * weights) / 3
    got = RegionWiseLoss(map=kind, reduction="none")(logits, label)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-7)
    given = RegionWiseLoss(map="ac", reduction="none")(logits, label, rw_map=torch.tensor(weights))
    torch.testing.assert_close(given, got)


def test_rrw_spacing_is_used():
    logits, label = random_case((1, 3, 10, 9), seed=6, dtype=torch.float64)
    spacing = (1.5, 0.7)
    weights = rrw_maps(label.numpy(), 3, spacing)
    expected = spatial_mean(softmax(logits.numpy()) * weights) / 3
    got = RegionWiseLoss(reduction="none", spacing=spacing)(logits, label)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-7)


def logit_gradient(logits, label, kind):
    logits = logits.clone().requires_grad_(True)
    RegionWiseLoss(map=kind, reduction="sum")(logits, label).backward()
    return logits.grad


@pytest.mark.parametrize("num_classes", [3, 4])
@pytest.mark.parametrize("seed", range(3))
def test_rrw_gradient_has_one_negative_component_per_pixel(num_classes, seed):
    logits, label = random_case((2, num_classes, 16, 16), seed=seed, dtype=torch.float64)
    grad = logit_gradient(logits * 3, label, "rrw")
    negative = grad < 0
    assert (negative.sum(1) == 1).all()
    true_class = torch.nn.functional.one_hot(label, num_classes).movedim(-1, 1).bool()
    assert torch.equal(negative, true_class)


def test_signed_maps_break_the_stability_principle():
    # Column stripes 0 | 1 | 2: at a class-0 pixel next to class 1 and far from class 2, a
    # confident wrong prediction of class 2 makes sum_k p_k W_k exceed W_1, so class 1's
    # gradient component p_1 (W_1 - sum_k p_k W_k) is negative as well as class 0's.
    label = torch.zeros(1, 12, 12, dtype=torch.long)
    label[..., 4:8] = 1
    label[..., 8:] = 2
    logits = torch.zeros(1, 3, 12, 12, dtype=torch.float64)
    logits[:, 2] = 4.0
    grad = logit_gradient(logits, label, "boundary")
    assert ((grad < 0).sum(1) > 1).any()
    # The same inputs with RRW maps keep exactly one negative component.
    assert ((logit_gradient(logits, label, "rrw") < 0).sum(1) == 1).all()


def test_signed_maps_random_inputs_have_several_negative_components():
    logits, label = random_case((2, 4, 16, 16), seed=9, dtype=torch.float64)
    grad = logit_gradient(logits * 3, label, "boundary")
    assert ((grad < 0).sum(1) > 1).any()
