"""Weight schedules: hand-computed sequences, validation and resumable state."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.schedules import Constant, LinearRamp, Rebalance, Schedule, StealWeight


def sequence(schedule: Schedule, steps: int) -> list[tuple[float, ...]]:
    out = [schedule.weights]
    for _ in range(steps):
        schedule.step()
        out.append(schedule.weights)
    return out


def assert_weights(got, expected):
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=1e-12, atol=1e-12)


def test_constant():
    schedule = Constant([1.0, 0.5, 2.0])
    assert sequence(schedule, 3) == [(1.0, 0.5, 2.0)] * 4
    assert schedule.num_terms == 3


def test_rebalance_paper_defaults():
    got = sequence(Rebalance(), 101)
    assert got[0] == (1.0, 0.0)
    assert got[1] == pytest.approx((0.99, 0.01))
    assert got[50] == pytest.approx((0.5, 0.5))
    assert got[99] == pytest.approx((0.01, 0.99))
    assert got[100] == pytest.approx((0.01, 0.99))  # 1 - 100 * 0.01 = 0 is below the floor
    assert got[101] == pytest.approx((0.01, 0.99))


def test_rebalance_custom():
    got = sequence(Rebalance(start=0.8, step=0.3, floor=0.1), 4)
    assert_weights(got, [(0.8, 0.2), (0.5, 0.5), (0.2, 0.8), (0.1, 0.9), (0.1, 0.9)])


def test_steal_weight_original_code():
    got = sequence(StealWeight(), 3)
    assert_weights(got, [(1.0, 0.01), (0.99, 0.02), (0.98, 0.03), (0.97, 0.04)])
    long = sequence(StealWeight(start=(1.0, 0.0), step=0.25, floor=0.1), 6)
    assert_weights(
        long,
        [(1.0, 0.0), (0.75, 0.25), (0.5, 0.5), (0.25, 0.75), (0.1, 1.0), (0.1, 1.25), (0.1, 1.5)],
    )


def test_linear_ramp():
    got = sequence(LinearRamp([1.0, 0.0, 2.0], [0.0, 1.0, 2.0], steps=4), 6)
    assert_weights(
        got,
        [
            (1.0, 0.0, 2.0),
            (0.75, 0.25, 2.0),
            (0.5, 0.5, 2.0),
            (0.25, 0.75, 2.0),
            (0.0, 1.0, 2.0),
            (0.0, 1.0, 2.0),
            (0.0, 1.0, 2.0),
        ],
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: Constant([1.0, 2.0]),
        lambda: Rebalance(step=0.07),
        lambda: StealWeight(step=0.2),
        lambda: LinearRamp([0.0, 1.0], [1.0, 0.5], steps=5),
    ],
)
def test_state_dict_round_trip_equals_uninterrupted(make):
    uninterrupted = make()
    expected = sequence(uninterrupted, 10)
    first = make()
    before = sequence(first, 4)
    resumed = make()
    resumed.load_state_dict(first.state_dict())
    after = sequence(resumed, 6)
    assert before + after[1:] == expected


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Constant([]), "weights must not be empty"),
        (lambda: Constant([1.0, float("inf")]), r"weights\[1\] must be a finite number"),
        (lambda: Constant("ab"), "weights must be a sequence"),
        (lambda: Rebalance(step=-0.01), "step must be finite and non-negative"),
        (lambda: Rebalance(start=0.5, floor=0.6), r"floor must lie in \[0, start=0.5\]"),
        (lambda: Rebalance(start=1.5), r"start must lie in \[0, 1\]"),
        (lambda: StealWeight(step=-1.0), "step must be finite and non-negative"),
        (lambda: StealWeight(start=(0.05, 0.0), floor=0.1), "floor=0.1 must not exceed start"),
        (lambda: StealWeight(start=(1.0, 0.0, 0.0)), "start must be"),
        (lambda: LinearRamp([1.0, 0.0], [0.0], 3), "start and end must have the same length"),
        (lambda: LinearRamp([1.0], [0.0], 0), "steps must be an int >= 1"),
        (lambda: Constant([1.0], interval="batch"), "interval must be one of"),
    ],
)
def test_invalid_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_load_state_dict_checks():
    with pytest.raises(ValueError, match="Rebalance"):
        StealWeight().load_state_dict(Rebalance().state_dict())
    with pytest.raises(ValueError, match="num_steps"):
        Rebalance().load_state_dict({"schedule": "Rebalance", "num_steps": -1})
    with pytest.raises(ValueError, match="state must be a dict"):
        Rebalance().load_state_dict({})


def test_interval_attribute():
    assert Rebalance().interval == "epoch"
    assert Rebalance(interval="iteration").interval == "iteration"
