"""Dimension-generic building blocks shared by the networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import check_one_of

NORMS = ("batch", "instance", "group", "none")


def conv(spatial_dims: int) -> type[nn.Module]:
    return {2: nn.Conv2d, 3: nn.Conv3d}[spatial_dims]


def conv_transpose(spatial_dims: int) -> type[nn.Module]:
    return {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[spatial_dims]


def max_pool(spatial_dims: int) -> type[nn.Module]:
    return {2: nn.MaxPool2d, 3: nn.MaxPool3d}[spatial_dims]


def dropout(spatial_dims: int) -> type[nn.Module]:
    return {2: nn.Dropout2d, 3: nn.Dropout3d}[spatial_dims]


def norm_layer(norm: str, spatial_dims: int, channels: int) -> nn.Module:
    """A normalisation layer by name: batch, instance (affine), group (8 groups), none."""
    check_one_of(norm, NORMS, "norm")
    if norm == "batch":
        return {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[spatial_dims](channels)
    if norm == "instance":
        return {2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}[spatial_dims](channels, affine=True)
    if norm == "group":
        return nn.GroupNorm(min(8, channels), channels)
    return nn.Identity()


def check_spatial_dims(spatial_dims: int) -> int:
    if spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
    return spatial_dims


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Zero-pad the spatial axes of ``x`` (at the end) up to a multiple of ``multiple``.

    Returns the padded tensor and the original spatial shape, for :func:`crop_to`.
    """
    shape = tuple(x.shape[2:])
    extra = [(-size) % multiple for size in shape]
    if any(extra):
        pads: list[int] = []
        for amount in reversed(extra):  # F.pad wants the last axis first
            pads += [0, amount]
        x = F.pad(x, pads)
    return x, shape


def crop_to(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    return x[(slice(None), slice(None), *(slice(0, s) for s in shape))]


def check_input(x: torch.Tensor, in_channels: int, spatial_dims: int, name: str) -> None:
    if x.ndim != spatial_dims + 2 or x.shape[1] != in_channels:
        layout = "BCHW" if spatial_dims == 2 else "BCDHW"
        raise ValueError(
            f"{name} expects input of shape {layout} with C={in_channels}, got {tuple(x.shape)}"
        )
