"""The record every reader produces and every pipeline step consumes: one whole case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

# ``Case.spacing``'s units, MILLIMETRES ("mm", a header's physical voxel size) and PIXELS
# ("px", images without one), and SPACING_UNITS, both: defined in boundaryloss._units so
# that the core (metrics) names them without importing the data stack; re-exported here.
from .._units import MILLIMETRES as MILLIMETRES
from .._units import PIXELS as PIXELS
from .._units import SPACING_UNITS as SPACING_UNITS
from .._validation import check_one_of


@dataclass
class Case:
    """One image (2D or 3D, one or more channels) with its label and geometry.

    Convention:
        Arrays are channel-first and in NumPy axis order. For NIfTI volumes the
        spatial axes are the file's voxel axes (i, j, k) as nibabel returns them, and
        ``spacing`` is the voxel size along those axes, in millimetres
        (``header.get_zooms()[:3]``); ``affine`` is the file's voxel-to-world matrix.
        A 2D NIfTI image (stored ``(X, Y)`` or ``(X, Y, 1)``) has the axes (i, j), their
        spacing in mm and the file's 4x4 affine.
        For 2D images the axes are (row, column) and spacing is in pixels (1, 1) unless
        the dataset knows better.
        ``spacing_unit`` says which: every reader sets it, ``"mm"`` where the spacing is
        a header's physical voxel size (NIfTI, MSD / nnU-Net 3D), ``"px"`` where the
        files have none (2D image formats, nnU-Net 2D datasets, synthetic data). Every
        distance measured on the case (HD95, the image diagonal that stands in for a
        missed structure, distance maps) is in that unit; resizing or slicing a case
        keeps it (a resized ``"px"`` case measures in the original image's pixels).

    Attributes:
        case_id: unique id within a dataset (e.g. ``"hippocampus_001"``, ``"21"``).
        image: float32 ``(C_in, *spatial)``.
        label: int64 ``(*spatial)`` class indices, or None for unlabelled cases.
        spacing: pixel size per spatial axis, in ``spacing_unit``.
        affine: 4x4 voxel-to-world matrix (NIfTI), or None.
        fov: bool ``(*spatial)`` field-of-view mask (retinal images), or None; evaluation
            scores inside it only (:func:`~boundaryloss.data.fov.restrict_to_fov`).
        source: the file(s) the case was read from, for error messages and writing
            predictions back in the input's format.
        meta: anything else a reader knows (modalities, frame, observer, ...).
        spacing_unit: ``"mm"`` (:data:`MILLIMETRES`) or ``"px"`` (:data:`PIXELS`), see
            the convention above; keyword only and required, so a reader that forgets
            it fails instead of claiming millimetres (readers of files ask
            :func:`~boundaryloss.data.io.spacing_unit_of`).

    Raises:
        ValueError: arrays of inconsistent shapes, a spacing without one value per
            spatial axis, or an unknown ``spacing_unit``.

    Example:
        >>> case = Case("c", np.zeros((1, 4, 5), np.float32), None, (1, 1), spacing_unit="px")
        >>> case.spatial_shape, case.spacing, case.spacing_unit
        ((4, 5), (1.0, 1.0), 'px')
    """

    case_id: str
    image: np.ndarray
    label: np.ndarray | None
    spacing: tuple[float, ...]
    affine: np.ndarray | None = None
    fov: np.ndarray | None = None
    source: tuple[Path, ...] = ()
    meta: dict = field(default_factory=dict)
    spacing_unit: str = field(kw_only=True)

    def __post_init__(self) -> None:
        spatial = self.image.shape[1:]
        if self.image.ndim not in (3, 4):
            raise ValueError(
                f"case {self.case_id}: image must be (C, *spatial) with 2 or 3 spatial axes, "
                f"got shape {self.image.shape}"
            )
        if self.label is not None and self.label.shape != spatial:
            raise ValueError(
                f"case {self.case_id}: label shape {self.label.shape} does not match image "
                f"spatial shape {spatial} ({', '.join(map(str, self.source)) or 'in memory'})"
            )
        if self.fov is not None and self.fov.shape != spatial:
            raise ValueError(
                f"case {self.case_id}: field-of-view mask shape {self.fov.shape} does not "
                f"match image spatial shape {spatial}"
            )
        if len(self.spacing) != len(spatial):
            raise ValueError(
                f"case {self.case_id}: spacing {self.spacing} must have one value per "
                f"spatial axis ({len(spatial)})"
            )
        self.spacing = tuple(float(s) for s in self.spacing)
        check_one_of(self.spacing_unit, SPACING_UNITS, f"case {self.case_id}: spacing_unit")

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(self.image.shape[1:])

    @property
    def provenance(self) -> str:
        """Where the case came from, for messages: its files, or ``case ID`` for a case
        built in memory."""
        return ", ".join(map(str, self.source)) or f"case {self.case_id}"

    @property
    def ndim(self) -> int:
        """Number of spatial axes (2 or 3)."""
        return self.image.ndim - 1

    def with_arrays(self, **changes) -> Case:
        """A copy with some fields replaced (arrays are not copied)."""
        return replace(self, **changes)


def check_finite_image(case: Case) -> Case:
    """Refuse a case whose image holds NaN or infinite intensities; return it otherwise.

    Normalisation would spread one such voxel over the whole image (min, max, mean and
    std become NaN): training would stop later at a NaN network output naming no file,
    and a prediction would be a blank, wrong label map.

    Raises:
        ValueError: naming the case's files (or its id, for a case built in memory), how
            many values are bad and in which channel(s).
    """
    finite = np.isfinite(case.image)
    if finite.all():
        return case
    bad = int(finite.size - np.count_nonzero(finite))
    channels = [c for c in range(case.image.shape[0]) if not finite[c].all()]
    raise ValueError(
        f"{case.provenance}: the image holds {bad} NaN or infinite value(s) (channel(s) "
        f"{', '.join(map(str, channels))}); fix or remove the case"
    )


def shared_spacing_unit(units: Iterable[str]) -> str:
    """The one unit of a set of cases' ``spacing_unit`` values: the unit of every distance
    measured on them, to be averaged together.

    There is no default: an empty set (no cases) has no unit, and naming one would label
    distances that were never measured (as ``Case.spacing_unit`` has none either).

    Raises:
        ValueError: no units (no cases), or the cases measure in different units.
    """
    found = sorted(set(units))
    if not found:
        raise ValueError("no cases: their spacing has no unit to name")
    if len(found) > 1:
        raise ValueError(
            f"the cases' spacing is in different units ({', '.join(found)}); distances in "
            "different units cannot be averaged"
        )
    return found[0]
