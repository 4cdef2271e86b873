"""boundaryloss: boundary (distance-map) and region-wise losses for unbalanced segmentation.

The library core — maps, losses, schedules, metrics, statistics — imports with only
PyTorch, NumPy, SciPy and edt; the training stack is never imported from here.
"""

from .losses import (
    BoundaryLoss,
    CompoundLoss,
    CrossEntropyLoss,
    DeepSupervisionLoss,
    DiceLoss,
    FocalLoss,
    GeneralizedDiceLoss,
    HausdorffDTLoss,
    RegionWiseLoss,
    RRWCrossEntropyLoss,
    SegmentationLoss,
    boundary_loss,
    cross_entropy_loss,
    dice_loss,
    focal_loss,
    generalized_dice_loss,
    hausdorff_dt_loss,
    map_mismatch,
    region_wise_loss,
    required_maps,
    rrw_cross_entropy_loss,
)
from .maps import (
    DistanceMapTransform,
    MapSpec,
    ac_map,
    compute_map,
    rrw_map,
    signed_distance_map,
    unsigned_distance_map,
)
from .metrics import (
    SegmentationEvaluator,
    average_surface_distance,
    dice,
    hausdorff_distance,
    jaccard,
    normalized_surface_dice,
    precision,
    recall,
)
from .registry import register_loss, register_schedule
from .schedules import Constant, LinearRamp, Rebalance, Schedule, StealWeight
from .stats import (
    bootstrap_ci,
    empirical_cdf,
    paired_permutation_test,
    paired_pooled_permutation_test,
)

__version__ = "0.1.0"

__all__ = [
    "BoundaryLoss",
    "CompoundLoss",
    "Constant",
    "CrossEntropyLoss",
    "DeepSupervisionLoss",
    "DiceLoss",
    "DistanceMapTransform",
    "FocalLoss",
    "GeneralizedDiceLoss",
    "HausdorffDTLoss",
    "LinearRamp",
    "MapSpec",
    "RRWCrossEntropyLoss",
    "Rebalance",
    "RegionWiseLoss",
    "Schedule",
    "SegmentationEvaluator",
    "SegmentationLoss",
    "StealWeight",
    "__version__",
    "ac_map",
    "average_surface_distance",
    "bootstrap_ci",
    "boundary_loss",
    "compute_map",
    "cross_entropy_loss",
    "dice",
    "dice_loss",
    "empirical_cdf",
    "focal_loss",
    "generalized_dice_loss",
    "hausdorff_distance",
    "hausdorff_dt_loss",
    "jaccard",
    "map_mismatch",
    "normalized_surface_dice",
    "paired_permutation_test",
    "paired_pooled_permutation_test",
    "precision",
    "recall",
    "region_wise_loss",
    "register_loss",
    "register_schedule",
    "required_maps",
    "rrw_cross_entropy_loss",
    "rrw_map",
    "signed_distance_map",
    "unsigned_distance_map",
]
