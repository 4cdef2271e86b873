"""Weight schedules for compound losses.

A schedule holds the weights of the terms of a :class:`~boundaryloss.losses.CompoundLoss`
and how they change with :meth:`Schedule.step`. Every schedule is a pure function of the
number of steps taken, so its whole state is that counter: ``state_dict()`` /
``load_state_dict()`` resume a run exactly where it stopped.

``interval`` (``"epoch"`` or ``"iteration"``) is informational: it tells the trainer when to
call :meth:`Schedule.step`. Plain Python numbers, no tensor math.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._validation import check_non_negative, check_number, check_one_of

INTERVALS = ("epoch", "iteration")


def _check_weights(weights: Sequence[float], name: str) -> tuple[float, ...]:
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise ValueError(f"{name} must be a sequence of numbers, got {weights!r}")
    if not weights:
        raise ValueError(f"{name} must not be empty")
    return tuple(check_number(w, f"{name}[{i}]") for i, w in enumerate(weights))


class Schedule:
    """Base class: current weights as a function of the number of steps taken.

    Subclasses implement :meth:`weights_at`.

    Attributes:
        interval: ``"epoch"`` or ``"iteration"``, when the trainer should call :meth:`step`.
        num_steps: number of :meth:`step` calls so far.

    Raises:
        ValueError: unknown ``interval``.
    """

    def __init__(self, num_terms: int, *, interval: str = "epoch") -> None:
        self.interval = check_one_of(interval, INTERVALS, "interval")
        self._num_terms = num_terms
        self.num_steps = 0

    @property
    def num_terms(self) -> int:
        """Number of weights (loss terms) the schedule drives."""
        return self._num_terms

    def weights_at(self, num_steps: int) -> tuple[float, ...]:
        """Weights after ``num_steps`` steps."""
        raise NotImplementedError

    @property
    def weights(self) -> tuple[float, ...]:
        """Current weights, one per term."""
        return self.weights_at(self.num_steps)

    def step(self) -> None:
        """Advance the schedule by one epoch or iteration."""
        self.num_steps += 1

    def state_dict(self) -> dict[str, Any]:
        """Resumable state: the schedule's class name and the step counter."""
        return {"schedule": type(self).__name__, "num_steps": self.num_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`.

        Raises:
            ValueError: the state belongs to another schedule type or is malformed.
        """
        if not isinstance(state, dict) or "num_steps" not in state:
            raise ValueError(f"state must be a dict from Schedule.state_dict(), got {state!r}")
        name = state.get("schedule", type(self).__name__)
        if name != type(self).__name__:
            raise ValueError(
                f"state belongs to a {name} schedule, cannot load it into {type(self).__name__}"
            )
        num_steps = state["num_steps"]
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 0:
            raise ValueError(f"state['num_steps'] must be an int >= 0, got {num_steps!r}")
        self.num_steps = num_steps

    def __repr__(self) -> str:
        return f"{type(self).__name__}(weights={self.weights}, num_steps={self.num_steps})"


class Constant(Schedule):
    """Fixed weights.

    Args:
        weights: one weight per term.
        interval: ``"epoch"`` or ``"iteration"``.

    Raises:
        ValueError: empty or non-finite weights.

    Example:
        >>> Constant([1.0, 0.5]).weights
        (1.0, 0.5)
    """

    def __init__(self, weights: Sequence[float], *, interval: str = "epoch") -> None:
        self._weights = _check_weights(weights, "weights")
        super().__init__(len(self._weights), interval=interval)

    def weights_at(self, num_steps: int) -> tuple[float, ...]:
        return self._weights


class Rebalance(Schedule):
    """The boundary-loss paper's schedule, ``alpha * regional + (1 - alpha) * boundary``.

    After ``t`` steps ``alpha = max(start - t * step, floor)``; weights are
    ``(alpha, 1 - alpha)`` for ``(regional, boundary)``. Kervadec et al. (MIDL 2019) start at
    1 and decrease alpha by 0.01 per epoch down to 0.01.

    Args:
        start: initial alpha in ``[0, 1]``.
        step: decrease per step, >= 0.
        floor: smallest alpha, in ``[0, start]``.
        interval: ``"epoch"`` or ``"iteration"``.

    Raises:
        ValueError: negative step, floor > start, or values outside ``[0, 1]``.

    Example:
        >>> schedule = Rebalance()
        >>> schedule.step()
        >>> schedule.weights
        (0.99, 0.010000000000000009)
    """

    def __init__(
        self,
        start: float = 1.0,
        step: float = 0.01,
        floor: float = 0.01,
        *,
        interval: str = "epoch",
    ) -> None:
        super().__init__(2, interval=interval)
        self.start = check_number(start, "start")
        self.step_size = check_non_negative(step, "step")
        self.floor = check_number(floor, "floor")
        if not 0 <= self.start <= 1:
            raise ValueError(f"start must lie in [0, 1], got {start!r}")
        if not 0 <= self.floor <= self.start:
            raise ValueError(f"floor must lie in [0, start={start!r}], got {floor!r}")

    def weights_at(self, num_steps: int) -> tuple[float, ...]:
        alpha = max(self.start - num_steps * self.step_size, self.floor)
        return (alpha, 1.0 - alpha)


class StealWeight(Schedule):
    """The original boundary-loss code's schedule: the boundary term steals weight.

    Each step the regional weight becomes ``max(a - step, floor)`` and the boundary weight
    ``b + step``, without upper bound (the original ``StealWeight`` with ``to_steal=step``
    and a hard-coded floor of 0.1). After ``t`` steps: ``(max(a - t step, floor), b + t step)``.

    Args:
        start: initial ``(regional, boundary)`` weights.
        step: weight moved per step, >= 0.
        floor: smallest regional weight, <= ``start[0]``.
        interval: ``"epoch"`` or ``"iteration"``.

    Raises:
        ValueError: negative step, floor > start[0], or ``start`` not of length 2.

    Example:
        >>> schedule = StealWeight()
        >>> schedule.step()
        >>> schedule.weights
        (0.99, 0.02)
    """

    def __init__(
        self,
        start: Sequence[float] = (1.0, 0.01),
        step: float = 0.01,
        floor: float = 0.1,
        *,
        interval: str = "epoch",
    ) -> None:
        super().__init__(2, interval=interval)
        self.start = _check_weights(start, "start")
        if len(self.start) != 2:
            raise ValueError(f"start must be (regional, boundary), got {start!r}")
        self.step_size = check_non_negative(step, "step")
        self.floor = check_number(floor, "floor")
        if self.floor > self.start[0]:
            raise ValueError(f"floor={floor!r} must not exceed start[0]={self.start[0]!r}")

    def weights_at(self, num_steps: int) -> tuple[float, ...]:
        regional, boundary = self.start
        moved = num_steps * self.step_size
        return (max(regional - moved, self.floor), boundary + moved)


class LinearRamp(Schedule):
    """Linear interpolation from ``start`` to ``end`` weights over ``steps`` steps, then constant.

    Args:
        start: initial weights, one per term.
        end: final weights, same length as ``start``.
        steps: number of steps to reach ``end``, >= 1.
        interval: ``"epoch"`` or ``"iteration"``.

    Raises:
        ValueError: mismatched lengths, non-finite weights or ``steps < 1``.

    Example:
        >>> schedule = LinearRamp([1.0, 0.0], [0.0, 1.0], steps=4)
        >>> schedule.step()
        >>> schedule.weights
        (0.75, 0.25)
    """

    def __init__(
        self,
        start: Sequence[float],
        end: Sequence[float],
        steps: int,
        *,
        interval: str = "epoch",
    ) -> None:
        self.start = _check_weights(start, "start")
        self.end = _check_weights(end, "end")
        if len(self.start) != len(self.end):
            raise ValueError(
                f"start and end must have the same length, got {len(self.start)} and "
                f"{len(self.end)}: {start!r}, {end!r}"
            )
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {steps!r}")
        self.steps = steps
        super().__init__(len(self.start), interval=interval)

    def weights_at(self, num_steps: int) -> tuple[float, ...]:
        fraction = min(num_steps, self.steps) / self.steps
        return tuple(a + (b - a) * fraction for a, b in zip(self.start, self.end, strict=True))
