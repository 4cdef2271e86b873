"""Every loss, every reduction, 2D and 3D, every target form."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from .cases import FUNCTIONS, MEAN_OVER_CLASSES, MODULES, SUM_OVER_CLASSES
from .reference import random_case

SPATIAL = [(8, 9), (5, 6, 7)]


def target_forms(label: torch.Tensor, num_classes: int) -> dict[str, torch.Tensor]:
    one_hot = F.one_hot(label, num_classes).movedim(-1, 1)
    return {
        "labels": label,
        "labels_channel": label[:, None],
        "labels_float": label.float(),
        "labels_uint8": label.to(torch.uint8),
        "one_hot_float": one_hot.float(),
        "one_hot_bool": one_hot.bool(),
        "one_hot_int": one_hot.int(),
    }


@pytest.mark.parametrize("spatial", SPATIAL, ids=["2d", "3d"])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_reductions_and_target_forms(name, spatial):
    logits, label = random_case((2, 3, *spatial), seed=len(spatial))
    none = MODULES[name](reduction="none")(logits, label)
    assert none.shape == (2, 3)
    assert torch.isfinite(none).all()
    for form, target in target_forms(label, 3).items():
        torch.testing.assert_close(
            MODULES[name](reduction="none")(logits, target), none, msg=f"target form {form}"
        )
    mean = MODULES[name](reduction="mean")(logits, label)
    total = MODULES[name](reduction="sum")(logits, label)
    assert mean.shape == () and total.shape == ()
    torch.testing.assert_close(mean, none.sum(1).mean())
    torch.testing.assert_close(total, none.sum())
    torch.testing.assert_close(FUNCTIONS[name](logits, label), mean)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_class_selection_shapes_and_values(name):
    logits, label = random_case((2, 4, 9, 9), seed=3)
    full = MODULES[name](reduction="none")(logits, label)
    no_background = MODULES[name](reduction="none", include_background=False)(logits, label)
    chosen = MODULES[name](reduction="none", classes=[3, 1])(logits, label)
    assert no_background.shape == (2, 3)
    assert chosen.shape == (2, 2)
    if name in SUM_OVER_CLASSES:
        torch.testing.assert_close(no_background, full[:, 1:])
        torch.testing.assert_close(chosen, full[:, [3, 1]])
    elif name in MEAN_OVER_CLASSES:
        torch.testing.assert_close(no_background * 3, full[:, 1:] * 4)
        torch.testing.assert_close(chosen * 2, full[:, [3, 1]] * 4)
    same = MODULES[name](reduction="none", include_background=False, classes=[1, 2, 3])
    torch.testing.assert_close(same(logits, label), no_background)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_probabilities_without_activation_match_logits(name):
    logits, label = random_case((2, 3, 8, 8), seed=5, dtype=torch.float64)
    expected = MODULES[name](reduction="none")(logits, label)
    probs = torch.softmax(logits, dim=1)
    got = MODULES[name](reduction="none", activation=None)(probs, label)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("spatial", SPATIAL, ids=["2d", "3d"])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_single_sigmoid_channel(name, spatial):
    logits, label = random_case((2, 2, *spatial), seed=7)
    logits = logits[:, :1]
    loss = MODULES[name](reduction="none", activation="sigmoid")
    value = loss(logits, label)
    assert value.shape == (2, 1)
    assert torch.isfinite(value).all()
    torch.testing.assert_close(loss(logits, label[:, None].float()), value)
    # include_background=False is ignored for a single channel (it is the foreground).
    torch.testing.assert_close(
        MODULES[name](reduction="none", activation="sigmoid", include_background=False)(
            logits, label
        ),
        value,
    )


@pytest.mark.parametrize("name", sorted(MODULES))
def test_multi_label_sigmoid(name):
    logits, _ = random_case((2, 3, 8, 8), seed=11)
    masks = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5
    value = MODULES[name](reduction="none", activation="sigmoid")(logits, masks)
    assert value.shape == (2, 3)
    assert torch.isfinite(value).all()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_differentiable(name):
    logits, label = random_case((2, 3, 8, 8), seed=13)
    logits.requires_grad_(True)
    MODULES[name]()(logits, label).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0
