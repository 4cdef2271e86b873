"""The per-lesion file of a lesion evaluation (``lesions.csv``): every lesion of every
scored case and foreground class, with its size and whether it is matched.

One row per lesion, columns :data:`COLUMNS`:

* ``case``, ``class``;
* ``source``: ``reference`` (a lesion of the reference) or ``prediction`` (of the
  prediction);
* ``lesion``: its number within (case, class, source), 1-based, in the order
  ``scipy.ndimage.label`` numbers the components;
* ``voxels``: its size in voxels (pixels in 2D);
* ``size``, ``size_unit``: its size in the unit of the case's spacing (:func:`size_unit`):
  ``mm3`` (3D) or ``mm2`` (2D) for spacing in mm, the voxel count itself (``voxels``, or
  ``pixels`` in 2D) for spacing in px;
* ``matched``: 1 or 0. A reference lesion is matched when the prediction detects it, a
  predicted lesion when it touches the reference (a true lesion), by the rule of
  :mod:`boundaryloss.metrics.lesion` (full connectivity, any overlap, by default).

Cases and classes without any lesion have no row: a case is lesion-free for a class when
no ``reference`` row names both. Lesions are found inside the case's field of view, as
every other score of the evaluation. :class:`~boundaryloss.metrics.screening.LesionTally`
pools the rows (:meth:`LesionList.tally`).
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._files import write_text_atomically
from .._units import MILLIMETRES, SPACING_UNITS
from .._validation import check_one_of
from ..metrics.lesion import LesionOptions
from ..metrics.screening import CaseLesions, LesionTally, case_lesions

COLUMNS = ("case", "class", "source", "lesion", "voxels", "size", "size_unit", "matched")
#: The ``source`` values: a lesion of the reference, or of the prediction.
SOURCES = ("reference", "prediction")


def size_unit(ndim: int, spacing_unit: str) -> str:
    """The unit of a lesion's ``size``: ``mm3``/``mm2`` for spacing in mm (3D/2D), else
    the voxel count, ``voxels`` (3D) or ``pixels`` (2D).

    Raises:
        ValueError: an unknown spacing unit.
    """
    check_one_of(spacing_unit, SPACING_UNITS, "spacing_unit")
    if spacing_unit == MILLIMETRES:
        return f"mm{ndim}"
    return "voxels" if ndim == 3 else "pixels"


def voxel_size(spacing: Sequence[float], spacing_unit: str) -> float:
    """The size of one voxel in :func:`size_unit`: the product of the spacing in mm, 1
    for spacing in px (sizes are voxel counts there)."""
    check_one_of(spacing_unit, SPACING_UNITS, "spacing_unit")
    return float(math.prod(spacing)) if spacing_unit == MILLIMETRES else 1.0


def _no_lesions() -> CaseLesions:
    none = np.zeros(0)
    return CaseLesions(none, none.astype(bool), none, none.astype(bool))


@dataclass(frozen=True)
class ListedLesions:
    """One case's lesions of one class: sizes in the list's unit, and in voxels."""

    lesions: CaseLesions
    ref_voxels: np.ndarray
    pred_voxels: np.ndarray


@dataclass
class LesionList:
    """The lesions of an evaluation, per (case, class): what ``lesions.csv`` holds.

    Attributes:
        options: how lesions are found and matched.
        cases: ``{(case, class): ListedLesions}``, in the order added.
        unit: the unit of the sizes (:func:`size_unit`); ``None`` before the first case.
    """

    options: LesionOptions = field(default_factory=LesionOptions)
    cases: dict[tuple[str, int], ListedLesions] = field(default_factory=dict)
    unit: str | None = None

    def update(
        self,
        case_id: str,
        prediction: np.ndarray,
        reference: np.ndarray,
        classes: Iterable[int],
        spacing: Sequence[float],
        spacing_unit: str,
    ) -> None:
        """Add one case: integer label maps ``(*spatial)`` (restricted to the field of
        view by the caller), the foreground ``classes`` to list.

        Raises:
            ValueError: shapes differ; sizes in a unit other than the earlier cases'.
        """
        unit = size_unit(np.ndim(reference), spacing_unit)
        if self.unit not in (None, unit):
            raise ValueError(
                f"case {case_id}: lesion sizes in {unit}, the earlier cases' in {self.unit}"
            )
        self.unit = unit
        scale = voxel_size(spacing, spacing_unit)
        for cls in classes:
            found = case_lesions(prediction == cls, reference == cls, self.options)
            in_unit = CaseLesions(
                found.ref_sizes * scale,
                found.ref_detected,
                found.pred_sizes * scale,
                found.pred_true,
            )
            self.cases[(str(case_id), int(cls))] = ListedLesions(
                in_unit, found.ref_sizes.astype(np.int64), found.pred_sizes.astype(np.int64)
            )

    def lesions(self, case_id: str, cls: int) -> CaseLesions:
        """The lesions of ``case_id`` and class ``cls``, sizes in :attr:`unit` (none for a
        case the list does not hold: a case without lesions)."""
        listed = self.cases.get((case_id, cls))
        return _no_lesions() if listed is None else listed.lesions

    def tally(self, cases: Iterable[str], cls: int) -> LesionTally:
        """The pooled counts of class ``cls`` over ``cases`` (every scored case, those
        without lesions included: they are the lesion-free ones), sizes in :attr:`unit`."""
        tally = LesionTally(self.options)
        for case_id in cases:
            tally.add(self.lesions(case_id, cls))
        return tally

    def to_csv(self) -> str:
        """The rows of :data:`COLUMNS`, case by case in the order added."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(COLUMNS)
        for (case_id, cls), listed in self.cases.items():
            found = listed.lesions
            for source, voxels, sizes, matched in (
                ("reference", listed.ref_voxels, found.ref_sizes, found.ref_detected),
                ("prediction", listed.pred_voxels, found.pred_sizes, found.pred_true),
            ):
                for index, row in enumerate(zip(voxels, sizes, matched, strict=True), 1):
                    count, size, hit = row
                    writer.writerow(
                        [case_id, cls, source, index, int(count), float(size), self.unit, int(hit)]
                    )
        return buffer.getvalue()

    def write(self, path: Path) -> Path:
        """Write ``lesions.csv`` atomically."""
        return write_text_atomically(path, self.to_csv())


def read_lesion_file(path: Path, options: LesionOptions | None = None) -> LesionList:
    """Read an evaluation's ``lesions.csv`` back.

    Args:
        options: the lesion options the evaluation used (the default ones for
            ``boundaryloss evaluate --lesion``).

    Raises:
        ValueError: a header other than :data:`COLUMNS`, a bad value or several units
            (naming the file and line).
    """
    listed = LesionList(LesionOptions() if options is None else options)
    rows: dict[tuple[str, int], dict[str, list[tuple[int, float, bool]]]] = defaultdict(
        lambda: {source: [] for source in SOURCES}
    )
    units = set()
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: columns {reader.fieldnames}, expected {list(COLUMNS)}")
        try:
            for raw in reader:
                source = check_one_of(raw["source"], SOURCES, "source")
                rows[(raw["case"], int(raw["class"]))][source].append(
                    (int(raw["voxels"]), float(raw["size"]), bool(int(raw["matched"])))
                )
                units.add(raw["size_unit"])
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: line {reader.line_num}: {error}") from None
    if len(units) > 1:
        raise ValueError(f"{path}: lesion sizes in several units: {sorted(units)}")
    listed.unit = next(iter(units), None)
    for key, by_source in rows.items():
        ref, pred = by_source["reference"], by_source["prediction"]
        listed.cases[key] = ListedLesions(
            CaseLesions(
                np.array([size for _, size, _ in ref], dtype=float),
                np.array([hit for _, _, hit in ref], dtype=bool),
                np.array([size for _, size, _ in pred], dtype=float),
                np.array([hit for _, _, hit in pred], dtype=bool),
            ),
            np.array([voxels for voxels, _, _ in ref], dtype=np.int64),
            np.array([voxels for voxels, _, _ in pred], dtype=np.int64),
        )
    return listed
