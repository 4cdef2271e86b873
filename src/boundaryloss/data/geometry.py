"""Where a NIfTI file's voxels lie in the world, and whether two files share a voxel grid.

A prediction is scored voxel by voxel against its reference, so the two files must put
every voxel at the same place: the same shape (the caller's check), spacing, axis
directions and origin. A prediction resampled, reoriented or shifted by another tool
keeps the shape but scores against the wrong anatomy, so :func:`check_same_grid` refuses
it instead.

Convention:
    The grid is nibabel's ``affine``: the sform when its code is set, else the qform.
    A file may hold both, and readers differ in which one they take first (nibabel the
    sform, ITK-based readers may take the qform), so every form that both files set must
    agree as well. Tolerances: :data:`SPACING_RTOL` relative on the spacing (headers store
    float32), :data:`DIRECTION_ATOL` on the unit axis directions, :data:`AFFINE_ATOL_MM`
    on the origin and on the entries of each form, in mm (the tolerance the dataset
    readers here allow between a case's files). nnU-Net v2's dataset check compares the
    same quantities (spacing, origin and direction, or the nibabel affine) but only warns.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .io import nifti_spacing

#: Largest difference, in mm, between two origins or two affines' entries that is still
#: float noise from the writing software (also the readers' tolerance between a case's
#: files).
AFFINE_ATOL_MM = 1e-3
#: Relative tolerance on two spacings (NIfTI headers store them as float32).
SPACING_RTOL = 1e-4
#: Tolerance on the unit world direction vectors of the voxel axes.
DIRECTION_ATOL = 1e-3
#: The coded voxel-to-world matrices a NIfTI header may hold.
FORMS = ("qform", "sform")
#: Slack, in voxels, on the edge of a source's field of view when resampling: composing
#: two affines leaves float noise far below this on a point that lies exactly on the edge.
EXTENT_ATOL_VOXELS = 1e-6


@dataclass(frozen=True)
class VoxelGrid:
    """What a NIfTI header says about the voxel grid of its first ``ndim`` axes.

    Attributes:
        spacing: voxel size per axis (the header's zooms), in mm.
        directions: ``(3, ndim)`` unit world direction of each voxel axis.
        origin: ``(3,)`` world position of voxel 0, in mm.
        forms: ``{"qform" | "sform": (4, 4)}`` for each form whose code is set.
    """

    spacing: tuple[float, ...]
    directions: np.ndarray
    origin: np.ndarray
    forms: Mapping[str, np.ndarray]

    @classmethod
    def of(cls, image, ndim: int, path: str | os.PathLike | None = None) -> VoxelGrid:
        """The grid of a nibabel image's first ``ndim`` (2 or 3) voxel axes.

        Raises:
            ValueError: a voxel size that is not positive and finite, naming ``path``
                (default: the file the image was loaded from), see
                :func:`~boundaryloss.data.io.nifti_spacing`.
        """
        affine = np.asarray(image.affine, dtype=np.float64)
        axes = affine[:3, :ndim]
        lengths = np.linalg.norm(axes, axis=0)
        forms = {}
        for form in FORMS:
            getter = getattr(image.header, f"get_{form}", None)
            matrix, code = getter(coded=True) if getter is not None else (None, 0)
            if matrix is not None and int(code) > 0:
                forms[form] = np.asarray(matrix, dtype=np.float64)
        return cls(
            spacing=nifti_spacing(image, path or image.get_filename() or "image", ndim),
            directions=axes / np.where(lengths > 0, lengths, 1.0),
            origin=affine[:3, 3].copy(),
            forms=forms,
        )

    def axis_codes(self) -> str:
        """The world direction each voxel axis points to most, e.g. ``"RAS"``
        (nibabel's convention: R = +x, A = +y, S = +z)."""
        letters = np.array([["L", "R"], ["P", "A"], ["I", "S"]])
        codes = []
        for column in self.directions.T:
            world = int(np.argmax(np.abs(column)))
            codes.append(letters[world][int(column[world] > 0)])
        return "".join(codes)

    def forms_disagree(self) -> bool:
        """Whether the file sets both a qform and an sform that place voxels differently."""
        if len(self.forms) < len(FORMS):
            return False
        qform, sform = (self.forms[form] for form in FORMS)
        return not np.allclose(qform, sform, rtol=0.0, atol=AFFINE_ATOL_MM)


def _shown(values) -> tuple[float, ...]:
    return tuple(round(float(v), 4) for v in values)


def _difference(grid: VoxelGrid, reference: VoxelGrid, reference_path: Path) -> str | None:
    """The first way ``grid`` differs from the reference's, in words, or None."""
    if not np.allclose(grid.spacing, reference.spacing, rtol=SPACING_RTOL, atol=0.0):
        shown = [tuple(round(s, 6) for s in g.spacing) for g in (grid, reference)]
        return f"spacing {shown[0]} differs from the reference {reference_path} {shown[1]}"
    # A flipped or permuted file has the same shape and spacing but other voxels.
    if not np.allclose(grid.directions, reference.directions, atol=DIRECTION_ATOL):
        turned = float(np.max(np.abs(grid.directions - reference.directions)))
        return (
            f"voxel axes point in other directions ({grid.axis_codes()}) than in the "
            f"reference {reference_path} ({reference.axis_codes()}; unit directions differ by "
            f"up to {turned:.3g}); resample or reorient it first"
        )
    if not np.allclose(grid.origin, reference.origin, rtol=0.0, atol=AFFINE_ATOL_MM):
        shift = float(np.max(np.abs(grid.origin - reference.origin)))
        return (
            f"origin {_shown(grid.origin)} mm differs from the reference {reference_path} "
            f"{_shown(reference.origin)} mm (by up to {shift:.4g} mm, tolerance "
            f"{AFFINE_ATOL_MM} mm); resample it onto the reference grid first"
        )
    for form in FORMS:
        if form in grid.forms and form in reference.forms:
            mine, theirs = grid.forms[form], reference.forms[form]
            if not np.allclose(mine, theirs, rtol=0.0, atol=AFFINE_ATOL_MM):
                difference = float(np.max(np.abs(mine - theirs)))
                return (
                    f"{form} differs from the reference {reference_path}'s by up to "
                    f"{difference:.4g} (tolerance {AFFINE_ATOL_MM} mm): "
                    f"{np.round(mine[:3], 4).tolist()} vs {np.round(theirs[:3], 4).tolist()}; "
                    "readers that use it would place the voxels elsewhere"
                )
    return None


def check_same_grid(
    grid: VoxelGrid, reference: VoxelGrid, path: Path, reference_path: Path
) -> None:
    """Refuse a file whose voxels lie elsewhere in the world than the reference's.

    Args:
        grid, reference: the grids of ``path`` and ``reference_path``, same ``ndim``.

    Raises:
        ValueError: one line naming both files and what differs (spacing, axis
            directions, origin, or a qform/sform both files set), and which of them
            holds a qform and an sform that disagree (a prediction written from the
            other form than the one nibabel reads differs for that reason).
    """
    problem = _difference(grid, reference, reference_path)
    if problem is None:
        return
    torn = [str(p) for g, p in ((grid, path), (reference, reference_path)) if g.forms_disagree()]
    note = ""
    if torn:
        note = (
            f" (the qform and sform of {' and of '.join(torn)} disagree; readers differ in "
            "which they use)"
        )
    raise ValueError(f"{path}: {problem}{note}")


def resample_into_grid(
    data: np.ndarray,
    affine: np.ndarray,
    shape: Sequence[int],
    target_affine: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a 3D volume into another voxel grid of the same world, trilinearly.

    Convention:
        Target voxel ``t`` (integer voxel indices, voxel centres as in nibabel) takes the
        value of ``data`` at the source voxel coordinate ``s = inv(affine) @
        target_affine @ t``, interpolated trilinearly between the 8 source voxels around
        ``s``. Both affines map voxel indices to world millimetres. The source's field of
        view is its voxels' extent, ``[-0.5, n - 0.5]`` along each axis (as ITK's
        resampling): a point in the half voxel beyond the outermost centres takes the
        edge value, a point outside the extent is 0. A world-linear intensity ramp is
        therefore reproduced exactly between the outermost source centres.

    Args:
        data: ``(X, Y, Z)`` source voxels (any real dtype).
        affine: ``(4, 4)`` voxel-to-world matrix of ``data``.
        shape: ``(X', Y', Z')`` voxels of the target grid.
        target_affine: ``(4, 4)`` voxel-to-world matrix of the target grid.

    Returns:
        ``(values, covered)``: float64 ``shape`` array of resampled values, and a bool
        ``shape`` array, True where the target voxel lies in the source's field of view.

    Raises:
        ValueError: ``data`` is not 3D, an affine is not 4x4, or ``affine`` is singular.

    Example:
        >>> data = np.arange(8.0).reshape(2, 2, 2)
        >>> values, covered = resample_into_grid(data, np.eye(4), (2, 2, 3), np.eye(4))
        >>> values[1, 1].tolist(), covered[1, 1].tolist()
        ([6.0, 7.0, 0.0], [True, True, False])
    """
    from scipy import ndimage

    data = np.asarray(data)
    if data.ndim != 3:
        raise ValueError(f"expected a 3D volume to resample, got shape {data.shape}")
    affine = np.asarray(affine, dtype=np.float64)
    target_affine = np.asarray(target_affine, dtype=np.float64)
    if affine.shape != (4, 4) or target_affine.shape != (4, 4):
        raise ValueError(f"expected 4x4 affines, got {affine.shape} and {target_affine.shape}")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ValueError(f"source affine is singular: {np.round(affine[:3], 4).tolist()}")
    to_source = np.linalg.solve(affine, target_affine)  # target voxel -> source voxel
    shape = tuple(int(n) for n in shape)
    source = data.astype(np.float64, copy=False)
    extent = np.asarray(data.shape, dtype=np.float64)[:, None]
    values = np.zeros(shape, dtype=np.float64)
    covered = np.zeros(shape, dtype=bool)
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    plane = np.stack([rows.ravel(), cols.ravel()]).astype(np.float64)
    for k in range(shape[2]):  # one target slice at a time keeps memory small
        points = to_source[:3, :2] @ plane + (to_source[:3, 2] * k + to_source[:3, 3])[:, None]
        inside = np.all(
            (points >= -0.5 - EXTENT_ATOL_VOXELS) & (points <= extent - 0.5 + EXTENT_ATOL_VOXELS),
            axis=0,
        )
        if not inside.any():
            continue
        clamped = np.clip(points[:, inside], 0.0, extent - 1.0)
        sampled = ndimage.map_coordinates(source, clamped, order=1, mode="nearest")
        slice_values = np.zeros(inside.shape, dtype=np.float64)
        slice_values[inside] = sampled
        values[:, :, k] = slice_values.reshape(shape[:2])
        covered[:, :, k] = inside.reshape(shape[:2])
    return values, covered
