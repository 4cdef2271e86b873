"""Random augmentation of sample dicts, joint over image, label, fov and maps.

Convention:
    A sample is a dict of NumPy arrays and metadata: ``"image"`` ``(C_in, *spatial)``,
    ``"label"`` ``(*spatial)``, optionally ``"fov"`` ``(*spatial)`` and maps
    ``"dist_map"`` / ``"rw_map"`` ``(C, *spatial)``, and ``"spacing"`` (one value per
    spatial axis). Spatial transforms move every entry named in ``keys`` that is
    present, on its last ``ndim`` axes (``ndim`` = ``image.ndim - 1``), so image,
    label, fov and maps stay aligned; intensity transforms touch ``"image"`` only.

    A transform is called as ``transform(sample, rng)`` with a NumPy
    ``Generator``, returns a new dict (the input is not modified; arrays may be views
    of the input's) and has a ``preserves_maps`` attribute: True when a map computed
    after the transform equals the transform applied to the map computed before
    (flips, 90-degree rotations with the spacing permuted, intensity changes), False
    otherwise (crops: a crop's own map differs from the crop of the whole map).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ..maps import MAP_ARGUMENTS
from .patches import (
    LazyForeground,
    check_patch_size,
    crop_padded,
    crop_patch,
    random_patch_start,
)

#: Entries that spatial transforms move together, when present.
SPATIAL_KEYS: tuple[str, ...] = ("image", "label", "fov", *MAP_ARGUMENTS)

Sample = dict[str, Any]


class Transform(Protocol):
    """What :class:`Compose` and the datasets expect of an augmentation."""

    preserves_maps: bool

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample: ...


def _spatial_ndim(sample: Sample) -> int:
    if "image" in sample:
        return np.ndim(sample["image"]) - 1
    if "label" in sample:
        return np.ndim(sample["label"])
    raise ValueError(f"sample has neither 'image' nor 'label' (keys: {sorted(sample)})")


def _check_probability(p: float, name: str = "p") -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {p!r}")
    return float(p)


def _check_range(bounds: Sequence[float], name: str, positive: bool = False) -> tuple:
    bounds = tuple(float(b) for b in bounds)
    if len(bounds) != 2 or bounds[0] > bounds[1] or (positive and bounds[0] <= 0):
        raise ValueError(
            f"{name} must be (low, high) with low <= high{' and low > 0' if positive else ''}, "
            f"got {bounds!r}"
        )
    return bounds


def _apply_spatial(sample: Sample, keys: Sequence[str], fn) -> Sample:
    """``fn(array, offset)`` on every present key; ``offset`` = number of leading axes."""
    ndim = _spatial_ndim(sample)
    out = dict(sample)
    for key in keys:
        if key in out and out[key] is not None:
            array = np.asarray(out[key])
            out[key] = fn(array, array.ndim - ndim)
    return out


class RandomFlip:
    """Flip along each chosen spatial axis independently with probability ``p``.

    Args:
        axes: spatial axes to consider (default all).
        p: probability of flipping each axis.
        keys: entries moved together (default :data:`SPATIAL_KEYS`).

    Raises:
        ValueError: ``p`` outside ``[0, 1]``; an axis outside the sample's spatial axes
            (when called).
    """

    preserves_maps = True

    def __init__(
        self, axes: Sequence[int] | None = None, p: float = 0.5, keys: Sequence[str] = SPATIAL_KEYS
    ) -> None:
        self.axes = None if axes is None else tuple(int(a) for a in axes)
        self.p = _check_probability(p)
        self.keys = tuple(keys)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        ndim = _spatial_ndim(sample)
        axes = range(ndim) if self.axes is None else self.axes
        if any(not 0 <= a < ndim for a in axes):
            raise ValueError(f"axes must be spatial axes in [0, {ndim}), got {self.axes}")
        flipped = [a for a in axes if rng.random() < self.p]
        if not flipped:
            return dict(sample)
        return _apply_spatial(
            sample, self.keys, lambda x, off: np.flip(x, axis=[off + a for a in flipped])
        )

    def __repr__(self) -> str:
        return f"RandomFlip(axes={self.axes}, p={self.p})"


class RandomRot90:
    """Rotate by ``k * 90`` degrees in one plane, ``k`` uniform in {0, 1, 2, 3}.

    An odd ``k`` swaps the two axes, so the sample's ``"spacing"`` entries for them
    are swapped too (maps computed afterwards use the right pixel sizes). On a
    non-square plane an odd ``k`` changes the shape: crop to a square first if the
    samples are batched.

    Args:
        plane: the two spatial axes to rotate in (default ``(0, 1)``; for 3D choose
            e.g. ``(1, 2)`` for in-plane rotations of axial slices).
        p: probability of rotating at all.
        keys: entries moved together.

    Raises:
        ValueError: ``plane`` not two distinct non-negative axes; ``p`` outside
            ``[0, 1]``; a plane axis beyond the sample's spatial axes (when called).
    """

    preserves_maps = True

    def __init__(
        self, plane: Sequence[int] = (0, 1), p: float = 1.0, keys: Sequence[str] = SPATIAL_KEYS
    ) -> None:
        plane = tuple(plane)
        if len(plane) != 2 or plane[0] == plane[1] or min(plane) < 0:
            raise ValueError(f"plane must be two distinct spatial axes, got {plane!r}")
        self.plane = (int(plane[0]), int(plane[1]))
        self.p = _check_probability(p)
        self.keys = tuple(keys)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        ndim = _spatial_ndim(sample)
        if max(self.plane) >= ndim:
            raise ValueError(
                f"plane {self.plane} needs {max(self.plane) + 1} spatial axes, "
                f"the sample has {ndim}"
            )
        k = int(rng.integers(4)) if rng.random() < self.p else 0
        return rotate90(sample, k, self.plane, self.keys)

    def __repr__(self) -> str:
        return f"RandomRot90(plane={self.plane}, p={self.p})"


def rotate90(
    sample: Sample, k: int, plane: tuple[int, int] = (0, 1), keys: Sequence[str] = SPATIAL_KEYS
) -> Sample:
    """Rotate every spatial entry by ``k * 90`` degrees in ``plane`` (``np.rot90``).

    For odd ``k`` the ``"spacing"`` entries of the two axes are swapped.
    """
    k %= 4
    if k == 0:
        return dict(sample)
    a, b = plane
    out = _apply_spatial(sample, keys, lambda x, off: np.rot90(x, k, axes=(off + a, off + b)))
    if k % 2 and out.get("spacing") is not None:
        spacing = list(out["spacing"])
        spacing[a], spacing[b] = spacing[b], spacing[a]
        out["spacing"] = tuple(spacing)
    return out


class RandomCrop:
    """Crop a random patch, centred on a foreground voxel with some probability.

    Crops do not preserve maps (``preserves_maps = False``): use them before the map
    transforms (2D slices), or crop whole-volume maps instead (:class:`PatchDataset`).

    Args:
        size: patch size per spatial axis (at most the sample's).
        foreground_probability: chance of centring on a random voxel of a random
            foreground class (label > 0), like nnU-Net's 1/3; otherwise uniform.
        label_key: the entry whose foreground is oversampled.
        keys: entries cropped together.
        margin: voxels of context kept on each side of the patch (one int, or one per
            axis), padded with 0 (background, False) beyond the sample: the region a
            following :class:`~boundaryloss.data.spatial.RandomSpatial` with
            ``output_shape=size`` resamples the patch from.

    Raises:
        ValueError: bad ``size``, ``margin`` or probability; patch larger than the
            sample (when called).
    """

    preserves_maps = False

    def __init__(
        self,
        size: Sequence[int],
        foreground_probability: float = 0.0,
        label_key: str = "label",
        keys: Sequence[str] = SPATIAL_KEYS,
        margin: int | Sequence[int] = 0,
    ) -> None:
        size = tuple(size)
        if not size or not all(isinstance(n, (int, np.integer)) and n > 0 for n in size):
            raise ValueError(f"size must be positive ints, one per spatial axis, got {size!r}")
        self.size = tuple(int(n) for n in size)
        margin = (margin,) * len(size) if isinstance(margin, (int, np.integer)) else tuple(margin)
        if len(margin) != len(size) or not all(
            isinstance(m, (int, np.integer)) and m >= 0 for m in margin
        ):
            raise ValueError(f"margin must be ints >= 0, one per spatial axis, got {margin!r}")
        self.margin = tuple(int(m) for m in margin)
        self.foreground_probability = _check_probability(
            foreground_probability, "foreground_probability"
        )
        self.label_key = label_key
        self.keys = tuple(keys)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        ndim = _spatial_ndim(sample)
        shape = np.shape(sample["image"] if "image" in sample else sample[self.label_key])[-ndim:]
        check_patch_size(self.size, shape, name="size")
        foreground = None
        if self.foreground_probability > 0 and sample.get(self.label_key) is not None:
            foreground = LazyForeground(sample[self.label_key])
        start = random_patch_start(rng, shape, self.size, foreground, self.foreground_probability)
        if not any(self.margin):
            return _apply_spatial(sample, self.keys, lambda x, off: crop_patch(x, start, self.size))
        outer = [s - m for s, m in zip(start, self.margin, strict=True)]
        size = [n + 2 * m for n, m in zip(self.size, self.margin, strict=True)]
        return _apply_spatial(sample, self.keys, lambda x, off: crop_padded(x, outer, size))

    def __repr__(self) -> str:
        return (
            f"RandomCrop(size={self.size}, foreground_probability="
            f"{self.foreground_probability}, margin={self.margin})"
        )


class Pad:
    """Pad every spatial axis to at least ``shape`` (deterministic, centred).

    Slices and patches of cases smaller than the network's input are padded, as
    nnU-Net does: the image with ``image_value`` (0, the mean after z-scoring), the
    label with 0 (background) and the fov with False. Maps must be computed *after*
    padding (a padded map is wrong near the pad), so a sample that already holds
    maps is refused; ``preserves_maps`` is False.

    Args:
        shape: minimum size per spatial axis; larger axes are left as they are.
        image_value: constant for the image's padding.
        keys: entries padded (default image, label and fov).

    Raises:
        ValueError: bad ``shape``; a map entry present (when called).
    """

    preserves_maps = False

    def __init__(
        self,
        shape: Sequence[int],
        image_value: float = 0.0,
        keys: Sequence[str] = ("image", "label", "fov"),
    ) -> None:
        shape = tuple(shape)
        if not shape or not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
            raise ValueError(f"shape must be positive ints, one per spatial axis, got {shape!r}")
        self.shape = tuple(int(n) for n in shape)
        self.image_value = float(image_value)
        self.keys = tuple(keys)

    def __call__(self, sample: Sample, rng: np.random.Generator | None = None) -> Sample:
        ndim = _spatial_ndim(sample)
        if len(self.shape) != ndim:
            raise ValueError(f"shape {self.shape} must have one entry per spatial axis ({ndim})")
        present = [k for k in MAP_ARGUMENTS if sample.get(k) is not None]
        if present:
            raise ValueError(f"pad before computing maps: the sample already has {present}")
        spatial = np.shape(sample["image"] if "image" in sample else sample["label"])[-ndim:]
        widths = []
        for size, target in zip(spatial, self.shape, strict=True):
            extra = max(target - size, 0)
            widths.append((extra // 2, extra - extra // 2))
        if not any(before or after for before, after in widths):
            return dict(sample)

        def pad(array: np.ndarray, offset: int) -> np.ndarray:
            value = self.image_value if array.dtype.kind == "f" else 0
            return np.pad(array, [(0, 0)] * offset + widths, constant_values=value)

        return _apply_spatial(sample, self.keys, pad)

    def __repr__(self) -> str:
        return f"Pad(shape={self.shape}, image_value={self.image_value})"


class RandomIntensity:
    """Random affine intensity change of the image: ``x * scale + shift``.

    Args:
        scale: range of the multiplicative factor (uniform).
        shift: range of the additive offset (uniform, in normalised intensity units).
        p: probability of applying it.
        per_channel: draw a factor and offset per channel (else one for all).

    Raises:
        ValueError: ranges not ``(low, high)`` with ``low <= high``; ``p`` outside [0, 1].
    """

    preserves_maps = True

    def __init__(
        self,
        scale: Sequence[float] = (0.9, 1.1),
        shift: Sequence[float] = (-0.1, 0.1),
        p: float = 1.0,
        per_channel: bool = True,
    ) -> None:
        self.scale = _check_range(scale, "scale")
        self.shift = _check_range(shift, "shift")
        self.p = _check_probability(p)
        self.per_channel = per_channel

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if rng.random() >= self.p:
            return dict(sample)
        image = np.asarray(sample["image"], dtype=np.float32)
        n = image.shape[0] if self.per_channel else 1
        shape = (n,) + (1,) * (image.ndim - 1)
        scale = rng.uniform(*self.scale, size=n).reshape(shape).astype(np.float32)
        shift = rng.uniform(*self.shift, size=n).reshape(shape).astype(np.float32)
        return {**sample, "image": image * scale + shift}

    def __repr__(self) -> str:
        return f"RandomIntensity(scale={self.scale}, shift={self.shift}, p={self.p})"


class RandomGamma:
    """Random gamma of the image, per channel, within its own intensity range.

    Each channel is rescaled to ``[0, 1]`` by its min and max, raised to ``gamma``
    and scaled back (nnU-Net's gamma augmentation); a constant channel is unchanged.
    With ``invert`` the channel is negated before and after (nnU-Net's inverted gamma,
    which brightens dark structures instead); with ``retain_stats`` the result is
    shifted and scaled back to the channel's original mean and standard deviation
    (nnU-Net v2 does both, inverted with probability 0.1 and plain with 0.3).

    Args:
        gamma: range of the exponent (uniform), ``0 < low <= high``.
        p: probability of applying it.
        invert: negate the channel around the gamma.
        retain_stats: restore the channel's mean and standard deviation.

    Raises:
        ValueError: bad ``gamma`` range; ``p`` outside [0, 1].
    """

    preserves_maps = True

    def __init__(
        self,
        gamma: Sequence[float] = (0.7, 1.5),
        p: float = 0.3,
        invert: bool = False,
        retain_stats: bool = False,
    ) -> None:
        self.gamma = _check_range(gamma, "gamma", positive=True)
        self.p = _check_probability(p)
        self.invert = bool(invert)
        self.retain_stats = bool(retain_stats)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if rng.random() >= self.p:
            return dict(sample)
        image = np.array(sample["image"], dtype=np.float32)
        sign = -1.0 if self.invert else 1.0
        for channel in image:
            channel *= sign
            low, high = float(channel.min()), float(channel.max())
            if high > low:
                mean, std = float(channel.mean()), float(channel.std())
                g = rng.uniform(*self.gamma)
                channel[...] = ((channel - low) / (high - low)) ** g * (high - low) + low
                if self.retain_stats:
                    new_std = float(channel.std())
                    channel[...] = (channel - channel.mean()) * (std / max(new_std, 1e-8)) + mean
            channel *= sign
        return {**sample, "image": image}

    def __repr__(self) -> str:
        return (
            f"RandomGamma(gamma={self.gamma}, p={self.p}, invert={self.invert}, "
            f"retain_stats={self.retain_stats})"
        )


class Compose:
    """Apply transforms in order with one generator.

    ``preserves_maps`` is True only when every transform's is.

    Args:
        transforms: callables ``(sample, rng) -> sample``.
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    @property
    def preserves_maps(self) -> bool:
        return all(getattr(t, "preserves_maps", False) for t in self.transforms)

    def __call__(self, sample: Sample, rng: np.random.Generator | None = None) -> Sample:
        rng = np.random.default_rng() if rng is None else rng
        for transform in self.transforms:
            sample = transform(sample, rng)
        return sample

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"
