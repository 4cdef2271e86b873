"""CompoundLoss: weighted sums, map routing, logging and resumable schedule state."""

from __future__ import annotations

import pytest
import torch

from boundaryloss.losses import (
    BoundaryLoss,
    CompoundLoss,
    CrossEntropyLoss,
    GeneralizedDiceLoss,
    HausdorffDTLoss,
    RegionWiseLoss,
    RRWCrossEntropyLoss,
)
from boundaryloss.losses import compound as compound_module
from boundaryloss.losses._inputs import validate_inputs
from boundaryloss.maps import MapSpec, rrw_map, signed_distance_map
from boundaryloss.schedules import LinearRamp, Rebalance, StealWeight

from .reference import random_case


def paper_loss(**schedule_options) -> CompoundLoss:
    return CompoundLoss(
        {
            "regional": GeneralizedDiceLoss(),
            "boundary": BoundaryLoss(include_background=False),
        },
        Rebalance(**schedule_options),
    )


def test_rebalance_value_by_hand():
    logits, label = random_case((2, 3, 10, 10), seed=1)
    loss = paper_loss()
    regional = GeneralizedDiceLoss()(logits, label)
    boundary = BoundaryLoss(include_background=False)(logits, label)
    for _ in range(3):
        loss.step()
    alpha = 1.0 - 3 * 0.01
    torch.testing.assert_close(loss(logits, label), alpha * regional + (1 - alpha) * boundary)
    assert loss.weights == pytest.approx({"regional": alpha, "boundary": 1 - alpha})
    assert loss.last_values == pytest.approx(
        {"regional": regional.item(), "boundary": boundary.item()}
    )


def test_state_dict_round_trip_restores_schedule_position():
    logits, label = random_case((2, 3, 10, 10), seed=2)
    trained = paper_loss(step=0.1)
    for _ in range(4):
        trained.step()
    state = trained.state_dict()
    resumed = paper_loss(step=0.1)
    resumed.load_state_dict(state)
    assert resumed.weights == trained.weights
    torch.testing.assert_close(resumed(logits, label), trained(logits, label))
    trained.step()
    resumed.step()
    assert resumed.weights == trained.weights
    uninterrupted = paper_loss(step=0.1)
    for _ in range(5):
        uninterrupted.step()
    assert uninterrupted.weights == resumed.weights


def test_maps_are_routed_by_argument_name():
    logits, label = random_case((2, 3, 8, 8), seed=3)
    dist_map = torch.randn(2, 3, 8, 8)
    rw_map = torch.randn(2, 3, 8, 8)
    loss = CompoundLoss([CrossEntropyLoss(), BoundaryLoss(), RegionWiseLoss()], [0.5, 2.0, 3.0])
    expected = (
        0.5 * CrossEntropyLoss()(logits, label)
        + 2.0 * BoundaryLoss()(logits, label, dist_map=dist_map)
        + 3.0 * RegionWiseLoss()(logits, label, rw_map=rw_map)
    )
    torch.testing.assert_close(loss(logits, label, dist_map=dist_map, rw_map=rw_map), expected)
    assert list(loss.weights) == ["CrossEntropyLoss", "BoundaryLoss", "RegionWiseLoss"]


def test_default_weights_and_duplicate_names():
    logits, label = random_case((2, 3, 8, 8), seed=4)
    loss = CompoundLoss([CrossEntropyLoss(), CrossEntropyLoss(classes=[1])])
    assert loss.weights == {"CrossEntropyLoss_0": 1.0, "CrossEntropyLoss_1": 1.0}
    expected = CrossEntropyLoss()(logits, label) + CrossEntropyLoss(classes=[1])(logits, label)
    torch.testing.assert_close(loss(logits, label), expected)


def test_steal_weight_and_ramp_schedules_drive_weights():
    loss = CompoundLoss([GeneralizedDiceLoss(), BoundaryLoss()], StealWeight(step=0.5))
    loss.step()
    assert tuple(loss.weights.values()) == pytest.approx((0.5, 0.51))
    ramp = CompoundLoss([GeneralizedDiceLoss(), HausdorffDTLoss()], LinearRamp([1, 0], [0, 1], 2))
    ramp.step()
    assert tuple(ramp.weights.values()) == pytest.approx((0.5, 0.5))


def test_none_reduction_and_gradients():
    logits, label = random_case((2, 3, 8, 8), seed=5)
    logits.requires_grad_(True)
    loss = CompoundLoss(
        [GeneralizedDiceLoss(reduction="none"), BoundaryLoss(reduction="none")], [1.0, 0.5]
    )
    value = loss(logits, label)
    assert value.shape == (2, 3)
    assert loss.last_values["GeneralizedDiceLoss"] == pytest.approx(
        GeneralizedDiceLoss()(logits, label).item()
    )
    value.sum().backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: CompoundLoss([CrossEntropyLoss()], [1.0, 2.0]), "schedule has 2 weights"),
        (lambda: CompoundLoss([CrossEntropyLoss()], Rebalance()), "schedule has 2 weights"),
        (lambda: CompoundLoss([]), "at least one"),
        (lambda: CompoundLoss([CrossEntropyLoss(), "dice"]), "must be an nn.Module"),
        (
            lambda: CompoundLoss([CrossEntropyLoss(), BoundaryLoss(reduction="sum")]),
            "one reduction",
        ),
        (lambda: CompoundLoss([CrossEntropyLoss()], [float("nan")]), "weights"),
    ],
)
def test_invalid_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_map_keyword():
    logits, label = random_case((1, 3, 8, 8), seed=6)
    with pytest.raises(ValueError, match="maps accepts only"):
        CompoundLoss([BoundaryLoss()])(logits, label, distance=torch.zeros(1, 3, 8, 8))


def test_load_state_of_another_schedule_type():
    steal = CompoundLoss([GeneralizedDiceLoss(), BoundaryLoss()], StealWeight())
    with pytest.raises(ValueError, match="StealWeight"):
        paper_loss().load_state_dict(steal.state_dict())


def test_none_reduction_with_different_class_selections():
    logits, label = random_case((2, 3, 8, 8), seed=7)
    loss = CompoundLoss(
        [CrossEntropyLoss(reduction="none"), BoundaryLoss(reduction="none", classes=[1])]
    )
    with pytest.raises(ValueError, match="every term must select the same classes"):
        loss(logits, label)


def test_terms_sharing_one_rrw_map_are_accepted():
    """Bug: RegionWiseLoss(map="rrw") said convention "rw", RRWCrossEntropyLoss "paper";
    the RRW map has no convention, yet the two specs differed and the pair was refused
    with "need different maps (rrw vs rrw)"."""
    loss = CompoundLoss({"rw": RegionWiseLoss(map="rrw"), "ce": RRWCrossEntropyLoss()})
    assert loss.map_requirements() == [MapSpec("rrw")]
    logits, label = random_case((2, 3, 8, 8), seed=4)
    rw_map = rrw_map(label, 3, batch=True)
    expected = RegionWiseLoss()(logits, label, rw_map=rw_map) + RRWCrossEntropyLoss()(
        logits, label, rw_map=rw_map
    )
    torch.testing.assert_close(loss(logits, label, rw_map=rw_map), expected)
    torch.testing.assert_close(loss(logits, label), expected)


def test_a_map_given_for_terms_that_need_different_maps_is_refused():
    loss = CompoundLoss({"boundary": BoundaryLoss(), "hausdorff": HausdorffDTLoss()})
    logits, label = random_case((1, 2, 8, 8), seed=5)
    with pytest.raises(ValueError, match=r"both take dist_map but need different maps"):
        loss(logits, label, dist_map=torch.zeros(1, 2, 8, 8))
    loss(logits, label)  # without a precomputed map each term computes its own


def test_inputs_are_validated_once_per_activation(monkeypatch):
    calls = []

    def counting(*args, **kwargs):
        calls.append(kwargs["activation"])
        return validate_inputs(*args, **kwargs)

    monkeypatch.setattr(compound_module, "validate_inputs", counting)
    terms = {
        "gdl": GeneralizedDiceLoss(),
        "boundary": BoundaryLoss(include_background=False),
        "ce": CrossEntropyLoss(classes=[1, 2]),
        "sigmoid": CrossEntropyLoss(activation="sigmoid"),
    }
    loss = CompoundLoss(terms)
    logits, label = random_case((2, 3, 8, 8), seed=6)
    expected = sum(term(logits, label) for term in terms.values())
    torch.testing.assert_close(loss(logits, label), expected)
    assert sorted(calls, key=str) == ["sigmoid", "softmax"]


def test_terms_in_conflict_on_one_keyword_still_take_a_map_under_the_other():
    loss = CompoundLoss(
        {"boundary": BoundaryLoss(), "hausdorff": HausdorffDTLoss(), "rw": RegionWiseLoss()}
    )
    logits, label = random_case((1, 2, 8, 8), seed=7)
    rw_map = rrw_map(label, 2, batch=True)
    expected = (
        BoundaryLoss()(logits, label)
        + HausdorffDTLoss()(logits, label)
        + RegionWiseLoss()(logits, label, rw_map=rw_map)
    )
    torch.testing.assert_close(loss(logits, label, rw_map=rw_map), expected)


def test_terms_reading_different_channels_share_one_map_of_the_union():
    loss = CompoundLoss(
        {
            "b1": BoundaryLoss(classes=[1]),
            "b3": BoundaryLoss(classes=[3]),
            "gdl": GeneralizedDiceLoss(),
        }
    )
    assert loss.map_requirements() == [MapSpec("signed", classes=[1, 3])]
    logits, label = random_case((2, 4, 9, 8), seed=8)
    (spec,) = loss.map_requirements()
    dist_map = spec.compute(label, 4, (0.5, 1.5), batch=True)
    assert not dist_map[:, [0, 2]].any()  # channels no term reads are not computed
    full = signed_distance_map(label, 4, (0.5, 1.5), batch=True)
    assert torch.equal(loss(logits, label, dist_map=dist_map), loss(logits, label, dist_map=full))
    foreground = CompoundLoss([BoundaryLoss(include_background=False), BoundaryLoss(classes=[2])])
    assert foreground.map_requirements() == [MapSpec("signed", include_background=False)]
