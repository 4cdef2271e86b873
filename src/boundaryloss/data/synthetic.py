"""Synthetic unbalanced segmentation cases: thin curvilinear structures and small blobs.

The demo's default data and the tests' workhorse. Each case is a noisy, textured,
bias-corrupted image in which the labelled structures are only slightly brighter (or
darker) than the background, so a pixel threshold cannot segment them, while a
network that sees shape and context can. The foreground fraction is set exactly,
from about 30 % down to a handful of pixels, which is the regime boundary losses are
for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from .case import PIXELS, Case

#: Largest foreground fraction the generators accept.
MAX_FOREGROUND_FRACTION = 0.3
#: Largest ``num_classes`` (background + 4 structure kinds; see :func:`synthetic_2d`).
MAX_CLASSES = 5

_STEP = 0.5  # curve sampling step, pixels: dense enough for 8-/26-connected strokes
_MAX_ATTEMPTS = 20_000


def synthetic_2d(
    n_cases: int = 32,
    shape: Sequence[int] = (128, 128),
    foreground_fraction: float = 0.01,
    num_classes: int = 2,
    seed: int = 0,
    *,
    contrast: float = 0.25,
    noise: float = 0.08,
    distractors: bool = True,
) -> list[Case]:
    """Generate 2D cases of thin curves (vessel-like) and small blobs in noise.

    Convention:
        ``image`` is float32 ``(1, H, W)`` in [0, 1]; ``label`` int64 ``(H, W)``;
        spacing (1, 1) pixels; ids ``"synth2d_0000"``... Structure classes: class 1
        is thin smooth curves (1-3 px wide, sometimes branching), class 2 small
        blobs (ellipses of radius about 1.5-5 px), classes 3 and 4 the same two
        shapes *darker* than the background. With ``num_classes=2`` class 1 holds
        both curves (about 70 % of its pixels) and blobs.

        Foreground size is exact: every case has ``round(foreground_fraction * H * W)``
        foreground pixels (at least one per structure class), split evenly between
        the structure classes, so the fraction is within half a pixel of the request
        (structures are grown or trimmed pixel by pixel until they hit it).
        ``meta["foreground_fraction"]`` records the fraction reached.

        Appearance: background 0.45 plus smooth texture, times a smooth bias field
        (about ±20 %); structures add ``contrast`` times a per-structure gain
        (0.5-1.3), blurred for partial volume, so the thinnest curves are fainter;
        faint unlabelled curves and blobs (``distractors``) mimic background vessels;
        then Rician noise of scale ``noise`` (the magnitude of a complex Gaussian
        signal, as in MRI). Structure and background intensities overlap.

        Deterministic: case ``i`` depends only on ``(seed, i)`` and the other
        arguments, not on ``n_cases``.

    Args:
        n_cases: number of cases.
        shape: ``(H, W)``, each at least 8.
        foreground_fraction: in (0, 0.3].
        num_classes: 2 to 5, background included.
        seed: any non-negative int.
        contrast: structure intensity step over the background (before bias).
        noise: Rician noise scale.
        distractors: add unlabelled faint structures.

    Returns:
        ``n_cases`` :class:`Case` objects, spacing 1 pixel (``spacing_unit`` ``"px"``).

    Raises:
        ValueError: an argument out of range.

    Example:
        >>> cases = synthetic_2d(4, shape=(64, 64), foreground_fraction=0.02, seed=1)
        >>> cases[0].image.shape, int(cases[0].label.sum())
        ((1, 64, 64), 82)
    """
    return _generate(
        n_cases, shape, 2, foreground_fraction, num_classes, seed, contrast, noise, distractors
    )


def synthetic_3d(
    n_cases: int = 8,
    shape: Sequence[int] = (48, 48, 48),
    foreground_fraction: float = 0.01,
    num_classes: int = 2,
    seed: int = 0,
    *,
    contrast: float = 0.25,
    noise: float = 0.08,
    distractors: bool = True,
) -> list[Case]:
    """Generate 3D cases of thin tubes and small ellipsoids in noise.

    As :func:`synthetic_2d`, in three dimensions: ``image`` float32 ``(1, D, H, W)``,
    ``label`` int64 ``(D, H, W)``, spacing (1, 1, 1) voxels (``"px"``), ids
    ``"synth3d_0000"``...; tubes are 1-3 voxels thick. Each axis of ``shape`` must be at
    least 8.
    """
    return _generate(
        n_cases, shape, 3, foreground_fraction, num_classes, seed, contrast, noise, distractors
    )


def _generate(n_cases, shape, ndim, fraction, num_classes, seed, contrast, noise, distractors):
    shape = _check_args(n_cases, shape, ndim, fraction, num_classes, seed, contrast, noise)
    return [
        _case(i, shape, fraction, num_classes, seed, contrast, noise, distractors)
        for i in range(n_cases)
    ]


def _check_args(n_cases, shape, ndim, fraction, num_classes, seed, contrast, noise):
    if isinstance(n_cases, bool) or not isinstance(n_cases, (int, np.integer)) or n_cases < 0:
        raise ValueError(f"n_cases must be an int >= 0, got {n_cases!r}")
    shape = tuple(int(s) for s in shape)
    if len(shape) != ndim or min(shape) < 8:
        raise ValueError(f"shape must be {ndim} sizes, each >= 8, got {shape}")
    if not 0 < fraction <= MAX_FOREGROUND_FRACTION:
        raise ValueError(
            f"foreground_fraction must be in (0, {MAX_FOREGROUND_FRACTION}], got {fraction!r}"
        )
    if isinstance(num_classes, bool) or num_classes not in range(2, MAX_CLASSES + 1):
        raise ValueError(f"num_classes must be an int from 2 to {MAX_CLASSES}, got {num_classes!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    if not (contrast > 0 and noise >= 0):
        raise ValueError(f"contrast must be > 0 and noise >= 0, got {contrast!r}, {noise!r}")
    return shape


def _case(index, shape, fraction, num_classes, seed, contrast, noise, distractors) -> Case:
    ndim = len(shape)
    rng = np.random.default_rng([seed, ndim, index])
    size = math.prod(shape)
    total = max(round(fraction * size), num_classes - 1)
    label = np.zeros(shape, dtype=np.int64)
    gain = np.zeros(shape, dtype=np.float32)  # signed intensity of each structure pixel
    budgets = np.full(num_classes - 1, total // (num_classes - 1))
    budgets[: total % (num_classes - 1)] += 1
    for cls, budget in enumerate(budgets.tolist(), start=1):
        polarity = 1.0 if cls <= 2 else -1.0
        if num_classes == 2:
            blob_share = 0 if budget < 12 else round(0.3 * budget)
            _fill(rng, label, gain, cls, budget - blob_share, "curve", polarity)
            _fill(rng, label, gain, cls, blob_share, "blob", polarity)
        else:
            _fill(rng, label, gain, cls, budget, "curve" if cls % 2 else "blob", polarity)

    clutter = np.zeros(shape, dtype=np.float32)
    if distractors:  # unlabelled faint structures, drawn where there is no label
        taken = label.copy()
        amount = min(total, math.ceil(0.03 * size))
        _fill(rng, taken, clutter, -1, amount, "curve", 1.0, gain_range=(0.2, 0.45))
        _fill(rng, taken, clutter, -1, max(amount // 4, 1), "blob", -1.0, gain_range=(0.2, 0.4))
    image = _render(rng, shape, gain + clutter, contrast, noise)
    reached = float(np.count_nonzero(label)) / size
    return Case(
        case_id=f"synth{ndim}d_{index:04d}",
        image=image[None],
        label=label,
        spacing=(1.0,) * ndim,
        spacing_unit=PIXELS,
        meta={
            "dataset": "synthetic",
            "seed": seed,
            "index": index,
            "requested_fraction": fraction,
            "foreground_fraction": reached,
        },
    )


# --- structures ---------------------------------------------------------------------------


def _fill(rng, label, gain, cls, budget, kind, polarity, gain_range=(0.5, 1.3)) -> None:
    """Add ``kind`` structures of class ``cls`` until exactly ``budget`` new pixels are set.

    Structures only claim unlabelled pixels; the last one is trimmed (a curve to a
    prefix, a blob to its core) so the count is exact.
    """
    shape = label.shape
    flat_label, flat_gain = label.reshape(-1), gain.reshape(-1)
    own: list[np.ndarray] = []
    for _ in range(_MAX_ATTEMPTS):
        if budget <= 0:
            return
        if kind == "curve":
            start = None
            if own and rng.random() < 0.5:  # branch off an existing curve
                pick = own[rng.integers(len(own))]
                start = np.array(np.unravel_index(pick[rng.integers(len(pick))], shape), float)
            pixels = _curve(rng, shape, start)
        else:
            pixels = _blob(rng, shape, budget)
        pixels = pixels[flat_label[pixels] == 0]
        if pixels.size == 0:
            continue
        _, first = np.unique(pixels, return_index=True)
        pixels = pixels[np.sort(first)][:budget]
        flat_label[pixels] = cls
        flat_gain[pixels] = polarity * rng.uniform(*gain_range)
        budget -= pixels.size
        own.append(pixels)
    raise RuntimeError(f"could not place {budget} more {kind} pixels in shape {shape}")


def _curve(rng, shape, start=None) -> np.ndarray:
    """Flat indices of a smooth random curve 1-3 px thick, in order along the curve."""
    ndim = len(shape)
    shape_arr = np.asarray(shape, dtype=float)
    if start is None:
        start = rng.uniform(0.1, 0.9, ndim) * shape_arr
    length = rng.uniform(0.3, 1.0) * float(shape_arr.max())
    s = np.arange(0.0, length, _STEP)
    # Heading angles as slow sums of sinusoids: winding, vessel-like, never jagged.
    angles = []
    for _ in range(ndim - 1):
        wavelengths = rng.uniform(15.0, 120.0, 3)
        amplitudes = rng.uniform(0.0, 0.7, 3)
        phases = rng.uniform(0, 2 * np.pi, 3)
        wave = amplitudes @ np.sin(2 * np.pi * s[None] / wavelengths[:, None] + phases[:, None])
        angles.append(rng.uniform(0, 2 * np.pi) + wave)
    if ndim == 2:
        tangent = np.stack([np.cos(angles[0]), np.sin(angles[0])], axis=1)
    else:
        azimuth, polar = angles[0], np.arccos(rng.uniform(-1, 1)) + (angles[1] - angles[1][0])
        tangent = np.stack(
            [np.cos(polar), np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth)],
            axis=1,
        )
    points = start + np.cumsum(tangent * _STEP, axis=0)
    width = int(rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
    if width == 2:
        offsets = np.array(np.meshgrid(*[[0, 1]] * ndim, indexing="ij")).reshape(ndim, -1).T
        base = np.floor(points)
    else:
        offsets = np.zeros((1, ndim))
        if width == 3:
            eye = np.eye(ndim)
            offsets = np.concatenate([offsets, eye, -eye])
        base = np.floor(points + 0.5)
    coords = (base[:, None, :] + offsets[None]).reshape(-1, ndim).astype(np.int64)
    return _in_bounds(coords, shape)


def _blob(rng, shape, budget) -> np.ndarray:
    """Flat indices of a randomly rotated ellipse/ellipsoid, core first."""
    ndim = len(shape)
    radii = rng.uniform(1.5, 5.0, ndim)
    # Shrink blobs that would overshoot a small budget much (the excess is trimmed
    # anyway, but a trimmed big blob would be a lopsided small one).
    volume = (math.pi if ndim == 2 else 4 * math.pi / 3) * float(np.prod(radii))
    if volume > 1.5 * budget:
        radii *= (1.5 * budget / volume) ** (1 / ndim)
    rotation, _ = np.linalg.qr(rng.standard_normal((ndim, ndim)))
    centre = rng.uniform(0.05, 0.95, ndim) * np.asarray(shape)
    reach = math.ceil(radii.max()) + 1
    grid = np.stack(np.meshgrid(*[np.arange(-reach, reach + 1)] * ndim, indexing="ij"), -1).reshape(
        -1, ndim
    )
    coords = np.floor(centre).astype(np.int64) + grid
    local = (coords + 0.5 - centre) @ rotation
    rho = np.sqrt(((local / radii) ** 2).sum(axis=1))
    order = np.argsort(rho, kind="stable")
    keep = order[: max(1, int(np.count_nonzero(rho <= 1.0)))]
    return _in_bounds(coords[keep], shape)


def _in_bounds(coords: np.ndarray, shape) -> np.ndarray:
    inside = np.all((coords >= 0) & (coords < np.asarray(shape)), axis=1)
    return np.ravel_multi_index(tuple(coords[inside].T), shape)


# --- appearance ---------------------------------------------------------------------------


def _render(rng, shape, signal, contrast, noise) -> np.ndarray:
    ndim = len(shape)
    texture = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=2.0, truncate=3.0)
    texture *= 0.04 / max(float(texture.std()), 1e-12)
    partial_volume = ndimage.gaussian_filter(signal.astype(np.float64), sigma=0.6, truncate=3.0)
    # Renormalise so a 3-px structure keeps roughly its full gain, thin ones come out fainter.
    structures = contrast * partial_volume / 0.85
    grids = np.meshgrid(*[np.linspace(0, 1, n) for n in shape], indexing="ij", sparse=True)
    bias = np.zeros(shape)
    for _ in range(4):
        frequency = rng.uniform(-1.5, 1.5, ndim) * np.pi
        bias = bias + np.cos(
            sum(f * g for f, g in zip(frequency, grids, strict=True)) + rng.uniform(0, 2 * np.pi)
        )
    bias = 1.0 + 0.2 * bias / max(float(np.abs(bias).max()), 1e-12)
    clean = bias * (0.45 + texture + structures)
    real = clean + noise * rng.standard_normal(shape)
    imaginary = noise * rng.standard_normal(shape)
    image = np.sqrt(real**2 + imaginary**2)
    return np.clip(image, 0.0, 1.0).astype(np.float32)
