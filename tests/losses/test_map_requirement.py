"""Each loss declares the map it needs; the pipeline's map from that declaration is the map
the loss computes itself, and a loss cannot take a map without declaring it."""

from __future__ import annotations

import pytest
import torch

from boundaryloss.losses import (
    BoundaryLoss,
    HausdorffDTLoss,
    RegionWiseLoss,
    RRWCrossEntropyLoss,
)
from boundaryloss.losses._base import SegmentationLoss
from boundaryloss.maps import DistanceMapTransform, MapSpec
from boundaryloss.training.components import LOSSES

from .cases import MODULES
from .reference import random_case


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_pipeline_map_from_the_declaration_is_the_map_the_loss_computes(name):
    spacing = (0.7, 1.3)
    loss = MODULES[name]()
    spec = loss.map_requirement()
    if spec is None:
        assert "spacing" not in loss.options()  # regional losses build no map
        return
    logits, label = random_case((2, 3, 9, 8), seed=3)
    transform = DistanceMapTransform(
        spec.kind, 3, spacing, convention=spec.convention, output_key=spec.argument
    )
    samples = [transform({"label": label[i]}) for i in range(2)]
    given = torch.stack([sample[spec.argument] for sample in samples])
    own = MODULES[name](spacing=spacing, reduction="none")(logits, label)
    with_map = MODULES[name](reduction="none")(logits, label, **{spec.argument: given})
    torch.testing.assert_close(with_map, own)


def test_declarations():
    assert BoundaryLoss(convention="official").map_requirement() == MapSpec(
        "signed", "official", "dist_map"
    )
    assert HausdorffDTLoss().map_requirement() == MapSpec("unsigned", "rw", "dist_map")
    assert RegionWiseLoss(map="boundary").map_requirement() == MapSpec("signed", "rw", "rw_map")
    assert RegionWiseLoss(map="ac").map_requirement() == MapSpec("ac", argument="rw_map")
    assert RegionWiseLoss().map_requirement() == RRWCrossEntropyLoss().map_requirement()
    regional = {name for name, cls in LOSSES.items() if cls().map_requirement() is None}
    assert regional == {"ce", "dice", "focal", "gdl"}


def test_a_loss_cannot_take_a_map_without_declaring_it():
    with pytest.raises(TypeError, match=r"forward takes the map keywords \['dist_map'\]"):

        class Forgetful(SegmentationLoss):
            def forward(self, logits, target, dist_map=None):
                return logits.sum()

    with pytest.raises(TypeError, match=r"forward takes the map keywords \[\] but"):

        class Unreachable(SegmentationLoss):
            def map_requirement(self):
                return MapSpec("signed")

            def forward(self, logits, target):
                return logits.sum()


@pytest.mark.parametrize("name", ["boundary", "hausdorff", "region_wise_boundary"])
@pytest.mark.parametrize(
    "selection", [{"include_background": False}, {"classes": [2]}, {"classes": [0, 2]}]
)
def test_a_distance_map_declares_the_classes_its_loss_reads(name, selection):
    spacing = (0.7, 1.3)
    loss = MODULES[name](reduction="none", **selection)
    spec = loss.map_requirement()
    assert spec == MODULES[name]().map_requirement().with_classes(
        selection.get("include_background", True), selection.get("classes")
    )
    logits, label = random_case((2, 3, 9, 8), seed=5)
    transform = DistanceMapTransform.from_spec(spec, 3, spacing)
    given = torch.stack([transform({"label": label[i]})[spec.argument] for i in range(2)])
    full = DistanceMapTransform.from_spec(spec.with_classes(True, None), 3, spacing)
    every = torch.stack([full({"label": label[i]})[spec.argument] for i in range(2)])
    unread = [k for k in range(3) if k not in spec.channels(3)]
    assert not given[:, unread].any() and every[:, unread].any()
    # the loss never reads the channels left out: the same value, to the last bit
    assert torch.equal(
        loss(logits, label, **{spec.argument: given}), loss(logits, label, **{spec.argument: every})
    )
    own = MODULES[name](reduction="none", spacing=spacing, **selection)(logits, label)
    torch.testing.assert_close(loss(logits, label, **{spec.argument: given}), own)


def test_region_wise_maps_keep_every_channel():
    assert RegionWiseLoss(include_background=False).map_requirement().channels(3) == (0, 1, 2)
    assert RRWCrossEntropyLoss(classes=[1]).map_requirement().channels(3) == (0, 1, 2)
