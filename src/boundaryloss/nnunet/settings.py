"""How the map term of an nnU-Net trainer is weighted: class defaults and environment overrides.

nnU-Net picks a trainer by class name (``-tr``), so a trainer's defaults live in class
attributes; users change them without writing a class through environment variables
(read once, when the trainer builds its loss):

- ``BOUNDARYLOSS_SCHEDULE``: ``rebalance`` (the boundary-loss paper, ``alpha * regional +
  (1 - alpha) * map term`` with alpha falling by ``BOUNDARYLOSS_REBALANCE_STEP`` per epoch
  from 1 to 0.01), ``constant`` (``regional + BOUNDARYLOSS_WEIGHT * map term``), or any
  other schedule of :data:`boundaryloss.registry.SCHEDULES` that builds with its defaults
  for two terms (``steal_weight``, or one registered with
  :func:`~boundaryloss.register_schedule`).
- ``BOUNDARYLOSS_WEIGHT``: the constant schedule's weight of the map term (>= 0).
- ``BOUNDARYLOSS_REBALANCE_STEP``: Rebalance's decrease of alpha per epoch (>= 0).
- ``BOUNDARYLOSS_MAP_MARGIN``: voxels of augmented context around the patch the maps
  are computed on (0: the patch alone, nnU-Net's cost; see docs/nnunet.md).

No nnU-Net import here: the settings are plain data, testable without nnunetv2.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from .._validation import check_one_of
from ..registry import SCHEDULES
from ..schedules import Constant, Rebalance, Schedule

#: The schedules built from these settings; any other registered one uses its defaults.
OWN_SCHEDULES = ("rebalance", "constant")
ENV_SCHEDULE = "BOUNDARYLOSS_SCHEDULE"
ENV_WEIGHT = "BOUNDARYLOSS_WEIGHT"
ENV_REBALANCE_STEP = "BOUNDARYLOSS_REBALANCE_STEP"
ENV_MAP_MARGIN = "BOUNDARYLOSS_MAP_MARGIN"


@dataclass(frozen=True)
class MapTermSettings:
    """The schedule of a two-term loss ``(regional, map term)``, and the maps' context.

    Attributes:
        schedule: ``"rebalance"``, ``"constant"``, or the name of another schedule of
            :data:`~boundaryloss.registry.SCHEDULES` that builds with its defaults for two
            terms.
        weight: weight of the map term under the constant schedule (the regional term
            keeps weight 1), >= 0.
        rebalance_step: decrease of alpha per epoch under Rebalance (the paper: 0.01).
        rebalance_floor: smallest alpha under Rebalance (the paper: 0.01).
        map_margin: voxels (full resolution) of augmented context on every side of the
            patch that the maps are computed on, then cropped away; rounded up by the
            trainer to a multiple of the coarsest downsampling factor. 0: the patch alone.
    """

    schedule: str = "rebalance"
    weight: float = 0.1
    rebalance_step: float = 0.01
    rebalance_floor: float = 0.01
    map_margin: int = 0

    def __post_init__(self) -> None:
        check_one_of(self.schedule, sorted(SCHEDULES), "schedule")
        for name in ("weight", "rebalance_step"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if isinstance(self.map_margin, bool) or not isinstance(self.map_margin, int):
            raise ValueError(f"map_margin must be an int >= 0, got {self.map_margin!r}")
        if self.map_margin < 0:
            raise ValueError(f"map_margin must be an int >= 0, got {self.map_margin!r}")
        if self.schedule not in OWN_SCHEDULES:
            _registered_schedule(self.schedule, "schedule")

    def with_environment(self, environ: Mapping[str, str] | None = None) -> MapTermSettings:
        """These settings with the ``BOUNDARYLOSS_*`` variables of ``environ`` applied.

        Raises:
            ValueError: a variable holds an unknown schedule or a value that is not a
                number >= 0 (the message names the variable and the value).
        """
        environ = os.environ if environ is None else environ
        schedule = environ.get(ENV_SCHEDULE, self.schedule).strip().lower()
        check_one_of(schedule, sorted(SCHEDULES), ENV_SCHEDULE)
        if schedule not in OWN_SCHEDULES:
            _registered_schedule(schedule, ENV_SCHEDULE)
        return MapTermSettings(
            schedule=schedule,
            weight=_number(environ, ENV_WEIGHT, self.weight),
            rebalance_step=_number(environ, ENV_REBALANCE_STEP, self.rebalance_step),
            rebalance_floor=self.rebalance_floor,
            map_margin=_count(environ, ENV_MAP_MARGIN, self.map_margin),
        )

    def build_schedule(self) -> Schedule:
        """The two-weight schedule ``(regional, map term)``, stepped once per epoch
        (``rebalance`` and ``constant`` with these settings, another with its defaults).

        Raises:
            ValueError: another schedule that does not build with its defaults, or
                weights other than two terms.
        """
        if self.schedule == "rebalance":
            return Rebalance(start=1.0, step=self.rebalance_step, floor=self.rebalance_floor)
        if self.schedule == "constant":
            return Constant([1.0, self.weight])
        return _registered_schedule(self.schedule, "schedule")


def _registered_schedule(name: str, label: str) -> Schedule:
    """The registered schedule ``name`` built with its defaults, checked to weight two
    terms; errors name ``label`` (the setting or variable) and the value."""
    cls = SCHEDULES[name]
    try:
        schedule = cls()
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{label} {name!r}: {cls.__name__}() does not build with its defaults ({error})"
        ) from None
    if schedule.num_terms != 2:
        raise ValueError(
            f"{label} {name!r}: {cls.__name__}() weights {schedule.num_terms} terms; the "
            "trainers have two (regional, map term)"
        )
    return schedule


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number >= 0, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {raw!r}")
    return value


def _count(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer >= 0, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {raw!r}")
    return value
