"""Probability maps on disk: the files ``predict --probabilities`` writes and
``evaluate-folder`` scores, and the rule that turns probabilities into labels.

Format (one file per case, beside its label map, every class including the background):

* **NIfTI input** ``CASE.nii.gz`` -> ``CASE.probabilities.nii.gz`` (``.nii`` stays
  ``.nii``): float32, the label map's stored shape with the classes on one more, last axis
  (``(X, Y, Z, C)``; ``(X, Y, 1, C)`` or ``(X, Y, C)`` for 2D inputs stored so), with the
  input's affine and header, as MSD stores the channels of its images. Viewers open it
  as a 4D image, one volume per class.
* **2D image input** ``CASE.png`` -> ``CASE.probabilities.npz``: a compressed NumPy
  archive holding ``probabilities``, float32 ``(C, H, W)`` in the image's row/column
  order: nnU-Net's ``.npz`` key and layout (nnU-Net's own ``CASE.npz`` files are not read:
  their axes are nnU-Net's, not the label map's).

Channel ``c`` is the softmax probability of class ``c``; the label map is their
:func:`labels_from_probabilities` (argmax). A 2D image format cannot hold float32 channels
without loss, so 2D probabilities are not PNG/TIFF.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .._files import atomic_path
from ..data.geometry import VoxelGrid
from ..data.io import NIFTI_SUFFIXES, has_suffix, load_nifti, read_nifti_voxels, write_nifti

#: Marks a probability map's file name: ``CASE`` + this + the format suffix.
MARKER = ".probabilities"
#: The ``.npz`` key of the probabilities (nnU-Net's).
NPZ_KEY = "probabilities"
#: File name endings of probability maps, longest first.
SUFFIXES = tuple(f"{MARKER}{s}" for s in (*NIFTI_SUFFIXES, ".npz"))


def labels_from_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """The label map ``(*spatial)`` (uint8) of probabilities ``(C, *spatial)``.

    Convention:
        Argmax over the classes, the first class on ties: for two classes, foreground
        where its probability exceeds 0.5 (exactly 0.5 is background).
    """
    return np.asarray(probabilities).argmax(0).astype(np.uint8)


def probability_suffix(path: str | os.PathLike) -> str | None:
    """The ending of a probability map's name (``".probabilities.nii.gz"``...), or None."""
    name = Path(path).name.lower()
    return next((s for s in SUFFIXES if name.endswith(s)), None)


def probability_path(label_path: str | os.PathLike) -> Path:
    """Where the probabilities of the label map written to ``label_path`` go:
    ``CASE.nii.gz`` -> ``CASE.probabilities.nii.gz``, ``CASE.png`` ->
    ``CASE.probabilities.npz``."""
    path = Path(label_path)
    name = path.name
    nifti = next((s for s in NIFTI_SUFFIXES if name.lower().endswith(s)), None)
    if nifti is not None:
        return path.with_name(f"{name[: -len(nifti)]}{MARKER}{name[-len(nifti) :]}")
    return path.with_name(f"{path.stem}{MARKER}.npz")


def write_probabilities(
    path: str | os.PathLike,
    probabilities: np.ndarray,
    *,
    affine: np.ndarray | None = None,
    stored_shape: tuple[int, ...] | None = None,
    header=None,
) -> None:
    """Write probabilities ``(C, *spatial)`` atomically in the format ``path`` names.

    Args:
        path: a name from :func:`probability_path` (or a temporary name with its final
            suffix): NIfTI or ``.npz``.
        probabilities: ``(C, *spatial)`` on the case's grid; written as float32.
        affine, header: the input's (NIfTI only; None: a unit-spacing affine, a fresh
            header).
        stored_shape: the label map's stored NIfTI shape (e.g. ``(X, Y, 1)`` for a 2D
            case stored with one slice); default the spatial shape.

    Raises:
        ValueError: ``path`` ends in neither a NIfTI suffix nor ``.npz``.
    """
    if not has_suffix(path, (*NIFTI_SUFFIXES, ".npz")):
        raise ValueError(f"{path}: a probability map's name ends in one of {', '.join(SUFFIXES)}")
    data = np.asarray(probabilities, dtype=np.float32)
    if has_suffix(path, (".npz",)):
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, **{NPZ_KEY: data})
        return
    shape = tuple(stored_shape or data.shape[1:])
    channels_last = np.moveaxis(data, 0, -1).reshape(*shape, data.shape[0])
    write_nifti(path, channels_last, affine=affine, header=header)


def read_probabilities(path: str | os.PathLike) -> tuple[np.ndarray, VoxelGrid | None]:
    """Read a probability map written in this module's format.

    Returns:
        ``(probabilities (C, *spatial) as stored (float32 from predict), NIfTI voxel grid
        of the spatial axes or None for .npz)``; the spatial axes are the label map's as
        stored.

    Raises:
        ValueError: unreadable file, no ``probabilities`` in an ``.npz``, fewer than two
            classes, 1 or more than 3 spatial axes, a non-float dtype, or values that are
            not finite probabilities in ``[0, 1]`` (the message names the file).
    """
    path = Path(path)
    suffix = probability_suffix(path)
    if suffix is None:
        raise ValueError(f"{path}: a probability map's name ends in one of {', '.join(SUFFIXES)}")
    grid = None
    if suffix.endswith(".npz"):
        try:
            archive = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path}: cannot read .npz file ({error})") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"{path}: not an .npz archive (a single array, no {NPZ_KEY!r})")
        with archive:
            if NPZ_KEY not in archive.files:
                held = ", ".join(archive.files) or "nothing"
                raise ValueError(f"{path}: no {NPZ_KEY!r} array (the archive holds {held})")
            try:
                stored = archive[NPZ_KEY]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
                raise ValueError(f"{path}: cannot read .npz file ({error})") from None
        data, where = stored, "first"
    else:
        image = load_nifti(path)
        stored = np.asarray(read_nifti_voxels(image, path))
        data, where = np.moveaxis(stored, -1, 0), "last"
    if data.ndim not in (3, 4) or data.shape[0] < 2:
        raise ValueError(
            f"{path}: expected probabilities of at least 2 classes on the {where} axis of a "
            f"2D or 3D map, got shape {stored.shape}"
        )
    if not np.issubdtype(data.dtype, np.floating):
        raise ValueError(f"{path}: expected float probabilities, got dtype {data.dtype}")
    bad = int(np.count_nonzero(~((data >= 0) & (data <= 1))))  # NaN fails both
    if bad:
        raise ValueError(f"{path}: {bad} value(s) are not probabilities in [0, 1]")
    if where == "last":
        grid = VoxelGrid.of(image, data.ndim - 1)
    return data, grid
