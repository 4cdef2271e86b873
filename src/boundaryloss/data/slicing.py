"""3D cases to 2D slices and back: slice a volume along one axis, restack predictions.

Every slice keeps its case's ``case_id`` and its ``slice_index``, so predictions made
slice by slice (in any order, across batches) can be put back into volumes for 3D
metrics with :func:`stack_slices`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .case import Case


def check_axis(axis: int, ndim: int = 3, name: str = "axis") -> int:
    """Return ``axis`` as an index into ``ndim`` spatial axes (negative values allowed).

    Raises:
        ValueError: not an int, or outside ``[-ndim, ndim)``.
    """
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{name} must be an int spatial axis, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} must be a spatial axis in [{-ndim}, {ndim}), got {axis}")
    return int(axis) % ndim


def most_foreground_slice(label: Any, axis: int) -> int:
    """Index along spatial ``axis`` of the slice of a 3D ``label`` with the most foreground
    (``label > 0``) voxels: the slice shown in figures. Ties go to the first such slice; an
    empty label gives 0.

    Raises:
        ValueError: ``axis`` is not an axis of ``label``.
    """
    label = np.asarray(label)
    axis = check_axis(axis, label.ndim)
    other = tuple(a for a in range(label.ndim) if a != axis)
    return int(np.argmax((label > 0).sum(axis=other)))


def slice_case(case: Case, axis: int, index: int) -> Case:
    """Slice ``index`` of a 3D case along spatial ``axis``, as a 2D case.

    The slice keeps the ``case_id``; its spacing is the in-plane spacing (the two
    other axes, in order); ``meta`` gains ``slice_index`` and ``slice_axis``. The
    affine is dropped (a 2D slice has no 4x4 voxel-to-world matrix); restack
    predictions with :func:`stack_slices` and use the volume's affine.

    Raises:
        ValueError: the case is not 3D; ``axis`` or ``index`` out of range.
    """
    if case.ndim != 3:
        raise ValueError(f"case {case.case_id}: slicing needs a 3D case, got {case.ndim}D")
    axis = check_axis(axis)
    size = case.spatial_shape[axis]
    if not 0 <= index < size:
        raise ValueError(
            f"case {case.case_id}: index must lie in [0, {size}) along axis {axis}, got {index}"
        )

    def take(array: np.ndarray | None, leading: int) -> np.ndarray | None:
        return None if array is None else np.take(array, index, axis=leading + axis)

    return case.with_arrays(
        image=take(case.image, 1),
        label=take(case.label, 0),
        fov=take(case.fov, 0),
        spacing=tuple(s for a, s in enumerate(case.spacing) if a != axis),
        affine=None,
        meta={**case.meta, "slice_index": int(index), "slice_axis": axis},
    )


def case_slices(case: Case, axis: int) -> list[Case]:
    """Every slice of a 3D case along ``axis``, in order (see :func:`slice_case`).

    Raises:
        ValueError: the case is not 3D; ``axis`` out of range.
    """
    axis = check_axis(axis)
    if case.ndim != 3:
        raise ValueError(f"case {case.case_id}: slicing needs a 3D case, got {case.ndim}D")
    return [slice_case(case, axis, index) for index in range(case.spatial_shape[axis])]


def _as_numpy(array: Any) -> np.ndarray:
    if hasattr(array, "detach"):  # torch tensor, on any device
        return array.detach().cpu().numpy()
    return np.asarray(array)


def stack_slices(
    predictions: Sequence[Any],
    case_ids: Sequence[str],
    slice_indices: Sequence[int],
    axis: int,
    num_slices: Mapping[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """Rebuild one volume per case from per-slice predictions.

    Convention:
        Slice ``i`` of a case is put at position ``i`` along spatial ``axis`` (the
        ``axis`` the slices were taken along, counted among the three spatial axes).
        Leading non-spatial axes are kept: ``(H, W)`` slices give ``(*spatial)``
        volumes, ``(C, H, W)`` slices give ``(C, *spatial)`` volumes. Slices may come
        in any order and from batches concatenated in any order.

    Args:
        predictions: one array or tensor per slice, or an array/tensor ``(N, ...)``
            whose first axis runs over slices (e.g. concatenated batches).
        case_ids: ``(N,)`` the case of each slice (the collated ``"case_id"`` lists).
        slice_indices: ``(N,)`` the index of each slice within its case.
        axis: spatial axis (0, 1 or 2) the slices were taken along.
        num_slices: expected slice count per case; when given, every case must have
            exactly slices ``0 .. n-1``. Without it, the indices present must be
            ``0 .. max`` with none missing.

    Returns:
        ``{case_id: volume}`` as NumPy arrays, in the dtype of the predictions.

    Raises:
        ValueError: lengths differ; a slice index repeats; slices are missing; slices
            of one case differ in shape; ``axis`` out of range.
    """
    axis = check_axis(axis)
    indices = [int(i) for i in _as_numpy(slice_indices).ravel()]
    ids = [str(c) for c in case_ids]
    if not len(predictions) == len(ids) == len(indices):
        raise ValueError(
            f"predictions, case_ids and slice_indices must have the same length, got "
            f"{len(predictions)}, {len(ids)} and {len(indices)}"
        )
    by_case: dict[str, dict[int, np.ndarray]] = {}
    for prediction, case_id, index in zip(predictions, ids, indices, strict=True):
        slices = by_case.setdefault(case_id, {})
        if index in slices:
            raise ValueError(f"case {case_id}: slice_indices has slice {index} twice")
        slices[index] = _as_numpy(prediction)

    volumes = {}
    for case_id, slices in by_case.items():
        expected = (num_slices or {}).get(case_id, max(slices) + 1)
        missing = sorted(set(range(expected)) - set(slices))
        extra = sorted(set(slices) - set(range(expected)))
        if missing or extra:
            raise ValueError(
                f"case {case_id}: expected slices 0..{expected - 1}, missing {missing[:10]}"
                f"{' (and more)' if len(missing) > 10 else ''}, unexpected {extra[:10]}"
            )
        shapes = {array.shape for array in slices.values()}
        if len(shapes) != 1:
            raise ValueError(f"case {case_id}: slices have different shapes {sorted(shapes)}")
        first = next(iter(slices.values()))
        if first.ndim < 2:
            raise ValueError(f"case {case_id}: slices must be (..., H, W), got {first.shape}")
        stack_axis = first.ndim - 2 + axis
        volumes[case_id] = np.stack([slices[i] for i in range(expected)], axis=stack_axis)
    if num_slices is not None:
        absent = sorted(set(num_slices) - set(volumes))
        if absent:
            raise ValueError(f"num_slices names cases with no slice in predictions: {absent}")
    return volumes
