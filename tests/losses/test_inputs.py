"""Bad input raises ValueError naming the argument; never an assert."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from boundaryloss.losses import (
    BoundaryLoss,
    CrossEntropyLoss,
    DiceLoss,
    FocalLoss,
    GeneralizedDiceLoss,
    HausdorffDTLoss,
    RegionWiseLoss,
    RRWCrossEntropyLoss,
)

from .cases import MODULES

LOGITS = torch.randn(2, 3, 8, 8)
LABEL = torch.randint(0, 3, (2, 8, 8))


def with_nan() -> torch.Tensor:
    logits = LOGITS.clone()
    logits[0, 1, 2, 3] = float("nan")
    return logits


def with_inf() -> torch.Tensor:
    logits = LOGITS.clone()
    logits[1, 0, 0, 0] = float("inf")
    return logits


def two_hot() -> torch.Tensor:
    target = F.one_hot(LABEL, 3).movedim(-1, 1)
    target[:, 0] = 1
    return target


FORWARD_CASES = {
    "target_shape": (lambda: (LOGITS, torch.zeros(2, 9, 8, dtype=torch.long)), "target"),
    "target_batch": (lambda: (LOGITS, torch.zeros(3, 8, 8, dtype=torch.long)), "target"),
    "one_hot_classes": (lambda: (LOGITS, torch.zeros(2, 4, 8, 8)), "target"),
    "label_too_big": (lambda: (LOGITS, LABEL + 1), r"target labels must lie in \[0, 3\)"),
    "label_negative": (lambda: (LOGITS, LABEL - 1), r"target labels must lie in \[0, 3\)"),
    "label_fraction": (lambda: (LOGITS, LABEL.float() + 0.5), "target.*non-integral"),
    "label_nan": (lambda: (LOGITS, LABEL.float().fill_(float("nan"))), "target.*NaN"),
    "one_hot_values": (lambda: (LOGITS, torch.full((2, 3, 8, 8), 2.0)), "target.*only 0 and 1"),
    "one_hot_two_ones": (lambda: (LOGITS, two_hot()), "target.*exactly one 1"),
    "target_type": (lambda: (LOGITS, LABEL.numpy()), "target must be a torch.Tensor"),
    "logits_nan": (lambda: (with_nan(), LABEL), "logits contains NaN"),
    "logits_inf": (lambda: (with_inf(), LABEL), "logits contains NaN or inf"),
    "logits_ndim": (lambda: (LOGITS[:, :, 0], LABEL[:, 0]), "logits must be"),
    "logits_int": (lambda: (LOGITS.long(), LABEL), "logits must be floating point"),
    "logits_type": (lambda: (LOGITS.numpy(), LABEL), "logits must be a torch.Tensor"),
    "softmax_one_channel": (lambda: (LOGITS[:, :1], LABEL.clamp(max=1)), "activation='softmax'"),
}


@pytest.mark.parametrize("case", sorted(FORWARD_CASES))
@pytest.mark.parametrize("name", sorted(MODULES))
def test_forward_rejects(name, case):
    make, match = FORWARD_CASES[case]
    logits, target = make()
    with pytest.raises(ValueError, match=match):
        MODULES[name]()(logits, target)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_probabilities_outside_unit_interval(name):
    with pytest.raises(ValueError, match=r"logits must hold probabilities in \[0, 1\]"):
        MODULES[name](activation=None)(LOGITS, LABEL)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_classes_out_of_range(name):
    with pytest.raises(ValueError, match=r"classes=.*out of range"):
        MODULES[name](classes=[1, 3])(LOGITS, LABEL)


CONSTRUCTOR_CASES = {
    "reduction": ({"reduction": "avg"}, "reduction must be one of"),
    "activation": ({"activation": "relu"}, "activation must be one of"),
    "duplicate_classes": ({"classes": [1, 1]}, "classes must not contain duplicates"),
    "negative_classes": ({"classes": [-1]}, "classes must be non-negative"),
    "empty_classes": ({"classes": []}, "classes must not be empty"),
    "int_classes": ({"classes": 1}, "classes must be a sequence"),
    "background_conflict": (
        {"classes": [0, 1], "include_background": False},
        "classes=.*background class 0.*include_background=False",
    ),
}


@pytest.mark.parametrize("case", sorted(CONSTRUCTOR_CASES))
@pytest.mark.parametrize("name", sorted(MODULES))
def test_constructor_rejects(name, case):
    options, match = CONSTRUCTOR_CASES[case]
    with pytest.raises(ValueError, match=match):
        MODULES[name](**options)


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: BoundaryLoss(convention="kervadec"), "convention must be one of"),
        (lambda: BoundaryLoss(spacing=(1.0, -1.0)), "spacing must be positive"),
        (lambda: BoundaryLoss(spacing=0.0), "spacing must be positive"),
        (lambda: RegionWiseLoss(map="dist"), "map must be one of"),
        (lambda: RegionWiseLoss(spacing=(1.0, float("nan"))), "spacing must be positive"),
        (lambda: HausdorffDTLoss(alpha=-1.0), "alpha must be finite and non-negative"),
        (lambda: RRWCrossEntropyLoss(spacing=(0.0, 1.0)), "spacing must be positive"),
        (lambda: DiceLoss(smooth_nr=-1.0), "smooth_nr must be finite and non-negative"),
        (lambda: GeneralizedDiceLoss(smooth_dr=float("inf")), "smooth_dr must be finite"),
        (lambda: FocalLoss(gamma=-2.0), "gamma must be finite and non-negative"),
        (lambda: FocalLoss(alpha=1.5), r"alpha must lie in \[0, 1\]"),
        (lambda: FocalLoss(alpha=(0.5, -0.1)), "alpha must be non-empty, finite and non-neg"),
        (lambda: CrossEntropyLoss(class_weights=(1.0, -1.0)), "class_weights must be non-empty"),
        (lambda: CrossEntropyLoss(class_weights="abc"), "class_weights must be a sequence"),
    ],
)
def test_option_checks(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: BoundaryLoss()(LOGITS, LABEL, dist_map=torch.zeros(2, 2, 8, 8)),
            r"dist_map must have shape \(2, 3, 8, 8\).*got \(2, 2, 8, 8\)",
        ),
        (
            lambda: BoundaryLoss()(LOGITS, LABEL, dist_map=torch.zeros(2, 3, 8, 7)),
            "dist_map must have shape",
        ),
        (
            lambda: BoundaryLoss()(LOGITS, LABEL, dist_map=torch.full((2, 3, 8, 8), torch.nan)),
            "dist_map contains NaN",
        ),
        (
            lambda: HausdorffDTLoss()(LOGITS, LABEL, dist_map=-torch.ones(2, 3, 8, 8)),
            "dist_map must be non-negative",
        ),
        (
            lambda: RegionWiseLoss()(LOGITS, LABEL, rw_map=torch.zeros(1, 3, 8, 8)),
            "rw_map must have shape",
        ),
        (
            lambda: RRWCrossEntropyLoss()(LOGITS, LABEL, rw_map=torch.zeros(2, 3, 8)),
            "rw_map must have shape",
        ),
        (
            lambda: BoundaryLoss(spacing=(1.0, 1.0, 1.0))(LOGITS, LABEL),
            r"spacing must have one value per spatial axis \(2\)",
        ),
        (
            lambda: HausdorffDTLoss(spacing=(1.0, 2.0, 1.0))(LOGITS, LABEL),
            "spacing must have one value per spatial axis",
        ),
        (
            lambda: CrossEntropyLoss(class_weights=(1.0, 2.0))(LOGITS, LABEL),
            r"class_weights must have one value per logit channel \(3\), got 2",
        ),
        (
            lambda: FocalLoss(alpha=(1.0, 2.0, 3.0, 4.0))(LOGITS, LABEL),
            r"alpha must have one value per logit channel \(3\), got 4",
        ),
    ],
)
def test_forward_argument_checks(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_single_channel_labels_must_be_binary():
    with pytest.raises(ValueError, match=r"target labels must lie in \[0, 2\)"):
        DiceLoss(activation="sigmoid")(LOGITS[:, :1], LABEL.clamp(max=1) * 2)


def test_numpy_integer_classes_are_accepted():
    chosen = CrossEntropyLoss(classes=[np.int64(2)], reduction="none")(LOGITS, LABEL)
    expected = CrossEntropyLoss(classes=[2], reduction="none")(LOGITS, LABEL)
    torch.testing.assert_close(chosen, expected)
