"""Peer equality with MONAI's losses on random inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

monai_losses = pytest.importorskip("monai.losses")

from boundaryloss.losses import (  # noqa: E402
    BoundaryLoss,
    DiceLoss,
    FocalLoss,
    GeneralizedDiceLoss,
    HausdorffDTLoss,
)

from .reference import random_case  # noqa: E402

SHAPES = [(2, 3, 12, 13), (2, 3, 6, 7, 8)]
IDS = ["2d", "3d"]


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_boundary_loss(shape):
    logits, label = random_case(shape, seed=1)
    peer = monai_losses.BoundaryLoss(softmax=True, to_onehot_y=True)
    ours = BoundaryLoss(convention="official")
    torch.testing.assert_close(ours(logits, label), peer(logits, label))
    peer_none = monai_losses.BoundaryLoss(softmax=True, to_onehot_y=True, reduction="none")
    ours_none = BoundaryLoss(convention="official", reduction="none")
    torch.testing.assert_close(ours_none(logits, label) * 3, peer_none(logits, label))


def test_boundary_loss_without_background():
    logits, label = random_case((2, 3, 12, 13), seed=2)
    peer = monai_losses.BoundaryLoss(softmax=True, to_onehot_y=True, include_background=False)
    ours = BoundaryLoss(convention="official", include_background=False)
    torch.testing.assert_close(ours(logits, label), peer(logits, label))


@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_dice_loss(shape, include_background):
    logits, label = random_case(shape, seed=3)
    options = {"include_background": include_background, "smooth_nr": 1e-5, "smooth_dr": 1e-5}
    peer = monai_losses.DiceLoss(softmax=True, to_onehot_y=True, **options)
    ours = DiceLoss(**options)
    torch.testing.assert_close(ours(logits, label), peer(logits, label[:, None]))


@pytest.mark.parametrize("include_background", [True, False])
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_generalized_dice_loss(shape, include_background):
    logits, label = random_case(shape, seed=4)
    label[0][label[0] == 2] = 0  # an absent class exercises the infinite-weight rule
    options = {"include_background": include_background, "smooth_nr": 1e-5, "smooth_dr": 1e-5}
    peer = monai_losses.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, **options)
    ours = GeneralizedDiceLoss(**options)
    torch.testing.assert_close(ours(logits, label), peer(logits, label[:, None]))
    peer_none = monai_losses.GeneralizedDiceLoss(
        softmax=True, to_onehot_y=True, reduction="none", **options
    )(logits, label[:, None])
    ours_none = GeneralizedDiceLoss(reduction="none", **options)(logits, label)
    torch.testing.assert_close(ours_none.sum(1), peer_none.flatten())


@pytest.mark.parametrize("alpha", [None, 0.25, (0.2, 0.3, 0.5)])
@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_focal_loss_softmax(shape, alpha):
    logits, label = random_case(shape, seed=5)
    peer_alpha = torch.tensor(alpha) if isinstance(alpha, tuple) else alpha
    peer = monai_losses.FocalLoss(use_softmax=True, gamma=2.0, alpha=peer_alpha, to_onehot_y=True)
    ours = FocalLoss(gamma=2.0, alpha=alpha)
    # MONAI's "mean" also averages over the C channels; ours sums the per-class terms.
    torch.testing.assert_close(ours(logits, label), peer(logits, label[:, None]) * 3)


@pytest.mark.parametrize("alpha", [None, 0.25])
def test_focal_loss_sigmoid(alpha):
    logits, label = random_case((2, 3, 12, 13), seed=6)
    target = F.one_hot(label, 3).movedim(-1, 1).float()
    peer = monai_losses.FocalLoss(gamma=2.0, alpha=alpha, reduction="none")(logits, target)
    ours = FocalLoss(gamma=2.0, alpha=alpha, activation="sigmoid", reduction="none")
    torch.testing.assert_close(ours(logits, label), peer.flatten(2).mean(2))


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_hausdorff_matches_monai_target_field(shape):
    # MONAI's loss is two-sided (it adds the prediction's distance field); the one-sided
    # loss uses only the target field, which must be MONAI's field of the target.
    logits, label = random_case(shape, seed=7)
    target = F.one_hot(label, 3).movedim(-1, 1).float()
    peer = monai_losses.HausdorffDTLoss(include_background=True)
    field = torch.cat([peer.distance_field(target[:, [k]]) for k in range(3)], dim=1)
    ours_with_field = HausdorffDTLoss(reduction="none")(logits, label, dist_map=field)
    torch.testing.assert_close(HausdorffDTLoss(reduction="none")(logits, label), ours_with_field)
