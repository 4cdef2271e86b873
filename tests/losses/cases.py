"""Every loss of the package under one name, for tests that run them all."""

from __future__ import annotations

from functools import partial

from boundaryloss.losses import (
    BoundaryLoss,
    CrossEntropyLoss,
    DiceLoss,
    FocalLoss,
    GeneralizedDiceLoss,
    HausdorffDTLoss,
    RegionWiseLoss,
    RRWCrossEntropyLoss,
    boundary_loss,
    cross_entropy_loss,
    dice_loss,
    focal_loss,
    generalized_dice_loss,
    hausdorff_dt_loss,
    region_wise_loss,
    rrw_cross_entropy_loss,
)

MODULES = {
    "boundary": BoundaryLoss,
    "region_wise_rrw": partial(RegionWiseLoss, map="rrw"),
    "region_wise_boundary": partial(RegionWiseLoss, map="boundary"),
    "region_wise_ac": partial(RegionWiseLoss, map="ac"),
    "dice": DiceLoss,
    "generalized_dice": GeneralizedDiceLoss,
    "cross_entropy": CrossEntropyLoss,
    "focal": FocalLoss,
    "hausdorff": HausdorffDTLoss,
    "rrw_cross_entropy": RRWCrossEntropyLoss,
}

FUNCTIONS = {
    "boundary": boundary_loss,
    "region_wise_rrw": partial(region_wise_loss, map="rrw"),
    "region_wise_boundary": partial(region_wise_loss, map="boundary"),
    "region_wise_ac": partial(region_wise_loss, map="ac"),
    "dice": dice_loss,
    "generalized_dice": generalized_dice_loss,
    "cross_entropy": cross_entropy_loss,
    "focal": focal_loss,
    "hausdorff": hausdorff_dt_loss,
    "rrw_cross_entropy": rrw_cross_entropy_loss,
}

# Per-class contributions that are a per-class value divided by the number of selected
# classes ("mean over classes"), versus a plain per-class term ("sum over classes").
MEAN_OVER_CLASSES = {
    "boundary",
    "region_wise_rrw",
    "region_wise_boundary",
    "region_wise_ac",
    "dice",
    "hausdorff",
}
SUM_OVER_CLASSES = {"cross_entropy", "focal", "rrw_cross_entropy"}
