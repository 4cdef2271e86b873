"""A user's own loss and schedule, registered by name, train from a configuration.

Before: the trainer's names were a fixed dict in ``training.components`` and the nnU-Net
trainers had their own tuples, so a loss of one's own could not be named in a config.
"""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
import torch
from torch import nn

import boundaryloss
from boundaryloss import MapSpec, SegmentationLoss, register_loss, register_schedule
from boundaryloss.registry import LOSSES, SCHEDULES
from boundaryloss.schedules import Schedule

from .conftest import one_error_line, train


@pytest.fixture(autouse=True)
def _registries(monkeypatch):
    """Each test registers into copies of the registries, restored afterwards."""
    for registry in (LOSSES, SCHEDULES):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))


def _surface_core(inputs, dist_map, *, reduction: str, scale: float) -> torch.Tensor:
    """``scale * mean_x p_k(x) |d_k(x)|`` per selected class; records whether the map
    came precomputed."""
    SurfaceLoss.given.append(dist_map is not None)
    assert dist_map is not None, "the trainer computes the declared map in the data pipeline"
    probs = inputs.select(inputs.probabilities())
    if dist_map.shape[1] != probs.shape[1]:
        dist_map = inputs.select(dist_map)
    contributions = scale * (probs * dist_map).flatten(2).mean(2) / probs.shape[1]
    if reduction == "none":
        return contributions
    return contributions.sum(1).mean() if reduction == "mean" else contributions.sum()


class SurfaceLoss(SegmentationLoss):
    """A user's loss on the unsigned distance map (``rw`` convention), foreground only."""

    given: ClassVar[list[bool]] = []
    core = staticmethod(_surface_core)

    def __init__(self, scale: float = 1.0, **options) -> None:
        super().__init__(**{"include_background": False, **options})
        self.scale = scale

    def options(self):
        return {**super().options(), "scale": self.scale}

    def map_requirement(self) -> MapSpec:
        return self.reads(MapSpec("unsigned", "rw"))

    def forward(self, logits, target, dist_map=None):
        return self.compute(self.prepare(logits, target), dist_map)


class HalfMapTerm(Schedule):
    """A user's schedule: weights ``(1, weight)`` throughout."""

    def __init__(self, weight: float = 0.5) -> None:
        super().__init__(2)
        self.weight = weight

    def weights_at(self, num_steps: int) -> tuple[float, ...]:
        return (1.0, self.weight)


def test_a_registered_loss_and_schedule_train_from_a_config(tmp_path):
    register_loss("surface", SurfaceLoss)
    register_schedule("half_map_term", HalfMapTerm)
    SurfaceLoss.given.clear()
    code = train(
        tmp_path,
        "custom",
        "loss.terms=[{name: gdl}, {name: surface, kwargs: {scale: 2.0}}]",
        "loss.schedule={name: half_map_term, kwargs: {weight: 0.25}}",
    )
    assert code == 0
    assert SurfaceLoss.given and all(SurfaceLoss.given)  # the pipeline's maps, every call
    run = tmp_path / "custom"
    assert (run / "checkpoints" / "last.pt").is_file()
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert log and all(entry["weight/surface"] == 0.25 for entry in log)


def test_an_unregistered_name_is_a_one_line_error(tmp_path, capsys):
    assert train(tmp_path, "custom", "loss.terms=[{name: surface}]") != 0
    assert "loss.terms[0].name: unknown 'surface'" in one_error_line(capsys)


def test_registration_errors_name_the_problem():
    register_loss("surface", SurfaceLoss)
    assert register_loss("surface", SurfaceLoss) is SurfaceLoss  # the same again: no change
    with pytest.raises(ValueError, match=r"loss 'boundary' is already registered to .*Bound"):
        register_loss("boundary", SurfaceLoss)
    with pytest.raises(ValueError, match="loss 'surface' is already registered to"):
        register_loss("surface", boundaryloss.DiceLoss)
    for name in ("my-loss", "", "2x", None):
        with pytest.raises(ValueError, match="loss name must be an identifier"):
            register_loss(name, SurfaceLoss)
    for cls in (SurfaceLoss(), lambda logits, target: logits.sum(), dict, HalfMapTerm):
        with pytest.raises(ValueError, match=r"is not a class derived from torch\.nn"):
            register_loss("other", cls)
    with pytest.raises(ValueError, match=r"is not a class derived from .*Schedule"):
        register_schedule("other", SurfaceLoss)
    with pytest.raises(ValueError, match="schedule 'rebalance' is already registered"):
        register_schedule("rebalance", HalfMapTerm)
    assert "other" not in LOSSES and "other" not in SCHEDULES


def test_register_as_a_decorator():
    @register_loss("decorated")
    class Decorated(nn.Module):
        def forward(self, logits, target):
            return logits.sum() * 0

    assert LOSSES["decorated"] is Decorated
