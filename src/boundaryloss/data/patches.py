"""Patches of 2D or 3D arrays: where to crop (random or on a grid) and how to crop.

Arrays are channel-first: the *last* ``len(patch_size)`` axes are spatial, any leading
axes (channels, classes) are kept whole. Patches never leave the volume: a patch
larger than the volume is an error, not padding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def check_patch_size(
    patch_size: Sequence[int], spatial_shape: Sequence[int], name: str = "patch_size"
) -> tuple[int, ...]:
    """Return ``patch_size`` as a tuple after checking it fits inside ``spatial_shape``.

    Raises:
        ValueError: wrong length, non-positive entries, or larger than the volume.
    """
    patch = tuple(patch_size)
    shape = tuple(spatial_shape)
    if len(patch) != len(shape) or not all(
        isinstance(p, (int, np.integer)) and p > 0 for p in patch
    ):
        raise ValueError(
            f"{name} must be {len(shape)} positive ints (one per spatial axis), got {patch}"
        )
    if any(p > s for p, s in zip(patch, shape, strict=True)):
        raise ValueError(f"{name} {patch} is larger than the volume {shape} on some axis")
    return tuple(int(p) for p in patch)


def crop_patch(array: np.ndarray, start: Sequence[int], size: Sequence[int]) -> np.ndarray:
    """The patch ``[start, start + size)`` of the last ``len(size)`` axes (a view).

    Raises:
        ValueError: the patch leaves the array.
    """
    ndim = len(size)
    spatial = array.shape[array.ndim - ndim :]
    if len(start) != ndim or any(
        s < 0 or s + n > m for s, n, m in zip(start, size, spatial, strict=True)
    ):
        raise ValueError(
            f"patch start {tuple(start)} with size {tuple(size)} does not fit in spatial "
            f"shape {spatial}"
        )
    window = tuple(slice(int(s), int(s) + int(n)) for s, n in zip(start, size, strict=True))
    return array[(Ellipsis, *window)]


def patch_grid(
    spatial_shape: Sequence[int],
    patch_size: Sequence[int],
    stride: Sequence[int] | None = None,
) -> list[tuple[int, ...]]:
    """Start corners of patches covering every voxel (sliding-window inference).

    Along each axis, starts are ``0, stride, 2*stride, ...`` and the last patch is
    moved back to end exactly at the volume's edge, so patches may overlap but never
    leave the volume.

    Args:
        spatial_shape: the volume's spatial shape.
        patch_size: patch size per axis (at most the volume's).
        stride: step per axis (default ``patch_size``: no overlap except at the end).

    Returns:
        Start corners in C order (last axis fastest).

    Raises:
        ValueError: patch larger than the volume; non-positive stride.
    """
    patch = check_patch_size(patch_size, spatial_shape)
    stride = patch if stride is None else tuple(stride)
    if len(stride) != len(patch) or not all(
        isinstance(s, (int, np.integer)) and s > 0 for s in stride
    ):
        raise ValueError(f"stride must be {len(patch)} positive ints, got {stride}")
    axes = []
    for size, p, step in zip(spatial_shape, patch, stride, strict=True):
        starts = list(range(0, size - p + 1, step))
        if starts[-1] != size - p:
            starts.append(size - p)
        axes.append(starts)
    grids = np.meshgrid(*axes, indexing="ij")
    return [
        tuple(int(v) for v in corner) for corner in zip(*(g.ravel() for g in grids), strict=True)
    ]


def foreground_locations(
    label: np.ndarray, max_per_class: int | None = 10_000, rng: np.random.Generator | None = None
) -> dict[int, np.ndarray]:
    """Voxel coordinates of each foreground class (label > 0), for oversampling.

    Args:
        label: integer ``(*spatial)``.
        max_per_class: keep at most this many coordinates per class (a random subset,
            as nnU-Net does), or None for all.
        rng: generator for the subset (default: seeded with 0, so deterministic).

    Returns:
        ``{class: int64 (K, ndim)}`` for every class present other than 0.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    label = np.asarray(label)
    locations = {}
    for value in np.unique(label):
        if value == 0:
            continue
        coords = np.argwhere(label == value)
        if max_per_class is not None and len(coords) > max_per_class:
            coords = coords[rng.choice(len(coords), max_per_class, replace=False)]
        locations[int(value)] = coords
    return locations


class _FlatCoordinates:
    """Voxel coordinates of flat indices, converted only when one is drawn."""

    def __init__(self, flat: np.ndarray, shape: tuple[int, ...]) -> None:
        self.flat = flat
        self.shape = shape

    def __len__(self) -> int:
        return len(self.flat)

    def __getitem__(self, index: int) -> np.ndarray:
        return np.asarray(np.unravel_index(self.flat[index], self.shape), dtype=np.int64)


class LazyForeground(Mapping):
    """:func:`foreground_locations` of one label, computed only for the class drawn.

    For per-sample crops (2D slices at full resolution), where listing every foreground
    voxel of every class for each sample would cost more than the rest of the pipeline:
    the classes present come from one ``np.bincount``, and a class's voxels are found
    only when :func:`random_patch_start` draws it.
    """

    def __init__(self, label: np.ndarray) -> None:
        self.label = np.asarray(label)
        if self.label.dtype.kind in "iub" and self.label.size:
            counts = np.bincount(self.label.ravel().astype(np.int64, copy=False))
            self.classes = [int(k) for k in np.flatnonzero(counts) if k != 0]
        else:
            self.classes = [int(k) for k in np.unique(self.label) if k != 0]

    def __getitem__(self, value: int) -> _FlatCoordinates:
        if value not in self.classes:
            raise KeyError(value)
        flat = np.flatnonzero(self.label.ravel() == value)
        return _FlatCoordinates(flat, self.label.shape)

    def __iter__(self):
        return iter(self.classes)

    def __len__(self) -> int:
        return len(self.classes)


def random_patch_start(
    rng: np.random.Generator,
    spatial_shape: Sequence[int],
    patch_size: Sequence[int],
    foreground: Mapping[int, np.ndarray] | None = None,
    foreground_probability: float = 0.0,
) -> tuple[int, ...]:
    """A random patch corner, centred on a foreground voxel with some probability.

    Convention:
        With probability ``foreground_probability`` (nnU-Net uses 1/3) and when the
        label has foreground, a class is drawn uniformly among the foreground classes
        present, then a voxel of that class, and the patch is centred on it (shifted
        back inside the volume, so the voxel stays in the patch). Otherwise the corner
        is uniform over all valid positions.

    Args:
        rng: NumPy generator.
        spatial_shape: the volume's spatial shape.
        patch_size: patch size per axis.
        foreground: :func:`foreground_locations` (or :class:`LazyForeground`) of the
            label, or None.
        foreground_probability: in ``[0, 1]``.

    Raises:
        ValueError: patch larger than the volume; probability outside ``[0, 1]``.
    """
    patch = check_patch_size(patch_size, spatial_shape)
    if not 0.0 <= foreground_probability <= 1.0:
        raise ValueError(
            f"foreground_probability must lie in [0, 1], got {foreground_probability!r}"
        )
    high = np.asarray(spatial_shape) - np.asarray(patch)
    if foreground and rng.random() < foreground_probability:
        classes = sorted(foreground)
        coords = foreground[classes[rng.integers(len(classes))]]
        centre = coords[rng.integers(len(coords))]
        start = np.clip(centre - np.asarray(patch) // 2, 0, high)
    else:
        start = rng.integers(0, high + 1)
    return tuple(int(s) for s in start)


def crop_padded(
    array: np.ndarray, start: Sequence[int], size: Sequence[int], value: float = 0
) -> np.ndarray:
    """The box ``[start, start + size)`` of the last ``len(size)`` axes, padded beyond
    the array with ``value`` (a new array; ``start`` may be negative).

    Used to cut a context region around a patch near the volume's edge, so a rotated or
    zoomed patch resampled from it sees ``value`` (background) outside the volume.
    """
    ndim = len(size)
    lead = array.shape[: array.ndim - ndim]
    spatial = array.shape[array.ndim - ndim :]
    if len(start) != ndim:
        raise ValueError(f"start {tuple(start)} must have {ndim} entries (size {tuple(size)})")
    out = np.full((*lead, *(int(n) for n in size)), value, dtype=array.dtype)
    source, target = [], []
    for s, n, m in zip(start, size, spatial, strict=True):
        low, high = max(int(s), 0), min(int(s) + int(n), m)
        if high <= low:
            return out
        source.append(slice(low, high))
        target.append(slice(low - int(s), high - int(s)))
    out[(Ellipsis, *target)] = array[(Ellipsis, *source)]
    return out
