"""Schedule settings of the nnU-Net trainers and their environment variables (no nnunetv2)."""

from __future__ import annotations

import pytest

from boundaryloss.nnunet.settings import MapTermSettings
from boundaryloss.registry import SCHEDULES, register_schedule
from boundaryloss.schedules import Constant, Rebalance, Schedule, StealWeight


def test_defaults_are_the_papers_rebalance():
    schedule = MapTermSettings().build_schedule()
    assert isinstance(schedule, Rebalance)
    assert schedule.weights_at(0) == (1.0, 0.0)
    assert schedule.weights_at(10) == pytest.approx((0.9, 0.1))
    assert schedule.weights_at(1000) == pytest.approx((0.01, 0.99))


def test_constant_schedule_weights_the_map_term():
    schedule = MapTermSettings(schedule="constant", weight=0.3).build_schedule()
    assert isinstance(schedule, Constant)
    assert schedule.weights_at(0) == schedule.weights_at(500) == (1.0, 0.3)


def test_environment_overrides():
    base = MapTermSettings(schedule="rebalance", weight=0.1)
    env = {"BOUNDARYLOSS_SCHEDULE": " Constant ", "BOUNDARYLOSS_WEIGHT": "0.5"}
    assert base.with_environment(env) == MapTermSettings(schedule="constant", weight=0.5)
    stepped = base.with_environment({"BOUNDARYLOSS_REBALANCE_STEP": "0.05"})
    assert stepped.build_schedule().weights_at(2) == pytest.approx((0.9, 0.1))
    assert base.with_environment({}) == base
    assert base.with_environment({"BOUNDARYLOSS_MAP_MARGIN": "8"}).map_margin == 8


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BOUNDARYLOSS_SCHEDULE", "linear", "BOUNDARYLOSS_SCHEDULE must be one of"),
        ("BOUNDARYLOSS_WEIGHT", "abc", "BOUNDARYLOSS_WEIGHT must be a number >= 0, got 'abc'"),
        ("BOUNDARYLOSS_WEIGHT", "-1", "BOUNDARYLOSS_WEIGHT must be a number >= 0, got '-1'"),
        ("BOUNDARYLOSS_REBALANCE_STEP", "nan", "BOUNDARYLOSS_REBALANCE_STEP must be"),
        ("BOUNDARYLOSS_MAP_MARGIN", "2.5", "BOUNDARYLOSS_MAP_MARGIN must be an integer >= 0"),
        ("BOUNDARYLOSS_MAP_MARGIN", "-8", "BOUNDARYLOSS_MAP_MARGIN must be an integer >= 0"),
    ],
)
def test_bad_environment_names_the_variable(name, value, message):
    with pytest.raises(ValueError, match=message):
        MapTermSettings().with_environment({name: value})


def test_bad_settings():
    with pytest.raises(ValueError, match="schedule must be one of"):
        MapTermSettings(schedule="steal")
    with pytest.raises(ValueError, match="weight must be a finite number >= 0"):
        MapTermSettings(weight=-0.5)
    with pytest.raises(ValueError, match="map_margin must be an int >= 0"):
        MapTermSettings(map_margin=-1)


class Halves(Schedule):
    """A user's schedule of two terms."""

    def __init__(self) -> None:
        super().__init__(2)

    def weights_at(self, num_steps: int) -> tuple[float, ...]:
        return (0.5, 0.5)


class ThreeTerms(Schedule):
    def __init__(self) -> None:
        super().__init__(3)

    def weights_at(self, num_steps: int) -> tuple[float, ...]:
        return (1.0, 1.0, 1.0)


def test_schedules_come_from_the_shared_registry(monkeypatch):
    monkeypatch.setattr(SCHEDULES, "_entries", dict(SCHEDULES._entries))
    register_schedule("halves", Halves)
    assert isinstance(MapTermSettings(schedule="halves").build_schedule(), Halves)
    from_env = MapTermSettings().with_environment({"BOUNDARYLOSS_SCHEDULE": "steal_weight"})
    assert isinstance(from_env.build_schedule(), StealWeight)
    # registered, but not buildable for two terms: refused, naming the setting or variable
    with pytest.raises(ValueError, match=r"schedule 'linear_ramp': LinearRamp\(\) does not"):
        MapTermSettings(schedule="linear_ramp")
    with pytest.raises(ValueError, match="BOUNDARYLOSS_SCHEDULE 'linear_ramp': LinearRamp"):
        MapTermSettings().with_environment({"BOUNDARYLOSS_SCHEDULE": "linear_ramp"})
    register_schedule("three", ThreeTerms)
    with pytest.raises(ValueError, match=r"schedule 'three': ThreeTerms\(\) weights 3 terms"):
        MapTermSettings(schedule="three")
