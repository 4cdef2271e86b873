"""Per-case preprocessing: intensity normalisation and resampling to a target grid.

Both run once per case, before slicing, cropping or augmentation. Intensity
statistics are per case and per channel (multi-modal channels are normalised
independently), never over a dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .._validation import check_one_of
from .case import Case, check_finite_image

#: Intensity normalisations known to :func:`normalize_image`.
NORMALIZATIONS: tuple[str, ...] = ("minmax", "zscore", "none")
#: Where the statistics of :func:`normalize_case` are taken.
NORMALIZATION_MASKS: tuple[str, ...] = ("fov", "nonzero")


def _check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    image = np.asarray(image)
    if image.ndim < 2:
        raise ValueError(f"{name} must be (C, *spatial), got shape {image.shape}")
    return image.astype(np.float32, copy=False)


def _check_mask(mask: np.ndarray | None, spatial: tuple[int, ...]) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != spatial:
        raise ValueError(f"mask shape {mask.shape} does not match image spatial shape {spatial}")
    if not mask.any():
        raise ValueError("mask is empty: no voxel to take intensity statistics from")
    return mask


def _channel_values(channel: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    return channel if mask is None else channel[mask]


def clip_percentiles(
    image: np.ndarray,
    low: float = 0.5,
    high: float = 99.5,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Clip each channel to its own ``[low, high]`` percentiles (nnU-Net uses 0.5-99.5).

    Args:
        image: ``(C, *spatial)``.
        low, high: percentiles in ``[0, 100]``, ``low < high``.
        mask: bool ``(*spatial)``; percentiles are taken inside it (clipping applies
            everywhere).

    Returns:
        float32 ``(C, *spatial)``.

    Raises:
        ValueError: percentiles outside ``[0, 100]`` or not increasing; bad mask shape.
    """
    image = _check_image(image)
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(
            f"clip percentiles must satisfy 0 <= low < high <= 100, got ({low}, {high})"
        )
    mask = _check_mask(mask, image.shape[1:])
    out = np.empty_like(image)
    for c, channel in enumerate(image):
        lo, hi = np.percentile(_channel_values(channel, mask), (low, high))
        np.clip(channel, lo, hi, out=out[c])
    return out


def normalize_image(
    image: np.ndarray,
    method: str = "zscore",
    mask: np.ndarray | None = None,
    clip: tuple[float, float] | None = None,
) -> np.ndarray:
    """Normalise each channel of one image from its own statistics.

    Convention:
        - ``"minmax"``: ``(x - min) / (max - min)`` to ``[0, 1]`` (the boundary-loss
          paper). A constant channel becomes all zeros.
        - ``"zscore"``: ``(x - mean) / std`` (the region-wise loss paper, nnU-Net for
          MRI). A constant channel becomes all zeros (``std = 0`` is not divided by).
        - ``"none"``: unchanged (cast to float32).

        With ``mask``, min/max, mean/std and the clip percentiles are computed inside
        the mask only (a foreground or field-of-view mask) and the mapping is applied
        to every voxel, so values outside the mask may leave ``[0, 1]`` or the unit
        scale. With ``clip``, each channel is first clipped to its percentiles.

    Args:
        image: ``(C, *spatial)``, channels stacked (multi-modal MRI, RGB).
        method: ``"minmax"``, ``"zscore"`` or ``"none"``.
        mask: bool ``(*spatial)`` or None.
        clip: ``(low, high)`` percentiles to clip to first, e.g. ``(0.5, 99.5)``.

    Returns:
        float32 ``(C, *spatial)``; the input is not modified.

    Raises:
        ValueError: unknown ``method``, empty or mis-shaped ``mask``, bad percentiles.

    Example:
        >>> import numpy as np
        >>> normalize_image(np.array([[1.0, 2.0, 3.0]]), "minmax")
        array([[0. , 0.5, 1. ]], dtype=float32)
    """
    check_one_of(method, NORMALIZATIONS, "method")
    image = _check_image(image)
    mask = _check_mask(mask, image.shape[1:])
    if clip is not None:
        image = clip_percentiles(image, *clip, mask=mask)
    if method == "none":
        return image.copy()
    out = np.empty_like(image)
    for c, channel in enumerate(image):
        values = _channel_values(channel, mask).astype(np.float64)
        if method == "minmax":
            offset, scale = values.min(), values.max() - values.min()
        else:
            offset, scale = values.mean(), values.std()
        out[c] = (channel - offset) / scale if scale > 0 else channel - offset
    return out


def normalization_mask(case: Case, mask: str | None) -> np.ndarray | None:
    """The mask a case's statistics are taken in: ``"fov"``, ``"nonzero"`` or None.

    ``"nonzero"`` is the voxels where any channel is non-zero (nnU-Net's mask for
    skull-stripped brain MRI such as BraTS).

    Raises:
        ValueError: unknown ``mask``; ``"fov"`` for a case without a field of view.
    """
    check_one_of(mask, (*NORMALIZATION_MASKS, None), "mask")
    if mask is None:
        return None
    if mask == "fov":
        if case.fov is None:
            raise ValueError(f"case {case.case_id}: mask='fov' but the case has no fov mask")
        return case.fov
    return np.any(case.image != 0, axis=0)  # "nonzero"


def normalize_case(
    case: Case,
    method: str = "zscore",
    mask: str | None = None,
    clip: tuple[float, float] | None = None,
) -> Case:
    """:func:`normalize_image` applied to a case's image; see it for the convention.

    Args:
        case: the case (not modified).
        method: ``"minmax"``, ``"zscore"`` or ``"none"``.
        mask: ``"fov"`` (the case's field of view), ``"nonzero"`` or None (all voxels).
        clip: ``(low, high)`` percentiles to clip to first.

    Raises:
        ValueError: unknown ``method`` or ``mask``; ``"fov"`` without a fov mask.
    """
    image = normalize_image(case.image, method, normalization_mask(case, mask), clip)
    return case.with_arrays(image=image)


def _check_shape(shape: Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    shape = tuple(shape)
    if len(shape) != ndim or not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
        raise ValueError(f"{name} must be {ndim} positive ints (one per spatial axis), got {shape}")
    return tuple(int(n) for n in shape)


def _zoom(array: np.ndarray, shape: tuple[int, ...], order: int) -> np.ndarray:
    # grid_mode=True maps pixel edges to pixel edges (align_corners=False), which is
    # what the spacing update below assumes: the field of view is preserved exactly.
    factors = [new / old for new, old in zip(shape, array.shape, strict=True)]
    out = ndimage.zoom(array, factors, order=order, mode="nearest", grid_mode=True)
    if out.shape != shape:  # float rounding of the factors; never seen, but cheap to check
        raise RuntimeError(f"resampling gave shape {out.shape}, expected {shape}")
    return out


def resized_affine(
    affine: np.ndarray, old_shape: Sequence[int], new_shape: Sequence[int]
) -> np.ndarray:
    """The voxel-to-world matrix of a grid resampled from ``old_shape`` to ``new_shape``.

    New voxel ``j`` has its centre at old voxel coordinate ``(j + 0.5) * s - 0.5`` with
    ``s = old / new`` per axis (edges aligned), so the new affine is the old one times
    that scaling-and-shift. Works for 4x4 (3D) and 3x3 (2D) homogeneous matrices.
    """
    scale = np.asarray(old_shape, dtype=np.float64) / np.asarray(new_shape, dtype=np.float64)
    ndim = len(scale)
    affine = np.asarray(affine, dtype=np.float64)
    index_map = np.eye(affine.shape[0])
    index_map[:ndim, :ndim] = np.diag(scale)
    index_map[:ndim, -1] = (scale - 1.0) / 2.0
    return affine @ index_map


def resize_case(case: Case, shape: Sequence[int], image_order: int = 1) -> Case:
    """Resample a case to ``shape`` voxels, keeping its physical extent.

    Convention:
        Pixel edges are aligned (the first and last pixel edges stay where they were),
        so the new spacing is ``spacing * old_shape / new_shape`` on every axis and the
        affine is updated to match (:func:`resized_affine`). The image is interpolated
        (order 1, linear, by default; no anti-aliasing), the label and fov by nearest
        neighbour. ``meta["original_shape"]`` and ``meta["original_spacing"]`` record
        the grid before resampling (kept from the first resampling if called twice).

    Args:
        case: the case (not modified).
        shape: target spatial shape, one int per spatial axis.
        image_order: spline order for the image (0 nearest, 1 linear, 3 cubic).

    Returns:
        A new case on the target grid.

    Raises:
        ValueError: ``shape`` of the wrong length or with non-positive entries;
            ``image_order`` outside 0-5.
    """
    shape = _check_shape(shape, case.ndim, "shape")
    if image_order not in range(6):
        raise ValueError(f"image_order must be an int in [0, 5], got {image_order!r}")
    old = case.spatial_shape
    if shape == old:
        return case
    image = np.stack([_zoom(channel, shape, image_order) for channel in case.image])
    label = None if case.label is None else _zoom(case.label, shape, 0)
    fov = None if case.fov is None else _zoom(case.fov.astype(np.uint8), shape, 0).astype(bool)
    spacing = tuple(s * o / n for s, o, n in zip(case.spacing, old, shape, strict=True))
    affine = None if case.affine is None else resized_affine(case.affine, old, shape)
    meta = {"original_shape": old, "original_spacing": case.spacing, **case.meta}
    return case.with_arrays(
        image=image.astype(np.float32, copy=False),
        label=label,
        fov=fov,
        spacing=spacing,
        affine=affine,
        meta=meta,
    )


def check_channels(channels: Sequence[int], name: str = "channels") -> None:
    """Refuse an empty selection, a negative or repeated index.

    Raises:
        ValueError: naming ``name`` and the value.
    """
    values = list(channels)
    if not values or any(not isinstance(c, int) or isinstance(c, bool) or c < 0 for c in values):
        raise ValueError(f"{name}: expected 0-based channel indices, got {values}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name}: a channel is given twice: {values}")


def select_channels(case: Case, channels: Sequence[int]) -> Case:
    """``case`` with only the image channels ``channels`` (in that order).

    Raises:
        ValueError: the image has no channel ``max(channels)``, naming its files.
    """
    available = case.image.shape[0]
    if max(channels) >= available:
        raise ValueError(
            f"{case.provenance}: data.channels {list(channels)} asks for channel "
            f"{max(channels)}, but the image has {available} (0-based: 0..{available - 1})"
        )
    return case.with_arrays(image=case.image[list(channels)])


@dataclass(frozen=True)
class Preprocess:
    """Per-case preprocessing as one picklable callable: select channels, resize, then
    normalise.

    Pass it as the ``preprocess`` argument of the datasets; it runs where the case is
    loaded (in DataLoader workers when cases are read lazily). A case whose image holds
    NaN or infinite values is refused first (:func:`~boundaryloss.data.case.
    check_finite_image`), so training names the file when its cases load at set-up.

    Args:
        shape: target spatial shape for :func:`resize_case`, or None to keep the grid.
        normalization: ``"minmax"``, ``"zscore"`` or ``"none"``.
        mask: where intensity statistics are taken: ``"fov"``, ``"nonzero"`` or None.
        clip: percentiles to clip to before normalising, e.g. ``(0.5, 99.5)``.
        channels: the image channels to keep, in this order (0-based; ``(1,)``: the green
            channel of an RGB photograph), or None for all. A field of view the reader
            derived from the image (fundus: the red channel) is unaffected.
        source_channels: with ``channels``, the number of channels every image must have
            before the selection (the training images'), or None not to check it.

    Raises:
        ValueError: unknown ``normalization`` or ``mask``, bad ``clip`` or ``channels``
            (at construction); an image with NaN or infinite values or without a
            channel asked for (when called, naming its files).
    """

    shape: tuple[int, ...] | None = None
    normalization: str = "zscore"
    mask: str | None = None
    clip: tuple[float, float] | None = None
    channels: tuple[int, ...] | None = None
    source_channels: int | None = None

    def __post_init__(self) -> None:
        check_one_of(self.normalization, NORMALIZATIONS, "normalization")
        check_one_of(self.mask, (*NORMALIZATION_MASKS, None), "mask")
        if self.channels is not None:
            check_channels(self.channels)
        if self.clip is not None and not (
            len(self.clip) == 2 and 0.0 <= self.clip[0] < self.clip[1] <= 100.0
        ):
            raise ValueError(
                f"clip must be (low, high) percentiles with 0 <= low < high <= 100, "
                f"got {self.clip!r}"
            )

    def __call__(self, case: Case) -> Case:
        if self.channels is not None:
            if self.source_channels not in (None, case.image.shape[0]):
                raise ValueError(
                    f"{case.provenance}: the image has {case.image.shape[0]} channel(s), the "
                    f"training images {self.source_channels} (data.channels "
                    f"{list(self.channels)} selects among those)"
                )
            case = select_channels(case, self.channels)
        check_finite_image(case)
        if self.shape is not None:
            case = resize_case(case, self.shape)
        return normalize_case(case, self.normalization, self.mask, self.clip)
