"""Segmentation networks used by the papers: UNet (2D/3D) and ENet (2D)."""

from .enet import ENet
from .unet import UNet, supervision_shapes, unet_widths

__all__ = ["ENet", "UNet", "supervision_shapes", "unet_widths"]
