"""Lesion-wise metrics: connected-component detection, lesion counts, volume differences.

What the lesion segmentation challenges rank by, per class:

* **Lesions** are the connected components of a class mask (``scipy.ndimage.label``).
  ``connectivity`` is the neighbourhood that joins two voxels: 4 or 8 in 2D, 6, 18 or 26 in
  3D; ``None`` (default) is the full neighbourhood, 8 / 26 — what both challenges use.
* **Matching**: with ``match="any"`` (default) a reference lesion is *detected* when at
  least one predicted voxel overlaps it, and a predicted lesion is *true* when at least one
  reference voxel overlaps it. A fraction ``match=t`` in ``(0, 1]`` asks instead for at
  least ``t`` of the lesion's own voxels to be covered by the other mask.
* **Lesion recall** ``detected reference lesions / reference lesions``; **lesion
  precision** ``true predicted lesions / predicted lesions``; **lesion F1** either
  ``f1="wmh"`` (default), the harmonic mean ``2 P R / (P + R)`` of those two, or
  ``f1="isles"``, ``2 TP / (2 TP + FP + FN)`` with ``TP`` the detected reference lesions,
  ``FN`` the missed ones and ``FP`` the predicted lesions touching no reference voxel. The
  two agree whenever lesions match one to one and differ when one predicted component
  covers several reference lesions (or the other way round).
* **Lesion-count difference** ``|lesions(pred) - lesions(ref)|``.
* **Absolute volume difference** ``|V(pred) - V(ref)|`` in ml (``unit="ml"``, 3D only;
  ``spacing`` in mm, 1 ml = 1000 mm³), in voxels (``unit="voxels"``, a voxel — in 2D
  pixel — count, for images whose spacing is in pixels and so has no physical volume)
  or in percent of the reference volume (``unit="percent"``, voxel counts, so
  ``spacing`` cancels). :func:`absolute_volume_metric` says which absolute difference
  (``"avd_ml"`` or ``"avd_voxels"``) suits a dataset's spacing unit.

Which published evaluation code each definition reproduces:

=========================  ====================================================================
metric                     challenge code
=========================  ====================================================================
lesion recall              WMH 2017 ``evaluation.py`` ``getLesionDetection`` (SimpleITK
                           ``ConnectedComponent``, fully connected = 26 in 3D, any overlap)
lesion precision           WMH 2017 ``getLesionDetection`` (current version: predicted
                           components that intersect the reference / all predicted components)
lesion F1 ``f1="wmh"``     WMH 2017 ``getLesionDetection``
lesion F1 ``f1="isles"``   ISLES 2022 ``eval_utils.py`` ``compute_lesion_f1_score``
                           (``cc3d`` connectivity 26, any overlap)
lesion-count difference    ISLES 2022 ``compute_absolute_lesion_difference``
volume difference, ml      ISLES 2022 ``compute_absolute_volume_difference``
volume difference, voxels  the same with a voxel volume of 1 (no physical spacing)
volume difference, %       WMH 2017 ``getAVD`` (the challenge's AVD)
=========================  ====================================================================

Empty masks — the package's one rule (:mod:`boundaryloss.metrics._empty`), with the
challenge codes' choices where they differ:

* absent from both: recall, precision and F1 are 1 (``empty="perfect"``) or NaN
  (``empty="nan"``); the count and volume differences are 0 or NaN. Both challenges give 1
  (F1) and 0 (differences).
* present in only one: lesion recall and precision follow the WMH 2017 code
  (``getLesionDetection``: ``recall = 1.0`` when ``nWMH == 0``, ``precision = 1.0`` when
  ``nDetections == 0``), as a ratio with nothing to count: a reference without lesions
  has none to miss, so recall is 1 (precision 0: every predicted lesion is false); a
  prediction without lesions has none that is false, so precision is 1 (recall 0).
  Whatever ``empty`` says, which governs only the both-absent case. F1 is 0 either way,
  as the WMH code's harmonic mean of 1 and 0 and the ISLES code's ``2 TP / (2 TP + FP +
  FN)`` with ``TP = 0`` give. Every other score of the package is 0 for such a miss.
  The count and volume differences are well defined and computed (the whole count or
  volume of the non-empty mask); the volume difference in percent of an empty reference
  is ``inf`` (the WMH code divides by zero there).

Lesion counts themselves (``pred_lesions``, ``ref_lesions`` of :class:`LesionDetection`)
are counts, 0 for an empty mask, whatever ``empty`` says.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .._units import PIXELS, SPACING_UNITS
from .._validation import ArrayLike, check_one_of
from ._empty import MISSED_SCORE, both_empty_distance, both_empty_score, check_empty
from ._inputs import CaseMasks, prepare_case
from ._surface import bounding_box

#: Connectivities accepted per number of spatial axes, and the ``scipy.ndimage`` rank of each.
CONNECTIVITIES = {2: {4: 1, 8: 2}, 3: {6: 1, 18: 2, 26: 3}}
F1_DEFINITIONS = ("wmh", "isles")
VOLUME_UNITS = ("ml", "voxels", "percent")
#: The absolute volume differences (not relative to the reference): metric name -> unit.
ABSOLUTE_VOLUME_UNITS = {"avd_ml": "ml", "avd_voxels": "voxels"}
#: The lesion counts (ints) among the lesion metrics; every other one is a float.
LESION_COUNTS = ("lesions_pred", "lesions_ref")
#: Metric names of the lesion family, as :class:`~boundaryloss.metrics.SegmentationEvaluator`
#: columns.
LESION_METRICS = (
    *LESION_COUNTS,
    "lesion_recall",
    "lesion_precision",
    "lesion_f1",
    "lesion_count_difference",
    "avd_percent",
    *ABSOLUTE_VOLUME_UNITS,
)
MM3_PER_ML = 1000.0
#: Lesion recall without reference lesions, and lesion precision without predicted ones
#: (a ratio with nothing to count), as the WMH 2017 evaluation code defines them.
NOTHING_TO_COUNT = 1.0


def check_connectivity(connectivity: int | None, ndim: int) -> int:
    """Return the ``scipy.ndimage`` rank of ``connectivity`` for ``ndim`` spatial axes.

    Raises:
        ValueError: a connectivity not in 4/8 (2D) or 6/18/26 (3D).
    """
    allowed = CONNECTIVITIES[ndim]
    if connectivity is None:
        return max(allowed.values())
    # No connectivity is 0 or 1, so a bool (== 0 or 1) is refused too.
    return allowed[check_one_of(connectivity, sorted(allowed), "connectivity")]


def check_match(match: str | float) -> str | float:
    """Return ``match``: ``"any"`` or a fraction in ``(0, 1]``."""
    if match == "any":
        return match
    if isinstance(match, bool) or not isinstance(match, numbers.Real):
        raise ValueError(f"match must be 'any' or a fraction in (0, 1], got {match!r}")
    if not 0.0 < float(match) <= 1.0:
        raise ValueError(f"match must be 'any' or a fraction in (0, 1], got {match!r}")
    return float(match)


def check_f1(f1: str) -> str:
    """Return ``f1`` after checking it is ``"wmh"`` or ``"isles"``."""
    return check_one_of(f1, F1_DEFINITIONS, "f1")


def check_unit(unit: str) -> str:
    """Return ``unit`` after checking it is ``"ml"``, ``"voxels"`` or ``"percent"``."""
    return check_one_of(unit, VOLUME_UNITS, "unit")


@dataclass(frozen=True)
class LesionOptions:
    """How lesions are found and matched (see :mod:`boundaryloss.metrics.lesion`).

    Attributes:
        connectivity: 4/8 (2D) or 6/18/26 (3D); ``None`` is the full neighbourhood.
        match: ``"any"`` (one overlapping voxel) or a fraction in ``(0, 1]`` of the
            lesion's voxels.
        f1: ``"wmh"`` (harmonic mean of lesion precision and recall) or ``"isles"``
            (``2 TP / (2 TP + FP + FN)``).
    """

    connectivity: int | None = None
    match: str | float = "any"
    f1: str = "wmh"

    def __post_init__(self) -> None:
        known = sorted({c for allowed in CONNECTIVITIES.values() for c in allowed})
        check_one_of(self.connectivity, (*known, None), "connectivity")  # no bool: none is 0/1
        object.__setattr__(self, "match", check_match(self.match))
        check_f1(self.f1)


@dataclass(frozen=True)
class LesionDetection:
    """Connected-component counts of one class in one case.

    Attributes:
        pred_lesions: connected components of the prediction.
        ref_lesions: connected components of the reference.
        detected: reference lesions matched by the prediction (true positives, recall side).
        true_pred: predicted lesions matched by the reference (precision side).
    """

    pred_lesions: int
    ref_lesions: int
    detected: int
    true_pred: int

    @property
    def missed(self) -> int:
        """Reference lesions not detected (false negatives)."""
        return self.ref_lesions - self.detected

    @property
    def false_pred(self) -> int:
        """Predicted lesions matching no reference lesion (false positives)."""
        return self.pred_lesions - self.true_pred

    def recall(self, empty: str = "perfect") -> float:
        """Lesion recall ``detected / ref_lesions``: 1 without reference lesions when the
        prediction has some (WMH 2017), ``empty``'s value when neither has any (see the
        module docstring)."""
        if self.ref_lesions == 0 and self.pred_lesions:
            return NOTHING_TO_COUNT
        return self._score(self.detected, self.ref_lesions, empty)

    def precision(self, empty: str = "perfect") -> float:
        """Lesion precision ``true_pred / pred_lesions``: 1 without predicted lesions when
        the reference has some (WMH 2017), ``empty``'s value when neither has any."""
        if self.pred_lesions == 0 and self.ref_lesions:
            return NOTHING_TO_COUNT
        return self._score(self.true_pred, self.pred_lesions, empty)

    def f1(self, definition: str = "wmh", empty: str = "perfect") -> float:
        """Lesion F1, ``definition`` ``"wmh"`` or ``"isles"``, with the empty-mask rule."""
        check_f1(definition)
        special = self._special(empty)
        if special is not None:
            return special
        if definition == "isles":
            return 2.0 * self.detected / (2.0 * self.detected + self.false_pred + self.missed)
        p, r = self.true_pred / self.pred_lesions, self.detected / self.ref_lesions
        return 0.0 if p + r == 0.0 else 2.0 * p * r / (p + r)

    def count_difference(self, empty: str = "perfect") -> float:
        """``|pred_lesions - ref_lesions|``; 0 or NaN (``empty``) when both are empty."""
        if self.pred_lesions == 0 and self.ref_lesions == 0:
            return both_empty_distance(empty)
        return float(abs(self.pred_lesions - self.ref_lesions))

    def _special(self, empty: str) -> float | None:
        if self.pred_lesions and self.ref_lesions:
            return None
        if self.pred_lesions or self.ref_lesions:
            return MISSED_SCORE
        return both_empty_score(empty)

    def _score(self, hits: int, total: int, empty: str) -> float:
        special = self._special(empty)
        return special if special is not None else hits / total


def _components(mask: np.ndarray, rank: int) -> tuple[np.ndarray, int]:
    structure = ndimage.generate_binary_structure(mask.ndim, rank)
    labels, count = ndimage.label(mask, structure=structure)
    return labels, int(count)


def covered_components(
    labels: np.ndarray, count: int, other: np.ndarray, match: str | float
) -> np.ndarray:
    """Bool ``(count,)``: whether the mask ``other`` matches each of the ``count``
    components of ``labels`` (1..count): any overlap (``match="any"``), or a covered
    fraction of the component of at least ``match``. The fraction is the correctly
    rounded ``overlap / size``, so a lesion covered exactly at the threshold (14 of 25
    voxels at ``match=0.56``) matches; ``overlap >= match * size`` would not."""
    if count == 0:
        return np.zeros(0, dtype=bool)
    overlap = np.bincount(labels[other], minlength=count + 1)[1:]
    if match == "any":
        return overlap > 0
    sizes = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    return overlap / sizes >= match


def _matched(labels: np.ndarray, count: int, other: np.ndarray, match: str | float) -> int:
    """How many of the ``count`` components in ``labels`` the ``other`` mask matches."""
    return int(np.count_nonzero(covered_components(labels, count, other, match)))


def detect_lesions(
    pred: np.ndarray, ref: np.ndarray, options: LesionOptions = LesionOptions()
) -> LesionDetection:
    """Count and match the connected components of two boolean masks of the same shape.

    Both masks are cropped to the bounding box of their union first: components never
    cross empty space, so the counts are those of the whole image.
    """
    rank = check_connectivity(options.connectivity, pred.ndim)
    box = bounding_box(pred | ref)
    if box is None:
        return LesionDetection(0, 0, 0, 0)
    pred, ref = pred[box], ref[box]
    ref_labels, n_ref = _components(ref, rank)
    pred_labels, n_pred = _components(pred, rank)
    return LesionDetection(
        pred_lesions=n_pred,
        ref_lesions=n_ref,
        detected=_matched(ref_labels, n_ref, pred, options.match),
        true_pred=_matched(pred_labels, n_pred, ref, options.match),
    )


def volume_difference(
    pred: np.ndarray, ref: np.ndarray, spacing: Sequence[float], unit: str, empty: str
) -> float:
    """Absolute volume difference of two boolean masks, with the empty-mask rule.

    ``unit="ml"``: ``|V(pred) - V(ref)|`` with the voxel volume ``prod(spacing) / 1000``
    (spacing in mm; 3D masks only). ``unit="voxels"``: ``|n(pred) - n(ref)|`` in voxel
    (2D: pixel) counts, ``spacing`` unused. ``unit="percent"``:
    ``100 |n(pred) - n(ref)| / n(ref)`` in voxel counts; ``inf`` when only the reference
    is empty.
    """
    n_pred, n_ref = int(np.count_nonzero(pred)), int(np.count_nonzero(ref))
    if unit == "ml" and len(spacing) != 3:
        raise ValueError(
            f"a volume in ml needs 3 spatial axes, got {len(spacing)}; use unit='voxels' "
            "or 'percent'"
        )
    if n_pred == 0 and n_ref == 0:
        return both_empty_distance(empty)
    if unit == "percent":
        return math.inf if n_ref == 0 else 100.0 * abs(n_pred - n_ref) / n_ref
    if unit == "voxels":
        return float(abs(n_pred - n_ref))
    return abs(n_pred - n_ref) * math.prod(spacing) / MM3_PER_ML


def absolute_volume_metric(ndim: int, spacing_unit: str) -> str | None:
    """The absolute volume difference to report for cases with ``ndim`` spatial axes
    whose spacing is in ``spacing_unit``.

    ``"avd_ml"`` (millilitres) when the spacing is a physical voxel size in mm and the
    cases are 3D; ``"avd_voxels"`` (a voxel — in 2D pixel — count) when the spacing is
    in pixels, where a volume in ml would be meaningless; ``None`` for 2D cases with a
    spacing in mm (an area is no volume; ``"avd_percent"`` still applies).

    Args:
        ndim: spatial axes of the cases, 2 or 3.
        spacing_unit: ``"mm"`` or ``"px"``, as :attr:`~boundaryloss.data.case.Case.
            spacing_unit` (:data:`~boundaryloss.data.case.SPACING_UNITS`).

    Raises:
        ValueError: another ``spacing_unit``.
    """
    check_one_of(spacing_unit, SPACING_UNITS, "spacing_unit")
    if spacing_unit == PIXELS:
        return "avd_voxels"
    return "avd_ml" if ndim == 3 else None


# --- public, per-class functions -------------------------------------------------------------


def _case(
    pred: ArrayLike,
    ref: ArrayLike,
    spacing: Sequence[float] | float | None,
    num_classes: int | None,
    include_background: bool,
    classes: Sequence[int] | None,
    one_hot: bool,
    empty: str,
) -> CaseMasks:
    check_empty(empty)
    return prepare_case(
        pred,
        ref,
        spacing=spacing,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )


def lesion_detection(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    connectivity: int | None = None,
    match: str | float = "any",
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
) -> dict[int, LesionDetection]:
    """Lesion counts and matches per class: the numbers behind every lesion-wise score.

    Convention:
        See :mod:`boundaryloss.metrics.lesion`: lesions are connected components with
        ``connectivity`` (default full: 8 in 2D, 26 in 3D, as the WMH 2017 and ISLES 2022
        evaluation codes); ``match="any"`` counts one overlapping voxel as a match.

    Args:
        pred: predicted label map ``(*spatial)`` or, with ``one_hot=True``, binary masks
            ``(C, *spatial)``; numpy array or torch tensor, 2 or 3 spatial axes.
        ref: reference segmentation in the same layout and shape.
        connectivity: 4 or 8 (2D), 6, 18 or 26 (3D); ``None`` for the full neighbourhood.
        match: ``"any"`` or a fraction in ``(0, 1]`` of a lesion's voxels that the other
            mask must cover.
        num_classes, include_background, classes, one_hot: class selection, as
            :func:`~boundaryloss.metrics.dice`.

    Returns:
        ``{class index: LesionDetection}``.

    Raises:
        ValueError: an input error of :func:`~boundaryloss.metrics.dice`, a connectivity
            that does not fit the number of spatial axes, or a bad ``match``.

    Example:
        >>> import numpy as np
        >>> ref = np.array([[1, 0, 1, 0, 1]]); pred = np.array([[1, 1, 0, 0, 0]])
        >>> lesion_detection(pred, ref)[1]
        LesionDetection(pred_lesions=1, ref_lesions=3, detected=1, true_pred=1)
    """
    options = LesionOptions(connectivity, match)
    case = _case(pred, ref, None, num_classes, include_background, classes, one_hot, "perfect")
    check_connectivity(connectivity, len(case.shape))
    return {cls: detect_lesions(p, r, options) for cls, p, r in case}


def lesion_recall(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    connectivity: int | None = None,
    match: str | float = "any",
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Lesion-wise recall (the WMH challenge's "lesion detection"): detected / reference lesions.

    Convention:
        As :func:`lesion_detection`. Empty masks, as the WMH 2017 code: 1 when the
        reference has no lesion and the prediction has some (none to miss), 0 when only
        the prediction is empty; 1 or NaN (``empty``) when neither has a lesion.

    Returns:
        ``{class index: recall}`` in ``[0, 1]``.
    """
    check_empty(empty)
    detections = lesion_detection(
        pred,
        ref,
        connectivity=connectivity,
        match=match,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )
    return {cls: d.recall(empty) for cls, d in detections.items()}


def lesion_precision(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    connectivity: int | None = None,
    match: str | float = "any",
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Lesion-wise precision: predicted lesions that match the reference / predicted lesions.

    Convention:
        As :func:`lesion_detection`. Empty masks, as the WMH 2017 code: 1 when the
        prediction has no lesion and the reference has some (none is false), 0 when only
        the reference is empty; 1 or NaN (``empty``) when neither has a lesion.

    Returns:
        ``{class index: precision}`` in ``[0, 1]``.
    """
    check_empty(empty)
    detections = lesion_detection(
        pred,
        ref,
        connectivity=connectivity,
        match=match,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )
    return {cls: d.precision(empty) for cls, d in detections.items()}


def lesion_f1(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    f1: str = "wmh",
    connectivity: int | None = None,
    match: str | float = "any",
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Lesion-wise F1 score per class.

    Convention:
        As :func:`lesion_detection`. ``f1="wmh"``: harmonic mean of lesion precision and
        recall (WMH 2017 ``getLesionDetection``); ``f1="isles"``: ``2 TP / (2 TP + FP +
        FN)`` on lesion counts (ISLES 2022 ``compute_lesion_f1_score``). Empty masks: 0 when
        the class is in only one of the two (as both codes), 1 or NaN (``empty``) when in
        neither (both codes: 1).

    Returns:
        ``{class index: F1}`` in ``[0, 1]``.

    Example:
        >>> import numpy as np
        >>> ref = np.array([[1, 0, 1, 0, 0, 0]]); pred = np.array([[1, 1, 1, 0, 0, 1]])
        >>> lesion_f1(pred, ref), lesion_f1(pred, ref, f1="isles")
        ({1: 0.6666666666666666}, {1: 0.8})
    """
    check_f1(f1)
    check_empty(empty)
    detections = lesion_detection(
        pred,
        ref,
        connectivity=connectivity,
        match=match,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )
    return {cls: d.f1(f1, empty) for cls, d in detections.items()}


def lesion_count_difference(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    connectivity: int | None = None,
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Absolute lesion-count difference ``|lesions(pred) - lesions(ref)|`` per class.

    Convention:
        ISLES 2022 ``compute_absolute_lesion_difference`` (26-connected components by
        default). Defined when either mask is empty; 0 (or NaN with ``empty="nan"``) when
        both are.

    Returns:
        ``{class index: difference}`` as floats.
    """
    check_empty(empty)
    detections = lesion_detection(
        pred,
        ref,
        connectivity=connectivity,
        num_classes=num_classes,
        include_background=include_background,
        classes=classes,
        one_hot=one_hot,
    )
    return {cls: d.count_difference(empty) for cls, d in detections.items()}


def absolute_volume_difference(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    spacing: Sequence[float] | float | None = None,
    unit: str = "ml",
    num_classes: int | None = None,
    include_background: bool = False,
    classes: Sequence[int] | None = None,
    one_hot: bool = False,
    empty: str = "perfect",
) -> dict[int, float]:
    """Absolute volume difference per class, in ml, in voxels or in percent of the
    reference volume.

    Convention:
        ``unit="ml"``: ``|V(pred) - V(ref)|`` in millilitres, the voxel volume being
        ``prod(spacing) / 1000`` with ``spacing`` in mm (``None``: 1 mm³ voxels); 3D only.
        ISLES 2022 ``compute_absolute_volume_difference``.
        ``unit="voxels"``: ``|n(pred) - n(ref)|``, the voxel (2D: pixel) counts, for
        images without a physical spacing; ``spacing`` is unused; 2D and 3D.
        ``unit="percent"``: ``100 |V(pred) - V(ref)| / V(ref)``, the WMH 2017 challenge's
        AVD (``getAVD``); ``spacing`` cancels. Empty masks: both empty gives 0 (NaN with
        ``empty="nan"``); an empty reference with a non-empty prediction gives ``inf`` in
        percent; otherwise the difference is computed.

    Args:
        spacing: voxel size per spatial axis in mm (used by ``unit="ml"`` only).
        unit: ``"ml"``, ``"voxels"`` or ``"percent"``.
        Others: as :func:`~boundaryloss.metrics.dice`.

    Returns:
        ``{class index: difference}`` as floats (ml, voxels or %).

    Raises:
        ValueError: ``unit="ml"`` with 2D masks, a bad ``unit``, or an input error.

    Example:
        >>> import numpy as np
        >>> ref = np.zeros((2, 2, 4), int); ref[0, 0] = 1; pred = ref.copy(); pred[1, 1] = 1
        >>> absolute_volume_difference(pred, ref, spacing=(10, 10, 10), unit="percent")
        {1: 100.0}
        >>> absolute_volume_difference(pred, ref, spacing=(5, 5, 4))
        {1: 0.4}
        >>> absolute_volume_difference(pred, ref, unit="voxels")
        {1: 4.0}
    """
    check_unit(unit)
    case = _case(pred, ref, spacing, num_classes, include_background, classes, one_hot, empty)
    return {cls: volume_difference(p, r, case.spacing, unit, empty) for cls, p, r in case}


def lesion_values(
    names: Sequence[str],
    pred: np.ndarray,
    ref: np.ndarray,
    spacing: Sequence[float],
    options: LesionOptions,
    empty: str,
) -> dict[str, float | int]:
    """Every requested lesion metric of one class (names from :data:`LESION_METRICS`).

    Lesion counts are ints, every other value a float.

    The evaluator's entry point: components are labelled once for all the names.
    """
    values: dict[str, float | int] = {}
    detection = None
    if any(not name.startswith("avd_") for name in names):
        detection = detect_lesions(pred, ref, options)
    for name in names:
        if name == "lesions_pred":
            values[name] = detection.pred_lesions
        elif name == "lesions_ref":
            values[name] = detection.ref_lesions
        elif name == "lesion_recall":
            values[name] = detection.recall(empty)
        elif name == "lesion_precision":
            values[name] = detection.precision(empty)
        elif name == "lesion_f1":
            values[name] = detection.f1(options.f1, empty)
        elif name == "lesion_count_difference":
            values[name] = detection.count_difference(empty)
        elif name == "avd_percent":
            values[name] = volume_difference(pred, ref, spacing, "percent", empty)
        elif name in ABSOLUTE_VOLUME_UNITS:
            values[name] = volume_difference(pred, ref, spacing, ABSOLUTE_VOLUME_UNITS[name], empty)
        else:
            check_one_of(name, LESION_METRICS, "lesion metric")
    return values
