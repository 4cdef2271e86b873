"""Deep supervision: a loss applied to a network's outputs at several resolutions.

Isensee et al., "nnU-Net: a self-configuring method for deep learning-based biomedical
image segmentation", Nature Methods 2021: the decoder's lower-resolution outputs are
each compared with the target downsampled to their size, and the losses are summed
with weights ``1 / 2**i`` (``i = 0`` full resolution), the lowest resolution's weight
set to 0, normalised to sum 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..maps import MapSpec


def deep_supervision_weights(num_scales: int) -> list[float]:
    """nnU-Net's weights for ``num_scales`` outputs, full resolution first.

    ``w_i = 2**-i``, then ``w_{last} = 0`` (the coarsest output gets no loss), then
    normalised to sum 1. A single scale gets weight 1.

    Example:
        >>> deep_supervision_weights(3)
        [0.6666666666666666, 0.3333333333333333, 0.0]
    """
    if not isinstance(num_scales, int) or num_scales < 1:
        raise ValueError(f"num_scales must be a positive int, got {num_scales!r}")
    if num_scales == 1:
        return [1.0]
    weights = [2.0**-i for i in range(num_scales)]
    weights[-1] = 0.0
    total = sum(weights)
    return [w / total for w in weights]


def downsample_target(target: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Integer labels ``(B, *spatial)`` resampled to ``shape`` by nearest neighbour.

    Uses ``F.interpolate(mode="nearest-exact")`` as nnU-Net does: output voxel ``j``
    takes input voxel ``floor((j + 0.5) * size / new_size)``, i.e. for a factor of 2 the
    second voxel of each pair (``target[..., 1::2]``).
    """
    shape = tuple(int(n) for n in shape)
    if tuple(target.shape[1:]) == shape:
        return target
    resized = F.interpolate(target[:, None].float(), size=shape, mode="nearest-exact")
    return resized[:, 0].to(target.dtype)


def scaled_spacing(
    spacing: Sequence[float], full_shape: Sequence[int], shape: Sequence[int]
) -> tuple[float, ...]:
    """Voxel size of a target downsampled from ``full_shape`` to ``shape``.

    A voxel of the downsampled target covers ``full / size`` voxels of the full-resolution
    one along each axis (nnU-Net's ``DownsampleSegForDSTransform``, :func:`downsample_target`).

    Args:
        spacing: voxel size of the full-resolution target, per axis.
        full_shape: spatial shape of the full-resolution target.
        shape: spatial shape of the downsampled target.
    """
    if not len(spacing) == len(full_shape) == len(shape):
        raise ValueError(
            f"spacing {tuple(spacing)}, full shape {tuple(full_shape)} and shape "
            f"{tuple(shape)} must have one entry per spatial axis"
        )
    return tuple(float(s) * f / n for s, f, n in zip(spacing, full_shape, shape, strict=True))


class DeepSupervisionLoss(nn.Module):
    """Weighted sum of a loss over the outputs of a deeply supervised network.

    Convention:
        ``outputs`` is a list of logits, full resolution first (as
        :class:`~boundaryloss.nets.UNet` returns with ``deep_supervision=True`` in
        training mode); a single tensor is passed straight to ``loss``. At scale ``i``
        the target (integer labels) is :func:`downsample_target` to the output's size,
        and each map the loss needs (``maps``) is computed from that downsampled target
        with the spacing scaled by the size ratio (``spacing * size / new_size`` per
        axis), so a boundary term measures distances in the same physical units at
        every scale.
        Maps passed to :meth:`forward` are used at full resolution only. A scale of
        weight 0 adds ``0 * outputs[i].sum()`` (its head gets zero gradients, which
        keeps DDP happy) and computes nothing.

    Args:
        loss: the loss at one scale, called ``loss(logits, target, **maps)``, e.g. a
            :class:`~boundaryloss.losses.CompoundLoss`.
        weights: one weight per scale, or None for :func:`deep_supervision_weights` of
            the number of outputs.
        maps: the maps to compute at the lower scales, as
            :class:`~boundaryloss.maps.MapSpec` (each under its ``argument``); None: the
            ones ``loss`` declares (``loss.map_requirements()``, e.g. a
            :class:`~boundaryloss.losses.CompoundLoss`), or none.

    Attributes:
        last_values: per-term values of the last forward, summed over scales with the
            scale weights (when ``loss`` reports ``last_values``).

    Shapes:
        outputs: list of ``(B, C, *spatial_i)``; target ``(B, *spatial_0)`` int;
        spacing ``(B, ndim)`` or ``(ndim,)`` or None (unit); returns a scalar.
    """

    def __init__(
        self,
        loss: nn.Module,
        weights: Sequence[float] | None = None,
        maps: Sequence[MapSpec] | None = None,
    ) -> None:
        super().__init__()
        if weights is not None:
            weights = [float(w) for w in weights]
            if not weights or min(weights) < 0 or sum(weights) <= 0:
                raise ValueError(f"weights must be non-negative with a positive sum, got {weights}")
        self.loss = loss
        self.weights_per_scale = weights
        if maps is None:
            requirements = getattr(loss, "map_requirements", None)
            maps = requirements() if callable(requirements) else []
        self.maps = list(maps)
        self.last_values: dict[str, float] = {}

    # The training loop treats the wrapped CompoundLoss's schedule as its own.
    @property
    def schedule(self):
        return self.loss.schedule

    @property
    def weights(self) -> dict[str, float]:
        return self.loss.weights

    @property
    def reduction(self) -> str:
        return getattr(self.loss, "reduction", "mean")

    def step(self) -> None:
        self.loss.step()

    def _scale_maps(
        self,
        target: torch.Tensor,
        num_classes: int,
        spacing: torch.Tensor,
        full_shape: Sequence[int],
    ) -> dict[str, torch.Tensor]:
        shape = tuple(target.shape[1:])
        spacings = [scaled_spacing(s.tolist(), full_shape, shape) for s in spacing]
        return {
            spec.argument: torch.stack(
                [spec.compute(target[b], num_classes, spacings[b]) for b in range(len(target))]
            )
            for spec in self.maps
        }

    def forward(
        self,
        outputs: torch.Tensor | Sequence[torch.Tensor],
        target: torch.Tensor,
        spacing: torch.Tensor | Sequence[float] | None = None,
        **maps: Any,
    ) -> torch.Tensor:
        if isinstance(outputs, torch.Tensor):
            value = self.loss(outputs, target, **maps)
            self.last_values = dict(getattr(self.loss, "last_values", {}))
            return value
        outputs = list(outputs)
        weights = self.weights_per_scale or deep_supervision_weights(len(outputs))
        if len(weights) != len(outputs):
            raise ValueError(f"{len(outputs)} outputs but {len(weights)} weights")
        full_shape = tuple(target.shape[1:])
        ndim = len(full_shape)
        if spacing is None:
            spacing = torch.ones(ndim, dtype=torch.float64)
        spacing = torch.as_tensor(spacing, dtype=torch.float64).cpu()
        if spacing.ndim == 1:
            spacing = spacing.expand(target.shape[0], ndim)
        total: torch.Tensor | None = None
        values: dict[str, float] = {}
        for i, (logits, weight) in enumerate(zip(outputs, weights, strict=True)):
            if weight == 0:
                term = 0.0 * logits.sum()
            else:
                if i == 0:
                    scale_target, scale_maps = target, maps
                else:
                    scale_target = downsample_target(target, logits.shape[2:])
                    scale_maps = self._scale_maps(
                        scale_target, logits.shape[1], spacing, full_shape
                    )
                term = weight * self.loss(logits, scale_target, **scale_maps)
                for name, value in getattr(self.loss, "last_values", {}).items():
                    values[name] = values.get(name, 0.0) + weight * value
            total = term if total is None else total + term
        self.last_values = values
        return total
