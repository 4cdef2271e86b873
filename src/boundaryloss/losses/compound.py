"""Weighted sum of loss terms driven by a schedule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..maps import MAP_ARGUMENTS, MapSpec
from ..schedules import Constant, Schedule
from ._base import SegmentationLoss
from ._inputs import SegmentationInputs, validate_inputs
from .requirements import required_maps, term_names, term_requirement


class CompoundLoss(nn.Module):
    """Weighted sum of loss terms, ``sum_i w_i(t) * term_i(logits, target)``.

    The weights come from a :class:`~boundaryloss.schedules.Schedule`; call :meth:`step`
    when the schedule's ``interval`` (epoch or iteration) ends. The schedule position is
    stored in the module's ``state_dict()``, so a resumed run continues exactly.
    Precomputed maps passed to :meth:`forward` (``dist_map=``, ``rw_map=``) go only to the
    terms whose ``map_requirement()`` names them; other terms compute their own maps.
    The logits and target are validated once per activation for all the terms.

    Example (the boundary-loss paper): ``CompoundLoss({"dice": GeneralizedDiceLoss(),
    "boundary": BoundaryLoss(include_background=False)}, Rebalance())`` gives
    ``alpha * GDL + (1 - alpha) * boundary``.

    Args:
        terms: loss modules, as a mapping name -> module or a sequence (named after
            their classes). Every term must use the same ``reduction``.
        schedule: a :class:`Schedule`, a sequence of constant weights, or None (all 1).

    Attributes:
        weights: dict name -> current weight.
        last_values: dict name -> value of each term in the last forward (detached float;
            with ``reduction="none"`` the batch mean of the per-sample losses).

    Raises:
        ValueError: no terms, a term that is not an ``nn.Module``, mixed reductions, or a
            number of weights different from the number of terms.
    """

    def __init__(
        self,
        terms: Mapping[str, nn.Module] | Sequence[nn.Module],
        schedule: Schedule | Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if isinstance(terms, Mapping):
            names, modules = [str(name) for name in terms], list(terms.values())
        elif isinstance(terms, Sequence):
            modules = list(terms)
            names = term_names(modules)
        else:
            raise ValueError(f"terms must be a mapping or a sequence of modules, got {terms!r}")
        if not modules:
            raise ValueError("terms must contain at least one loss module")
        for name, module in zip(names, modules, strict=True):
            if not isinstance(module, nn.Module):
                raise ValueError(f"terms[{name!r}] must be an nn.Module, got {module!r}")
        reductions = {getattr(module, "reduction", "mean") for module in modules}
        if len(reductions) > 1:
            raise ValueError(f"terms must share one reduction, got {sorted(reductions)}")
        self.reduction = reductions.pop()
        self.terms = nn.ModuleDict(dict(zip(names, modules, strict=True)))
        if schedule is None:
            schedule = Constant([1.0] * len(modules))
        elif not isinstance(schedule, Schedule):
            schedule = Constant(schedule)
        if schedule.num_terms != len(modules):
            raise ValueError(
                f"schedule has {schedule.num_terms} weights but there are {len(modules)} "
                f"terms ({names})"
            )
        self.schedule = schedule
        self.last_values: dict[str, float] = {}

    @property
    def weights(self) -> dict[str, float]:
        """Current weight of each term, for logging."""
        return dict(zip(self.terms.keys(), self.schedule.weights, strict=True))

    def map_requirements(self) -> list[MapSpec]:
        """The distinct maps the terms declare, in term order (what a data pipeline computes):
        :func:`~boundaryloss.losses.required_maps` of this loss.

        Terms taking the same map but reading different channels of it share one map with
        the union of their channels (:meth:`~boundaryloss.maps.MapSpec.merged`).

        Raises:
            ValueError: two terms take the same keyword but need different maps, so one
                precomputed map cannot serve both.
        """
        return required_maps(self)

    def step(self) -> None:
        """Advance the schedule (call once per epoch or iteration, see ``schedule.interval``)."""
        self.schedule.step()

    def forward(self, logits: torch.Tensor, target: torch.Tensor, **maps: Any) -> torch.Tensor:
        """Weighted sum of the terms.

        Args:
            logits: ``(B, C, *spatial)`` network output.
            target: labels or one-hot target, as accepted by every term.
            **maps: optional ``dist_map=`` / ``rw_map=`` precomputed maps.

        Raises:
            ValueError: an unknown keyword in ``maps``, a map given for terms that need
                different maps under that keyword, terms returning different shapes
                (``reduction="none"`` with different class selections), or any error of a
                term.
        """
        unknown = sorted(set(maps) - set(MAP_ARGUMENTS))
        if unknown:
            raise ValueError(f"maps accepts only {MAP_ARGUMENTS}, got unknown {unknown}")
        specs = {name: term_requirement(term) for name, term in self.terms.items()}
        required_maps(self, maps)  # a precomputed map must suit every term taking it
        validated: dict[str | None, SegmentationInputs] = {}
        total: torch.Tensor | None = None
        values: dict[str, float] = {}
        for (name, term), weight in zip(self.terms.items(), self.schedule.weights, strict=True):
            spec = specs[name]
            given = maps.get(spec.argument) if spec is not None else None
            if isinstance(term, SegmentationLoss) and hasattr(term, "core"):
                if term.activation not in validated:
                    validated[term.activation] = validate_inputs(
                        logits, target, activation=term.activation
                    )
                inputs = validated[term.activation].with_classes(
                    term.include_background, term.classes
                )
                value = term.compute(inputs, given)
            else:
                value = term(
                    logits, target, **({spec.argument: given} if given is not None else {})
                )
            if total is not None and value.shape != total.shape:
                raise ValueError(
                    f"term {name!r} returned shape {tuple(value.shape)} but earlier terms "
                    f"{tuple(total.shape)}; with reduction='none' every term must select the "
                    "same classes"
                )
            detached = value.detach()
            values[name] = float(detached.sum(1).mean() if detached.ndim == 2 else detached)
            total = weight * value if total is None else total + weight * value
        self.last_values = values
        return total

    def get_extra_state(self) -> dict[str, Any]:
        return {"schedule": self.schedule.state_dict()}

    def set_extra_state(self, state: dict[str, Any]) -> None:
        self.schedule.load_state_dict(state["schedule"])

    def extra_repr(self) -> str:
        return f"schedule={self.schedule!r}"
