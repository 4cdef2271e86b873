"""The training loss as the loop calls it: deep supervision switched on by the config."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ..losses import DeepSupervisionLoss
from ..maps import MapSpec


def training_loss(loss: nn.Module, config, specs: Sequence[MapSpec]) -> nn.Module:
    """``loss`` wrapped in :class:`DeepSupervisionLoss` when ``model.deep_supervision``
    is set (the maps ``specs`` computed at lower scales from the downsampled target),
    else ``loss``."""
    if not getattr(config.model, "deep_supervision", False):
        return loss
    return DeepSupervisionLoss(loss, maps=specs)


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
    """``loss_fn`` on a batch; deep supervision also gets the samples' spacing."""
    if isinstance(loss_fn, DeepSupervisionLoss):
        return loss_fn(outputs, batch["label"], spacing=batch.get("spacing"), **maps)
    return loss_fn(outputs, batch["label"], **maps)
