"""The scheduled per-scale loss and its deep-supervision sum."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("nnunetv2", reason="nnunetv2 is not installed (boundaryloss[nnunet])")

from boundaryloss.losses import (
    BoundaryLoss,
    GeneralizedDiceLoss,
    RegionWiseLoss,
    RRWCrossEntropyLoss,
)
from boundaryloss.maps import MapSpec, signed_distance_map
from boundaryloss.nnunet.loss import DeepSupervisionMapLoss, ScheduledMapLoss
from boundaryloss.schedules import Constant, Rebalance


def _scale(shape, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn((2, 3, *shape), generator=gen)
    target = torch.randint(0, 3, (2, 1, *shape), generator=gen).to(torch.int16)
    maps = signed_distance_map(target[:, 0].long(), 3, batch=True)
    return logits, target, maps


def test_weighted_sum_at_one_scale():
    logits, target, maps = _scale((6, 6, 6), 0)
    gdl, boundary = GeneralizedDiceLoss(), BoundaryLoss(include_background=False)
    loss = ScheduledMapLoss([gdl, boundary], Constant([0.7, 0.3]))
    expected = 0.7 * gdl(logits, target) + 0.3 * boundary(logits, target, dist_map=maps)
    torch.testing.assert_close(loss(logits, target, maps), expected)


def test_schedule_drives_the_weights():
    logits, target, maps = _scale((5, 5, 5), 1)
    gdl, boundary = GeneralizedDiceLoss(), BoundaryLoss(include_background=False)
    schedule = Rebalance(step=0.25)
    loss = ScheduledMapLoss([gdl, boundary], schedule)
    torch.testing.assert_close(loss(logits, target, maps), gdl(logits, target))
    schedule.num_steps = 2
    expected = 0.5 * gdl(logits, target) + 0.5 * boundary(logits, target, dist_map=maps)
    torch.testing.assert_close(loss(logits, target, maps), expected)


def test_deep_supervision_sum_skips_zero_weights():
    scales = [_scale((8, 8, 8), 2), _scale((4, 4, 4), 3), _scale((2, 2, 2), 4)]
    boundary = BoundaryLoss(include_background=False)
    per_scale = ScheduledMapLoss([boundary], Constant([1.0]))
    loss = DeepSupervisionMapLoss(per_scale, [4 / 6, 2 / 6, 0.0])
    outputs = [s[0].requires_grad_() for s in scales]
    target = [s[1] for s in scales] + [s[2] for s in scales]
    value = loss(outputs, target)
    used = zip([4 / 6, 2 / 6], scales[:2], strict=True)
    expected = sum(w * boundary(s[0], s[1], dist_map=s[2]) for w, s in used)
    torch.testing.assert_close(value, expected)
    value.backward()
    assert outputs[2].grad is None  # weight 0: not evaluated, as nnU-Net's wrapper


def test_mismatched_lengths():
    per_scale = ScheduledMapLoss([BoundaryLoss()], Constant([1.0]))
    loss = DeepSupervisionMapLoss(per_scale, [1.0])
    logits, target, maps = _scale((4, 4, 4), 5)
    with pytest.raises(ValueError, match="2 outputs and 2 targets for 1 deep-supervision"):
        loss([logits, logits], [target, target, maps, maps])
    with pytest.raises(ValueError, match="they must match"):
        ScheduledMapLoss([BoundaryLoss()], Constant([1.0, 0.5]))
    with pytest.raises(ValueError, match="the terms declare different maps"):
        ScheduledMapLoss([BoundaryLoss(), RegionWiseLoss()], Constant([1.0, 0.5]))


def test_map_arguments_come_from_the_losses():
    loss = ScheduledMapLoss([GeneralizedDiceLoss(), BoundaryLoss()], Constant([1.0, 0.5]))
    assert loss.map_arguments == (None, "dist_map")
    assert loss.map_spec == MapSpec("signed", "paper", "dist_map")
    rw = ScheduledMapLoss([RRWCrossEntropyLoss()], Constant([1.0]))
    assert rw.map_spec == MapSpec("rrw") and rw.map_arguments == ("rw_map",)
    # terms reading different channels of one map share it, with the union of the channels
    both = ScheduledMapLoss(
        [BoundaryLoss(classes=[2]), BoundaryLoss(classes=[1])], Constant([1.0, 0.5])
    )
    assert both.map_spec == MapSpec("signed", include_background=False, classes=[1, 2])
