"""The record every reader produces and every pipeline step consumes: one whole case."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np


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

    Attributes:
        case_id: unique id within a dataset (e.g. ``"hippocampus_001"``, ``"21"``).
        image: float32 ``(C_in, *spatial)``.
        label: int64 ``(*spatial)`` class indices, or None for unlabelled cases.
        spacing: physical pixel size per spatial axis.
        affine: 4x4 voxel-to-world matrix (NIfTI), or None.
        fov: bool ``(*spatial)`` field-of-view mask (retinal images), or None; evaluation
            scores inside it only (:func:`~boundaryloss.data.fov.restrict_to_fov`).
        source: the file(s) the case was read from, for error messages and writing
            predictions back in the input's format.
        meta: anything else a reader knows (modalities, frame, observer, ...).
    """

    case_id: str
    image: np.ndarray
    label: np.ndarray | None
    spacing: tuple[float, ...]
    affine: np.ndarray | None = None
    fov: np.ndarray | None = None
    source: tuple[Path, ...] = ()
    meta: dict = field(default_factory=dict)

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

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(self.image.shape[1:])

    @property
    def ndim(self) -> int:
        """Number of spatial axes (2 or 3)."""
        return self.image.ndim - 1

    def with_arrays(self, **changes) -> Case:
        """A copy with some fields replaced (arrays are not copied)."""
        return replace(self, **changes)
