"""nnU-Net's intensity augmentation: noise, blur, brightness, contrast, low resolution.

Convention:
    Each transform changes ``sample["image"]`` ``(C, *spatial)`` only (labels and maps
    are untouched, so ``preserves_maps = True``), is applied to a sample with
    probability ``p`` and returns a new float32 image. Defaults are nnU-Net v2's
    (``nnUNetTrainer.get_training_transforms``); gamma is
    :class:`~boundaryloss.data.augment.RandomGamma`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from .augment import Sample, _check_probability, _check_range


class _ImageTransform:
    """Apply ``_change(image, rng)`` with probability ``p``."""

    preserves_maps = True

    def __init__(self, p: float) -> None:
        self.p = _check_probability(p)

    def _change(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if rng.random() >= self.p:
            return dict(sample)
        image = np.array(sample["image"], dtype=np.float32)
        return {**sample, "image": self._change(image, rng).astype(np.float32, copy=False)}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class RandomGaussianNoise(_ImageTransform):
    """Add zero-mean Gaussian noise of variance uniform in ``variance`` (one draw for
    all channels).

    Args:
        variance: ``(low, high)`` range of the noise variance (nnU-Net: (0, 0.1)).
        p: probability (nnU-Net: 0.1).
    """

    def __init__(self, variance: Sequence[float] = (0.0, 0.1), p: float = 0.1) -> None:
        super().__init__(p)
        self.variance = _check_range(variance, "variance")
        if self.variance[0] < 0:
            raise ValueError(f"variance must be >= 0, got {self.variance!r}")

    def _change(self, image, rng):
        std = np.sqrt(rng.uniform(*self.variance))
        return image + rng.normal(0.0, std, image.shape)


class RandomGaussianBlur(_ImageTransform):
    """Blur each channel with probability ``p_per_channel`` by a Gaussian whose sigma
    (voxels) is drawn per axis from ``sigma``.

    Args:
        sigma: ``(low, high)`` range of sigma in voxels (nnU-Net: (0.5, 1)).
        p: probability (nnU-Net: 0.2).
        p_per_channel: probability per channel (nnU-Net: 0.5).
    """

    def __init__(
        self, sigma: Sequence[float] = (0.5, 1.0), p: float = 0.2, p_per_channel: float = 0.5
    ) -> None:
        super().__init__(p)
        self.sigma = _check_range(sigma, "sigma", positive=True)
        self.p_per_channel = _check_probability(p_per_channel, "p_per_channel")

    def _change(self, image, rng):
        for channel in image:
            if rng.random() < self.p_per_channel:
                sigma = rng.uniform(*self.sigma, size=channel.ndim)
                channel[...] = ndimage.gaussian_filter(channel, sigma)
        return image


class RandomBrightness(_ImageTransform):
    """Multiply each channel by its own factor uniform in ``multiplier``.

    Args:
        multiplier: ``(low, high)`` (nnU-Net: (0.75, 1.25)).
        p: probability (nnU-Net: 0.15).
    """

    def __init__(self, multiplier: Sequence[float] = (0.75, 1.25), p: float = 0.15) -> None:
        super().__init__(p)
        self.multiplier = _check_range(multiplier, "multiplier", positive=True)

    def _change(self, image, rng):
        factors = rng.uniform(*self.multiplier, size=image.shape[0])
        return image * factors.reshape((-1,) + (1,) * (image.ndim - 1))


class RandomContrast(_ImageTransform):
    """Scale each channel about its mean by a factor uniform in ``factor``, then clip to
    the channel's original range (nnU-Net's ``preserve_range``).

    Args:
        factor: ``(low, high)`` (nnU-Net: (0.75, 1.25)).
        p: probability (nnU-Net: 0.15).
    """

    def __init__(self, factor: Sequence[float] = (0.75, 1.25), p: float = 0.15) -> None:
        super().__init__(p)
        self.factor = _check_range(factor, "factor", positive=True)

    def _change(self, image, rng):
        for channel in image:
            low, high, mean = channel.min(), channel.max(), channel.mean()
            factor = rng.uniform(*self.factor)
            channel[...] = np.clip((channel - mean) * factor + mean, low, high)
        return image


class RandomLowResolution(_ImageTransform):
    """Simulate a coarser acquisition: per channel (probability ``p_per_channel``),
    downsample by a factor uniform in ``scale`` with nearest neighbour and upsample back
    linearly (nnU-Net's ``SimulateLowResolutionTransform``, one factor for all axes).

    Args:
        scale: ``(low, high)`` of the size factor, ``0 < low <= high <= 1``
            (nnU-Net: (0.5, 1)).
        p: probability (nnU-Net: 0.25).
        p_per_channel: probability per channel (nnU-Net: 0.5).
    """

    def __init__(
        self, scale: Sequence[float] = (0.5, 1.0), p: float = 0.25, p_per_channel: float = 0.5
    ) -> None:
        super().__init__(p)
        self.scale = _check_range(scale, "scale", positive=True)
        if self.scale[1] > 1:
            raise ValueError(f"scale must lie in (0, 1], got {self.scale!r}")
        self.p_per_channel = _check_probability(p_per_channel, "p_per_channel")

    def _change(self, image, rng):
        for channel in image:
            if rng.random() >= self.p_per_channel:
                continue
            factor = rng.uniform(*self.scale)
            small = tuple(max(1, round(n * factor)) for n in channel.shape)
            # grid_mode: voxels as cells, like torch's "nearest-exact" that nnU-Net uses
            down = ndimage.zoom(
                channel,
                [s / n for s, n in zip(small, channel.shape, strict=True)],
                order=0,
                grid_mode=True,
                mode="nearest",
            )
            up = [n / s for n, s in zip(channel.shape, down.shape, strict=True)]
            channel[...] = ndimage.zoom(down, up, order=1, grid_mode=True, mode="nearest")
        return image
