"""The training loss as the loop calls it: deep supervision switched on by the config,
its lower-resolution targets and maps computed in the data pipeline."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..losses import DeepSupervisionLoss
from ..losses.deep_supervision import SCALE_TARGETS, DeepSupervisionTargets
from ..maps import MapSpec
from ..nets import supervision_shapes
from .components import shape_only_model


def training_loss(loss: nn.Module, config, specs: Sequence[MapSpec]) -> nn.Module:
    """``loss`` wrapped in :class:`DeepSupervisionLoss` when ``model.deep_supervision``
    is set (the maps ``specs`` at lower scales: from the batch's ``scale_targets``
    when the data pipeline computed them, else from the downsampled target), else
    ``loss``."""
    if not config.model.deep_supervision:
        return loss
    return DeepSupervisionLoss(loss, maps=specs)


def scale_targets_transform(
    config, loss_fn: nn.Module, specs: Sequence[MapSpec]
) -> DeepSupervisionTargets | None:
    """The transform that computes, per training sample, the lower-resolution targets
    and maps of the configured network's outputs (None without deep supervision).

    The output shapes are the network's (its depth read from a shape-only build of the
    configured model), the weights the loss's, so a scale of weight 0 gets nothing.
    """
    if not isinstance(loss_fn, DeepSupervisionLoss):
        return None
    num_classes = config.data.num_classes
    depth = shape_only_model(config.model, 1, num_classes).depth
    return DeepSupervisionTargets(
        specs,
        num_classes,
        functools.partial(supervision_shapes, depth=depth),
        loss_fn.scale_weights(depth),
    )


def full_resolution(outputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """The full-resolution logits of a network output (the first of a deep-supervision
    list)."""
    return outputs if isinstance(outputs, torch.Tensor) else outputs[0]


def batch_loss(
    loss_fn: nn.Module,
    outputs: torch.Tensor | Sequence[torch.Tensor],
    batch: Mapping[str, Any],
    maps: Mapping[str, torch.Tensor],
) -> torch.Tensor:
    """``loss_fn`` on a batch; deep supervision also gets the samples' spacing and their
    precomputed lower-resolution targets (when the batch has them)."""
    if isinstance(loss_fn, DeepSupervisionLoss):
        return loss_fn(
            outputs,
            batch["label"],
            spacing=batch.get("spacing"),
            scale_targets=batch.get(SCALE_TARGETS),
            **maps,
        )
    return loss_fn(outputs, batch["label"], **maps)
