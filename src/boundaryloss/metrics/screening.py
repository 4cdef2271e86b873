"""Lesion detection pooled over a dataset: what a screening reader asks first.

In screening data (fundus photographs, stroke or white-matter MRI) many images hold few
lesions or none, so a mean of per-image scores is dominated by the easy images. These
scores pool the lesions of every case instead, per class:

* **pooled lesion recall** ``sum(detected reference lesions) / sum(reference lesions)``;
* **pooled lesion precision** ``sum(true predicted lesions) / sum(predicted lesions)``;
* **pooled lesion F1** their harmonic mean ``2 P R / (P + R)`` (the WMH 2017 definition,
  applied to the pooled counts);
* **false-positive lesions per lesion-free case**: predicted lesions in the cases whose
  reference has no lesion of the class, divided by the number of such cases;
* **lesion recall by size**: recall of the reference lesions whose size falls in each
  bin, e.g. the tertiles of the reference lesions' sizes (:func:`size_tertiles`).

Lesions are connected components and are matched as :mod:`boundaryloss.metrics.lesion`
defines (full connectivity and any overlap by default). :func:`case_lesions` lists one
case's lesions, each with its size and whether it is matched; :class:`LesionTally` pools
such lists, found from masks or read back from an evaluation's per-lesion file.

Empty sets: a recall over no reference lesion, a precision over no predicted lesion
while reference lesions exist (0: nothing was found), and the false-positive rate over
no lesion-free case are NaN, 0 and NaN: a ratio over nothing is undefined, and NaN is
never averaged silently (a table shows "n/a"). Precision and F1 with neither predicted
nor reference lesions are NaN too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from .lesion import LesionOptions, check_connectivity, covered_components


def _components(mask: np.ndarray, options: LesionOptions) -> tuple[np.ndarray, int]:
    rank = check_connectivity(options.connectivity, mask.ndim)
    structure = ndimage.generate_binary_structure(mask.ndim, rank)
    labels, count = ndimage.label(mask, structure=structure)
    return labels, int(count)


@dataclass(frozen=True)
class CaseLesions:
    """The lesions of one class in one case, in label order of ``scipy.ndimage.label``.

    Attributes:
        ref_sizes: float ``(reference lesions,)``, each reference lesion's size (voxels
            from :func:`case_lesions`).
        ref_detected: bool ``(reference lesions,)``, whether the prediction matches it.
        pred_sizes: float ``(predicted lesions,)``, each predicted lesion's size.
        pred_true: bool ``(predicted lesions,)``, whether it matches the reference.
    """

    ref_sizes: np.ndarray
    ref_detected: np.ndarray
    pred_sizes: np.ndarray
    pred_true: np.ndarray


def case_lesions(
    pred: np.ndarray, ref: np.ndarray, options: LesionOptions | None = None
) -> CaseLesions:
    """Find and match the lesions of one class in one case (sizes in voxels).

    Args:
        pred, ref: boolean masks of the class, same shape (2D or 3D).
        options: how lesions are found and matched (default :class:`LesionOptions`).

    Raises:
        ValueError: shapes differ; a connectivity the masks' dimension has not.
    """
    options = LesionOptions() if options is None else options
    pred, ref = np.asarray(pred, dtype=bool), np.asarray(ref, dtype=bool)
    if pred.shape != ref.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from reference {ref.shape}")
    ref_labels, n_ref = _components(ref, options)
    pred_labels, n_pred = _components(pred, options)
    return CaseLesions(
        np.bincount(ref_labels.ravel(), minlength=n_ref + 1)[1:].astype(float),
        covered_components(ref_labels, n_ref, pred, options.match),
        np.bincount(pred_labels.ravel(), minlength=n_pred + 1)[1:].astype(float),
        covered_components(pred_labels, n_pred, ref, options.match),
    )


@dataclass
class LesionTally:
    """Lesions of one class counted over cases; the pooled scores of the module docstring.

    Args:
        options: how lesions are found and matched.

    Example:
        >>> import numpy as np
        >>> tally = LesionTally()
        >>> ref = np.zeros((8, 8), bool); ref[1, 1] = ref[5, 5] = True
        >>> pred = np.zeros((8, 8), bool); pred[1, 1] = pred[3, 7] = True
        >>> tally.update(pred, ref)
        >>> tally.update(pred, np.zeros((8, 8), bool))  # a lesion-free case, 2 false lesions
        >>> tally.recall(), tally.precision(), tally.false_lesions_per_free_case()
        (0.5, 0.25, 2.0)
    """

    options: LesionOptions = field(default_factory=LesionOptions)
    ref_sizes: list[float] = field(default_factory=list)
    ref_detected: list[bool] = field(default_factory=list)
    pred_lesions: int = 0
    true_pred: int = 0
    free_cases: int = 0
    free_case_false_lesions: int = 0

    def update(self, pred: np.ndarray, ref: np.ndarray, voxel_volume: float = 1.0) -> None:
        """Add one case: boolean masks of the class, same shape.

        Args:
            voxel_volume: the size of one voxel (1: sizes in voxels; the product of the
                spacing: in mm³ or px²).

        Raises:
            ValueError: shapes differ.
        """
        self.add(case_lesions(pred, ref, self.options), voxel_volume)

    def add(self, lesions: CaseLesions, voxel_volume: float = 1.0) -> None:
        """Add one case's lesions as :func:`case_lesions` finds them (or as an evaluation's
        per-lesion file lists them); a case without reference lesions is lesion-free.

        Args:
            voxel_volume: what one unit of ``lesions.ref_sizes`` is worth in
                :attr:`ref_sizes` (1: kept as they are).
        """
        if lesions.ref_sizes.size:
            self.ref_sizes.extend(float(s) * voxel_volume for s in lesions.ref_sizes)
            self.ref_detected.extend(bool(d) for d in lesions.ref_detected)
        else:
            self.free_cases += 1
            self.free_case_false_lesions += int(lesions.pred_sizes.size)
        self.pred_lesions += int(lesions.pred_sizes.size)
        self.true_pred += int(np.count_nonzero(lesions.pred_true))

    @property
    def ref_lesions(self) -> int:
        """Reference lesions counted so far."""
        return len(self.ref_sizes)

    @property
    def detected(self) -> int:
        """Reference lesions the predictions matched."""
        return int(sum(self.ref_detected))

    def recall(self) -> float:
        """Pooled lesion recall; NaN without reference lesions."""
        return self.detected / self.ref_lesions if self.ref_lesions else float("nan")

    def precision(self) -> float:
        """Pooled lesion precision; 0 without predicted lesions when reference lesions
        exist, NaN when there are neither."""
        if self.pred_lesions:
            return self.true_pred / self.pred_lesions
        return 0.0 if self.ref_lesions else float("nan")

    def f1(self) -> float:
        """Harmonic mean of the pooled precision and recall (0 when both are 0)."""
        p, r = self.precision(), self.recall()
        if np.isnan(p) or np.isnan(r):
            return float("nan")
        return 0.0 if p + r == 0 else 2.0 * p * r / (p + r)

    def false_lesions_per_free_case(self) -> float:
        """Predicted lesions per case without reference lesions; NaN without such cases."""
        return self.free_case_false_lesions / self.free_cases if self.free_cases else float("nan")

    def recall_by_size(self, edges: Sequence[float]) -> list[tuple[float, int]]:
        """Recall of the reference lesions in each size bin.

        Args:
            edges: increasing bin edges ``e_0 < ... < e_n``; bin ``i`` holds sizes in
                ``(e_i, e_{i+1}]`` (the first bin also holds ``e_0``).

        Returns:
            ``[(recall, lesions)]`` per bin; recall NaN for an empty bin.
        """
        return recall_by_size(self.ref_sizes, self.ref_detected, edges)

    def as_dict(self) -> dict[str, float | int]:
        """The scores and counts, for a summary file."""
        return {
            "lesion_recall": self.recall(),
            "lesion_precision": self.precision(),
            "lesion_f1": self.f1(),
            "false_lesions_per_free_case": self.false_lesions_per_free_case(),
            "reference_lesions": self.ref_lesions,
            "detected_lesions": self.detected,
            "predicted_lesions": self.pred_lesions,
            "true_predicted_lesions": self.true_pred,
            "lesion_free_cases": self.free_cases,
            "false_lesions_in_free_cases": self.free_case_false_lesions,
        }


def size_tertiles(sizes: Sequence[float]) -> list[float]:
    """Bin edges ``[min, q1/3, q2/3, max]`` of lesion sizes, for :func:`recall_by_size`.

    Raises:
        ValueError: no sizes.
    """
    sizes = np.asarray(sizes, dtype=float)
    if sizes.size == 0:
        raise ValueError("size tertiles of no lesion")
    return [float(v) for v in np.quantile(sizes, [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0])]


def recall_by_size(
    sizes: Sequence[float], detected: Sequence[bool], edges: Sequence[float]
) -> list[tuple[float, int]]:
    """Recall of lesions binned by size (see :meth:`LesionTally.recall_by_size`).

    Raises:
        ValueError: ``sizes`` and ``detected`` differ in length, or ``edges`` are fewer
            than 2 or not increasing.
    """
    sizes, detected = np.asarray(sizes, dtype=float), np.asarray(detected, dtype=bool)
    edges = np.asarray(edges, dtype=float)
    if sizes.shape != detected.shape:
        raise ValueError(f"{sizes.size} sizes but {detected.size} detection flags")
    if edges.size < 2 or np.any(np.diff(edges) < 0):
        raise ValueError(f"size bin edges must be at least 2 increasing values, got {edges}")
    # Bin i: (e_i, e_{i+1}], the first closed on the left too.
    index = np.clip(np.searchsorted(edges, sizes, side="left") - 1, 0, edges.size - 2)
    out = []
    for i in range(edges.size - 1):
        inside = index == i
        inside &= (sizes >= edges[0]) & (sizes <= edges[-1])
        n = int(np.count_nonzero(inside))
        out.append((float(detected[inside].mean()) if n else float("nan"), n))
    return out
