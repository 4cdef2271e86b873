"""Segmentation metrics in physical units, with one documented rule for empty masks.

Every function takes one case — a label map ``(*spatial)`` or, with ``one_hot=True``,
binary masks ``(C, *spatial)``; numpy array or torch tensor; 2D or 3D — and returns
``{class index: value}`` as Python floats. ``spacing`` is the voxel size per axis in numpy
axis order (e.g. mm). Class selection uses ``num_classes`` (default 2, a binary mask),
``include_background`` and ``classes``.

Empty masks (the same rule for every metric):

=================================  ===================  ===============================
case                               scores (Dice, NSD…)  distances (HD, HD95, ASSD)
=================================  ===================  ===============================
both non-empty                     computed             computed
present in only one (a miss)       0                    ``missing``: inf / nan / diagonal
absent from both                   ``empty``: 1 / nan   ``empty``: 0 / nan
=================================  ===================  ===============================

Lesion-wise metrics (:mod:`.lesion`: connected-component detection, lesion counts, volume
differences, as the WMH 2017 and ISLES 2022 challenges compute them) follow the same rule.

Average precision (:mod:`.precision_recall`: the area under the precision-recall curve,
as the IDRiD challenge ranks lesion segmentation) scores probabilities ``(C, *spatial)``,
not label maps: :func:`average_precision` for one case, :class:`AveragePrecision` for
pixels pooled over cases. A class without a positive reference pixel gives NaN.

:class:`SegmentationEvaluator` accumulates per-case, per-class results over a dataset and
reports a table and a summary that counts missed and both-empty cases.
"""

from ._empty import EMPTY_OPTIONS, MISSING_OPTIONS
from .evaluator import SegmentationEvaluator
from .hausdorff import HD_MODES, hausdorff_distance
from .lesion import (
    LESION_METRICS,
    LesionDetection,
    LesionOptions,
    absolute_volume_difference,
    lesion_count_difference,
    lesion_detection,
    lesion_f1,
    lesion_precision,
    lesion_recall,
)
from .overlap import dice, jaccard, precision, recall
from .precision_recall import AveragePrecision, average_precision, binary_average_precision
from .specificity import accuracy, specificity
from .surface_dice import normalized_surface_dice
from .surface_distance import average_surface_distance

__all__ = [
    "EMPTY_OPTIONS",
    "HD_MODES",
    "LESION_METRICS",
    "MISSING_OPTIONS",
    "AveragePrecision",
    "LesionDetection",
    "LesionOptions",
    "SegmentationEvaluator",
    "absolute_volume_difference",
    "accuracy",
    "average_precision",
    "average_surface_distance",
    "binary_average_precision",
    "dice",
    "hausdorff_distance",
    "jaccard",
    "lesion_count_difference",
    "lesion_detection",
    "lesion_f1",
    "lesion_precision",
    "lesion_recall",
    "normalized_surface_dice",
    "precision",
    "recall",
    "specificity",
]
