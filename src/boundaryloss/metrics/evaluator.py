"""Dataset evaluation: per-case, per-class metrics, a CSV table and a summary that counts misses."""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections.abc import Hashable, Sequence
from pathlib import Path

import numpy as np

from .._files import write_text_atomically
from .._validation import ArrayLike, check_one_of
from ..stats import bootstrap_ci
from ._empty import (
    MISSED_SCORE,
    both_empty_distance,
    both_empty_score,
    check_empty,
    check_missing,
    missed_distance,
)
from ._inputs import prepare_case
from ._surface import surface_distances
from .hausdorff import check_mode, reduce_hausdorff
from .lesion import ABSOLUTE_VOLUME_UNITS, LESION_METRICS, LesionOptions, lesion_values
from .overlap import OVERLAP_METRICS, overlap_score
from .specificity import NEGATIVE_METRICS, check_roi, negative_score
from .surface_dice import check_tolerance, reduce_surface_dice
from .surface_distance import reduce_average

DISTANCE_METRICS = ("hd", "hd95", "assd")
METRICS = (*OVERLAP_METRICS, *NEGATIVE_METRICS, *DISTANCE_METRICS, "nsd", *LESION_METRICS)
DEFAULT_METRICS = ("dice", "hd95", "assd")
BOOTSTRAP_RESAMPLES = 10000
#: Lesion metrics added by ``lesion=True``: every one whose value does not depend on the
#: unit of the spacing. The absolute volume differences (``"avd_ml"`` for 3D cases with a
#: spacing in mm, ``"avd_voxels"`` for a spacing in pixels) are added by name, as
#: :func:`~boundaryloss.metrics.lesion.absolute_volume_metric` picks.
DEFAULT_LESION_METRICS = tuple(m for m in LESION_METRICS if m not in ABSOLUTE_VOLUME_UNITS)
#: Per (case, class) status: both present, present only in the reference (a missed
#: structure), present only in the prediction (a spurious one), absent from both.
STATUSES = ("ok", "missed", "spurious", "both_empty")


def _validate_args(
    metrics: Sequence[str],
    hd_mode: str,
    nsd_tolerance: float | None,
    missing: str,
    empty: str,
    lesion: bool | LesionOptions,
) -> tuple[str, ...]:
    if isinstance(metrics, str) or not metrics:
        raise ValueError(f"metrics must be a non-empty sequence of names, got {metrics!r}")
    if not isinstance(lesion, (bool, LesionOptions)):
        raise ValueError(f"lesion must be a bool or a LesionOptions, got {lesion!r}")
    names = tuple(metrics)
    if lesion is not False:
        names += tuple(m for m in DEFAULT_LESION_METRICS if m not in names)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"metrics must be chosen from {METRICS}, got unknown {unknown}")
    if len(set(names)) != len(names):
        raise ValueError(f"metrics must not contain duplicates, got {list(names)}")
    check_mode(hd_mode, "hd_mode")
    if "nsd" in names:
        if nsd_tolerance is None:
            raise ValueError("nsd_tolerance (in spacing units, e.g. mm) is required for 'nsd'")
        check_tolerance(nsd_tolerance)
    check_missing(missing)
    check_empty(empty)
    return names


def _status(has_pred: bool, has_ref: bool) -> str:
    if has_pred and has_ref:
        return "ok"
    if has_ref:
        return "missed"
    return "spurious" if has_pred else "both_empty"


class SegmentationEvaluator:
    """Accumulate per-case, per-class metrics over a dataset; report a table and a summary.

    Convention:
        Each :meth:`update` evaluates one case with the metric functions of this package
        (same definitions, same empty-mask rule) and records one row per selected class:
        ``case``, ``class``, ``status`` (``"ok"``, ``"missed"``: in the reference only,
        ``"spurious"``: in the prediction only, ``"both_empty"``), the voxel counts
        ``pred_voxels`` and ``ref_voxels``, then one column per metric. Distances are in
        the units of ``spacing`` (e.g. mm). Surface distances are computed once per case
        and class and shared by ``hd``, ``hd95``, ``assd`` and ``nsd``.

        :meth:`summary` reports, per metric and class, the number of cases, how many were
        missed, spurious or both-empty, and the mean, standard deviation (``ddof=0``) and
        median over every value that is not NaN (``n_averaged`` says how many). With the
        default ``missing="inf"`` a miss makes the mean ``inf`` — a failure is never
        dropped silently; ``missing="diagonal"`` gives a finite penalty instead, and
        ``missing="nan"`` excludes misses from the distance statistics, visibly, through
        ``n_averaged``.

    Args:
        metrics: names among ``"dice"``, ``"jaccard"``, ``"precision"``, ``"recall"``,
            ``"specificity"``, ``"accuracy"``, ``"hd"``, ``"hd95"``, ``"assd"``, ``"nsd"``
            and the lesion metrics
            ``"lesions_pred"``, ``"lesions_ref"``, ``"lesion_recall"``,
            ``"lesion_precision"``, ``"lesion_f1"``, ``"lesion_count_difference"``,
            ``"avd_percent"``, ``"avd_ml"``, ``"avd_voxels"`` (see
            :mod:`boundaryloss.metrics.lesion`).
        num_classes: number of classes of a label map (default 2: a binary mask).
        include_background: evaluate class 0 too.
        classes: explicit class indices to evaluate.
        one_hot: inputs are ``(C, *spatial)`` binary masks.
        spacing: default voxel size per spatial axis; :meth:`update` can override it.
        hd_mode: ``"max"`` (MONAI) or ``"pooled"`` (medpy) HD95, see
            :func:`~boundaryloss.metrics.hausdorff_distance`.
        nsd_tolerance: tolerance of ``"nsd"`` in spacing units (required for it).
        missing: distance of a missed or spurious structure: ``"inf"``, ``"nan"`` or
            ``"diagonal"``.
        empty: ``"perfect"`` or ``"nan"``, the value of every metric when a class is absent
            from both.
        lesion: add the lesion-wise metrics (:data:`DEFAULT_LESION_METRICS`: lesion counts,
            lesion recall, precision and F1, lesion-count difference, volume difference in
            percent) — for lesion-like tasks (WMH, ISLES). ``True`` uses the default
            :class:`~boundaryloss.metrics.LesionOptions` (full connectivity, any overlap, WMH
            F1); a ``LesionOptions`` sets connectivity, matching rule and F1 definition, and
            also applies to lesion metrics named in ``metrics``. The absolute volume
            difference is added by name, in the unit the spacing allows: ``"avd_ml"``
            (3D, spacing in mm) or ``"avd_voxels"`` (a voxel count, for a spacing in
            pixels).

    Raises:
        ValueError: unknown or duplicate metric names, ``"nsd"`` without a tolerance, or an
            unknown ``hd_mode``, ``missing``, ``empty`` or ``lesion``.

    Example:
        >>> import numpy as np
        >>> ev = SegmentationEvaluator(metrics=("dice", "hd95"))
        >>> ref = np.zeros((8, 8), int); ref[2:5, 2:5] = 1
        >>> _ = ev.update("a", ref, ref)
        >>> _ = ev.update("b", np.zeros_like(ref), ref)
        >>> ev.summary()["dice"][1]["n_missed"]
        1
    """

    def __init__(
        self,
        metrics: Sequence[str] = DEFAULT_METRICS,
        *,
        num_classes: int | None = None,
        include_background: bool = False,
        classes: Sequence[int] | None = None,
        one_hot: bool = False,
        spacing: Sequence[float] | float | None = None,
        hd_mode: str = "max",
        nsd_tolerance: float | None = None,
        missing: str = "inf",
        empty: str = "perfect",
        lesion: bool | LesionOptions = False,
    ) -> None:
        self.metrics = _validate_args(metrics, hd_mode, nsd_tolerance, missing, empty, lesion)
        self.lesion_options = lesion if isinstance(lesion, LesionOptions) else LesionOptions()
        self.num_classes = num_classes
        self.include_background = include_background
        self.classes = classes
        self.one_hot = one_hot
        self.spacing = spacing
        self.hd_mode = hd_mode
        self.nsd_tolerance = None if nsd_tolerance is None else float(nsd_tolerance)
        self.missing = missing
        self.empty = empty
        self._rows: list[dict[str, object]] = []
        self._case_ids: list[Hashable] = []

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of :meth:`rows` and of the CSV table, in order."""
        return ("case", "class", "status", "pred_voxels", "ref_voxels", *self.metrics)

    @property
    def case_ids(self) -> tuple[Hashable, ...]:
        """Case ids in the order they were added."""
        return tuple(self._case_ids)

    def __len__(self) -> int:
        return len(self._case_ids)

    def reset(self) -> None:
        """Forget every case."""
        self._rows.clear()
        self._case_ids.clear()

    def update(
        self,
        case_id: Hashable,
        pred: ArrayLike,
        ref: ArrayLike,
        spacing: Sequence[float] | float | None = None,
        mask: ArrayLike | None = None,
    ) -> dict[int, dict[str, float]]:
        """Evaluate one case and record its rows.

        Args:
            case_id: unique identifier of the case (e.g. the file stem).
            pred: prediction, layout as configured (label map or one-hot).
            ref: reference segmentation, same layout and shape.
            spacing: voxel size of this case; defaults to the evaluator's ``spacing``.
            mask: region of interest ``(*spatial)`` (a field of view): every metric only
                sees the voxels inside it — prediction and reference are background
                outside, and specificity and accuracy count true negatives inside it only.

        Returns:
            ``{class index: {metric: value}}`` for this case.

        Raises:
            ValueError: a duplicate ``case_id`` or any input error of the metric functions.
        """
        if case_id in self._case_ids:
            raise ValueError(f"case_id {case_id!r} was already added")
        case = prepare_case(
            pred,
            ref,
            spacing=self.spacing if spacing is None else spacing,
            num_classes=self.num_classes,
            include_background=self.include_background,
            classes=self.classes,
            one_hot=self.one_hot,
        )
        roi = check_roi(mask, case.shape)
        region = int(np.prod(case.shape)) if roi is None else int(np.count_nonzero(roi))
        rows = []
        for cls, pred_mask, ref_mask in case:
            if roi is not None:
                pred_mask, ref_mask = pred_mask & roi, ref_mask & roi
            n_pred, n_ref = int(np.count_nonzero(pred_mask)), int(np.count_nonzero(ref_mask))
            status = _status(n_pred > 0, n_ref > 0)
            values = self._evaluate(pred_mask, ref_mask, status, case.shape, case.spacing, region)
            rows.append(
                {
                    "case": case_id,
                    "class": cls,
                    "status": status,
                    "pred_voxels": n_pred,
                    "ref_voxels": n_ref,
                    **values,
                }
            )
        self._rows.extend(rows)
        self._case_ids.append(case_id)
        return {row["class"]: {m: row[m] for m in self.metrics} for row in rows}

    def _evaluate(
        self,
        pred: np.ndarray,
        ref: np.ndarray,
        status: str,
        shape: tuple[int, ...],
        spacing: tuple[float, ...],
        region: int,
    ) -> dict[str, float]:
        lesion_names = [m for m in self.metrics if m in LESION_METRICS]
        # Lesion metrics, specificity and accuracy own their empty-mask rule (counts,
        # volume differences and true negatives stay defined for a miss).
        own_rule = (
            lesion_values(lesion_names, pred, ref, spacing, self.lesion_options, self.empty)
            if lesion_names
            else {}
        )
        for name in self.metrics:
            if name in NEGATIVE_METRICS:
                own_rule[name] = negative_score(name, pred, ref, region, self.empty)
        if status != "ok":
            score = both_empty_score(self.empty) if status == "both_empty" else MISSED_SCORE
            distance = (
                both_empty_distance(self.empty)
                if status == "both_empty"
                else missed_distance(self.missing, shape, spacing)
            )
            return {
                m: own_rule[m] if m in own_rule else distance if m in DISTANCE_METRICS else score
                for m in self.metrics
            }
        values: dict[str, float] = {}
        distances = None
        if any(m in DISTANCE_METRICS or m == "nsd" for m in self.metrics):
            distances = surface_distances(pred, ref, spacing)
        for metric in self.metrics:
            if metric in own_rule:
                values[metric] = own_rule[metric]
            elif metric in OVERLAP_METRICS:
                values[metric] = float(overlap_score(metric, pred, ref))
            elif metric == "hd":
                values[metric] = reduce_hausdorff(distances, None, self.hd_mode)
            elif metric == "hd95":
                values[metric] = reduce_hausdorff(distances, 95.0, self.hd_mode)
            elif metric == "assd":
                values[metric] = reduce_average(distances, symmetric=True)
            else:
                values[metric] = reduce_surface_dice(distances, self.nsd_tolerance)
        return values

    def rows(self) -> list[dict[str, object]]:
        """One dict per (case, class), keys :attr:`columns`, in insertion order."""
        return [dict(row) for row in self._rows]

    def values(self, metric: str, cls: int) -> np.ndarray:
        """Values of ``metric`` for class ``cls``, one per case in :attr:`case_ids` order.

        Use these for paired tests between two evaluators run on the same cases.
        """
        check_one_of(metric, self.metrics, "metric")
        return np.array(
            [row[metric] for row in self._rows if row["class"] == cls], dtype=np.float64
        )

    def summary(
        self, confidence: float | None = None
    ) -> dict[str, dict[int, dict[str, float | int]]]:
        """Per metric and class: counts and mean/std/median of the non-NaN values.

        Args:
            confidence: also report the percentile bootstrap confidence interval of the
                mean at this level (e.g. 0.95; :func:`~boundaryloss.stats.bootstrap_ci`,
                10000 resamples of the cases, seed 0) as ``ci_low`` and ``ci_high``. NaN
                when fewer than two values are averaged or one is infinite (a miss with
                ``missing="inf"``: the mean itself is then ``inf``).

        Returns:
            ``{metric: {class: {"n", "n_averaged", "n_missed", "n_spurious",
            "n_both_empty", "mean", "std", "median"}}}`` (and ``"ci_low"``, ``"ci_high"``).
            ``n`` counts cases, ``n_averaged`` the values entering mean/std/median (all but
            NaN); statistics of no value are NaN.
        """
        classes = sorted({row["class"] for row in self._rows})
        result: dict[str, dict[int, dict[str, float | int]]] = {}
        for metric in self.metrics:
            result[metric] = {}
            for cls in classes:
                rows = [row for row in self._rows if row["class"] == cls]
                values = np.array([row[metric] for row in rows], dtype=np.float64)
                kept = values[~np.isnan(values)]
                counts = {s: sum(row["status"] == s for row in rows) for s in STATUSES}
                with warnings.catch_warnings(), np.errstate(invalid="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    stats = (
                        (float(np.mean(kept)), float(np.std(kept)), float(np.median(kept)))
                        if kept.size
                        else (math.nan, math.nan, math.nan)
                    )
                result[metric][cls] = {
                    "n": len(rows),
                    "n_averaged": int(kept.size),
                    "n_missed": counts["missed"],
                    "n_spurious": counts["spurious"],
                    "n_both_empty": counts["both_empty"],
                    "mean": stats[0],
                    "std": stats[1],
                    "median": stats[2],
                }
                if confidence is not None:
                    low = high = math.nan
                    if kept.size > 1 and np.all(np.isfinite(kept)):
                        interval = bootstrap_ci(
                            kept, confidence, n_resamples=BOOTSTRAP_RESAMPLES, seed=0
                        )
                        low, high = interval.low, interval.high
                    result[metric][cls].update(ci_low=low, ci_high=high)
        return result

    def merge(self, other: SegmentationEvaluator) -> None:
        """Add the cases of ``other`` after this evaluator's, as if updated here.

        For cases scored elsewhere (e.g. in worker processes, one evaluator each) with
        the same settings.

        Raises:
            ValueError: ``other`` has other columns, or a case id already added.
        """
        if other.columns != self.columns:
            raise ValueError(
                f"cannot merge an evaluator with columns {other.columns} into {self.columns}"
            )
        again = [c for c in other.case_ids if c in self._case_ids]
        if again:
            raise ValueError(f"case_id {again[0]!r} was already added")
        self._rows.extend(other.rows())
        self._case_ids.extend(other.case_ids)

    def csv_text(self) -> str:
        """The table as CSV text: :attr:`columns`, one line per row.

        Floats are written with ``repr`` precision; ``inf`` and ``nan`` as ``inf``/``nan``.
        """
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns)
        writer.writeheader()
        writer.writerows(self._rows)
        return buffer.getvalue()

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`csv_text` to ``path`` atomically (temporary file, then
        ``os.replace``). The file's permissions follow the umask.

        Returns:
            The path written.
        """
        return write_text_atomically(path, self.csv_text())
