"""The loss an nnU-Net trainer calls: scheduled regional + map terms at every output.

nnU-Net calls ``self.loss(output, target)`` in ``train_step`` and ``validation_step``;
with deep supervision ``output`` is the list of network outputs (finest first) and here
``target`` is ``[labels..., maps...]`` (see :mod:`boundaryloss.nnunet.transforms`).
:class:`DeepSupervisionMapLoss` splits the target and sums the per-scale losses with
nnU-Net's deep-supervision weights (scales of weight 0 are not evaluated, as in nnU-Net's
``DeepSupervisionWrapper``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..losses.requirements import required_maps, term_requirement
from ..schedules import Schedule
from .transforms import split_target


class ScheduledMapLoss(nn.Module):
    """``sum_i w_i * term_i`` at one scale, weights from a schedule shared by all scales.

    Each term is called as ``term(output, target)``, or, when it declares a map
    (:meth:`~boundaryloss.losses.SegmentationLoss.map_requirement`), as
    ``term(output, target, **{spec.argument: maps})``; the terms that declare one must
    declare the same map (the batch carries one map per scale, :attr:`map_spec`, with
    the union of the channels they read).
    Unlike :class:`boundaryloss.losses.CompoundLoss` it records no per-term values, so the
    forward pass never waits for the device (one ``float()`` per term and scale would stall
    a GPU pipeline every iteration).

    Args:
        terms: loss modules; nnU-Net's own (e.g. ``DC_and_CE_loss``) take labels
            ``(B, 1, *spatial)``, this project's accept the same.
        schedule: one weight per term; stepping it (by the trainer) changes every scale.

    Attributes:
        map_spec: the map the terms need (None if no term declares one).

    Raises:
        ValueError: the schedule's number of weights differs from the number of terms, or
            two terms declare different maps.
    """

    def __init__(self, terms: Sequence[nn.Module], schedule: Schedule) -> None:
        super().__init__()
        if len(terms) != schedule.num_terms:
            raise ValueError(
                f"got {len(terms)} terms and a schedule of {schedule.num_terms} weights; "
                "they must match"
            )
        self.terms = nn.ModuleList(terms)
        try:  # nnU-Net's own losses declare none
            declared = required_maps(self)
        except ValueError as error:
            raise ValueError(f"the terms declare different maps: {error}") from None
        if len(declared) > 1:  # the batch carries one map per scale
            raise ValueError(f"the terms declare different maps {declared}")
        self.map_arguments = tuple(
            spec.argument if spec else None for spec in map(term_requirement, terms)
        )
        self.map_spec = declared[0] if declared else None
        self.schedule = schedule

    def forward(
        self, output: torch.Tensor, target: torch.Tensor, maps: torch.Tensor
    ) -> torch.Tensor:
        """Weighted sum at one scale.

        Args:
            output: logits ``(B, C, *spatial)``.
            target: labels ``(B, 1, *spatial)``.
            maps: ``(B, C, *spatial)`` map of ``target``.
        """
        total = None
        for term, argument, weight in zip(
            self.terms, self.map_arguments, self.schedule.weights, strict=True
        ):
            if weight == 0:
                continue
            value = (
                term(output, target)
                if argument is None
                else term(output, target, **{argument: maps})
            )
            total = weight * value if total is None else total + weight * value
        if total is None:  # every weight is 0: a zero that keeps the graph
            total = output.sum() * 0.0
        return total


class DeepSupervisionMapLoss(nn.Module):
    """nnU-Net's deep-supervision sum for a target that carries maps.

    ``loss(output, target)`` with ``output`` a list of ``n`` logits (or one tensor) and
    ``target`` the ``2n`` list ``[labels..., maps...]`` gives
    ``sum_s weights[s] * per_scale(output[s], labels[s], maps[s])`` over the scales whose
    weight is not 0.

    Args:
        per_scale: a :class:`ScheduledMapLoss`.
        weights: one weight per output (nnU-Net's: halving per scale, the coarsest 0,
            normalised to sum 1).
    """

    def __init__(self, per_scale: ScheduledMapLoss, weights: Sequence[float]) -> None:
        super().__init__()
        self.per_scale = per_scale
        self.weights = tuple(float(w) for w in weights)

    def forward(self, output, target) -> torch.Tensor:
        outputs = list(output) if isinstance(output, (list, tuple)) else [output]
        labels, maps = split_target(target)
        if not len(outputs) == len(labels) <= len(self.weights):
            raise ValueError(
                f"got {len(outputs)} outputs and {len(labels)} targets for "
                f"{len(self.weights)} deep-supervision weights"
            )
        total = None
        scales = zip(self.weights, outputs, labels, maps, strict=False)
        for weight, out, label, scale_maps in scales:
            if weight == 0:
                continue
            value = weight * self.per_scale(out, label, scale_maps)
            total = value if total is None else total + value
        return total
