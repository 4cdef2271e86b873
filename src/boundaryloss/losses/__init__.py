"""Segmentation losses: distance-map (boundary, region-wise, Hausdorff) and regional losses.

Every loss takes logits ``(B, C, *spatial)`` (2D or 3D) and a target of integer labels
``(B, *spatial)`` / ``(B, 1, *spatial)`` or one-hot masks ``(B, C, *spatial)``, selects
classes with ``include_background`` / ``classes``, and with ``reduction="none"`` returns the
``(B, C_selected)`` per-class contributions whose sum over classes is the per-sample loss.
Each loss is available as an ``nn.Module`` and as a function. A loss that takes a
precomputed map declares it (``map_requirement()``); :func:`required_maps` and
:func:`map_mismatch` are how everything else asks.
"""

from ._base import SegmentationLoss
from .boundary import BoundaryLoss, boundary_loss
from .compound import CompoundLoss
from .cross_entropy import (
    CrossEntropyLoss,
    RRWCrossEntropyLoss,
    cross_entropy_loss,
    rrw_cross_entropy_loss,
)
from .deep_supervision import (
    DeepSupervisionLoss,
    DeepSupervisionTargets,
    deep_supervision_weights,
    downsample_target,
)
from .dice import DiceLoss, GeneralizedDiceLoss, dice_loss, generalized_dice_loss
from .focal import FocalLoss, focal_loss
from .hausdorff import HausdorffDTLoss, hausdorff_dt_loss
from .region_wise import RegionWiseLoss, region_wise_loss
from .requirements import map_mismatch, required_maps

__all__ = [
    "BoundaryLoss",
    "CompoundLoss",
    "CrossEntropyLoss",
    "DeepSupervisionLoss",
    "DeepSupervisionTargets",
    "DiceLoss",
    "FocalLoss",
    "GeneralizedDiceLoss",
    "HausdorffDTLoss",
    "RRWCrossEntropyLoss",
    "RegionWiseLoss",
    "SegmentationLoss",
    "boundary_loss",
    "cross_entropy_loss",
    "deep_supervision_weights",
    "dice_loss",
    "downsample_target",
    "focal_loss",
    "generalized_dice_loss",
    "hausdorff_dt_loss",
    "map_mismatch",
    "region_wise_loss",
    "required_maps",
    "rrw_cross_entropy_loss",
]
