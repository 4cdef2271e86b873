"""nnU-Net's intensity augmentation: each transform against its formula, image only."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from boundaryloss.data.augment import RandomGamma
from boundaryloss.data.intensity import (
    RandomBrightness,
    RandomContrast,
    RandomGaussianBlur,
    RandomGaussianNoise,
    RandomLowResolution,
)
from boundaryloss.maps import DistanceMapTransform

from .pipeline_cases import blob_case

ALL = [
    RandomGaussianNoise(p=1.0),
    RandomGaussianBlur(p=1.0),
    RandomBrightness(p=1.0),
    RandomContrast(p=1.0),
    RandomLowResolution(p=1.0, p_per_channel=1.0),
    RandomGamma(p=1.0, invert=True, retain_stats=True),
]


def sample_of(ndim):
    shape = (16, 18) if ndim == 2 else (8, 10, 12)
    sample = {"image": blob_case(shape=shape).image, "label": blob_case(shape=shape).label}
    return DistanceMapTransform("signed", 3)({**sample, "spacing": (1.0,) * ndim})


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("transform", ALL, ids=lambda t: type(t).__name__)
def test_image_only_float32_reproducible_and_off_at_p0(transform, ndim):
    sample = sample_of(ndim)
    out = transform(sample, np.random.default_rng(0))
    assert out["image"].dtype == np.float32 and out["image"].shape == sample["image"].shape
    assert out["label"] is sample["label"] and out["dist_map"] is sample["dist_map"]
    assert not np.array_equal(out["image"], sample["image"])
    again = transform(sample, np.random.default_rng(0))
    np.testing.assert_array_equal(out["image"], again["image"])
    assert transform.preserves_maps
    off = type(transform)(p=0.0)(sample, np.random.default_rng(0))
    np.testing.assert_array_equal(off["image"], sample["image"])


def test_noise_has_the_drawn_variance():
    image = np.zeros((1, 200, 200), np.float32)
    out = RandomGaussianNoise(variance=(0.04, 0.04), p=1.0)(
        {"image": image}, np.random.default_rng(0)
    )
    assert abs(out["image"].std() - 0.2) < 0.005 and abs(out["image"].mean()) < 0.005


def test_blur_is_scipy_gaussian_filter():
    image = sample_of(2)["image"]
    out = RandomGaussianBlur(sigma=(0.8, 0.8), p=1.0, p_per_channel=1.0)(
        {"image": image}, np.random.default_rng(0)
    )
    for c in range(image.shape[0]):
        np.testing.assert_allclose(
            out["image"][c], ndimage.gaussian_filter(image[c], 0.8), atol=1e-6
        )


def test_brightness_multiplies():
    image = sample_of(3)["image"]
    out = RandomBrightness(multiplier=(1.2, 1.2), p=1.0)({"image": image}, np.random.default_rng(0))
    np.testing.assert_allclose(out["image"], image * 1.2, rtol=1e-6)


def test_contrast_scales_about_the_mean_within_the_range():
    image = sample_of(2)["image"]
    out = RandomContrast(factor=(1.25, 1.25), p=1.0)({"image": image}, np.random.default_rng(0))
    for c in range(image.shape[0]):
        x = image[c].astype(np.float64)
        expected = np.clip((x - x.mean()) * 1.25 + x.mean(), x.min(), x.max())
        np.testing.assert_allclose(out["image"][c], expected, atol=1e-5)


def test_low_resolution_removes_fine_detail_and_keeps_the_shape():
    checker = (np.indices((32, 32)).sum(0) % 2).astype(np.float32)[None]
    out = RandomLowResolution(scale=(0.5, 0.5), p=1.0, p_per_channel=1.0)(
        {"image": checker}, np.random.default_rng(0)
    )
    assert out["image"].shape == checker.shape
    # Nearest-neighbour downsampling by 2 keeps one phase of the checkerboard: constant.
    assert out["image"].std() < 0.05 * checker.std()
    same = RandomLowResolution(scale=(1.0, 1.0), p=1.0, p_per_channel=1.0)(
        {"image": checker}, np.random.default_rng(0)
    )
    np.testing.assert_allclose(same["image"], checker, atol=1e-6)


def test_gamma_inverted_with_retained_statistics():
    image = sample_of(2)["image"]
    out = RandomGamma(gamma=(2.0, 2.0), p=1.0, invert=True, retain_stats=True)(
        {"image": image}, np.random.default_rng(0)
    )
    for c in range(image.shape[0]):
        x = -image[c].astype(np.float64)
        low, high = x.min(), x.max()
        y = ((x - low) / (high - low)) ** 2.0 * (high - low) + low
        y = (y - y.mean()) / y.std() * x.std() + x.mean()
        np.testing.assert_allclose(out["image"][c], -y, atol=1e-4)
        assert abs(out["image"][c].mean() - image[c].mean()) < 1e-4


def test_bad_intensity_arguments():
    with pytest.raises(ValueError, match="variance"):
        RandomGaussianNoise(variance=(-1.0, 0.1))
    with pytest.raises(ValueError, match="scale"):
        RandomLowResolution(scale=(0.5, 2.0))
    with pytest.raises(ValueError, match="p"):
        RandomBrightness(p=2.0)
