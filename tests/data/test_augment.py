"""Joint augmentation: image, label, fov and maps stay aligned; maps commute exactly."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.augment import (
    Compose,
    Pad,
    RandomCrop,
    RandomFlip,
    RandomGamma,
    RandomIntensity,
    RandomRot90,
    rotate90,
)
from boundaryloss.maps import DistanceMapTransform

from .pipeline_cases import blob_case

# Dyadic spacings: squared distances are exact in floating point, so maps computed on a
# flipped or rotated grid must equal the flipped or rotated maps bit for bit.
SPACING = {2: (2.0, 0.5), 3: (2.0, 0.5, 1.0)}
SHAPE = {2: (14, 11), 3: (9, 12, 7)}
MAPS = [DistanceMapTransform("signed", 3), DistanceMapTransform("rrw", 3)]


def sample_of(ndim, seed=0):
    case = blob_case(shape=SHAPE[ndim], seed=seed, spacing=SPACING[ndim], fov=True)
    case.fov[(0,) * ndim] = False  # make the fov informative for alignment checks
    return {
        "image": case.image,
        "label": case.label,
        "fov": case.fov,
        "spacing": case.spacing,
        "case_id": case.case_id,
    }


def with_maps(sample):
    for transform in MAPS:
        sample = transform(sample)
    return sample


def assert_aligned(sample):
    # blob_case images are label * (c + 1) + small noise.
    np.testing.assert_array_equal(np.rint(sample["image"][0]).astype(int), sample["label"])


@pytest.mark.parametrize("ndim", [2, 3])
def test_flip_commutes_with_maps_exactly(ndim):
    before = with_maps(sample_of(ndim))
    for axis in range(ndim):
        flipped = RandomFlip(axes=[axis], p=1.0)(before, np.random.default_rng(0))
        assert flipped["spacing"] == before["spacing"]
        recomputed = with_maps(
            {k: v for k, v in flipped.items() if k not in ("dist_map", "rw_map")}
        )
        for key in ("dist_map", "rw_map"):
            np.testing.assert_array_equal(recomputed[key], flipped[key])
        np.testing.assert_array_equal(flipped["fov"], np.flip(before["fov"], axis))
        assert_aligned(flipped)


@pytest.mark.parametrize(("ndim", "plane"), [(2, (0, 1)), (3, (0, 1)), (3, (1, 2)), (3, (2, 0))])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_rot90_commutes_with_maps_exactly_with_spacing_permuted(ndim, plane, k):
    before = with_maps(sample_of(ndim))
    rotated = rotate90(before, k, plane)
    if k % 2:
        expected = list(before["spacing"])
        expected[plane[0]], expected[plane[1]] = expected[plane[1]], expected[plane[0]]
        assert rotated["spacing"] == tuple(expected)
    recomputed = with_maps({k: v for k, v in rotated.items() if k not in ("dist_map", "rw_map")})
    for key in ("dist_map", "rw_map"):
        assert recomputed[key].shape == rotated[key].shape
        np.testing.assert_array_equal(recomputed[key], rotated[key])
    assert_aligned(rotated)
    assert rotated["fov"].shape == rotated["label"].shape
    assert before["spacing"] == SPACING[ndim]  # the input sample is untouched


def test_random_rotation_draws_every_k():
    sample = sample_of(2)
    rng = np.random.default_rng(0)
    shapes = {RandomRot90()(sample, rng)["label"].shape for _ in range(40)}
    assert shapes == {(14, 11), (11, 14)}


def test_crop_is_joint_and_oversamples_foreground():
    sample = with_maps(sample_of(3))
    sample["label"] = np.zeros_like(sample["label"])
    sample["label"][7, 10, 5] = 2
    crop = RandomCrop((4, 4, 3), foreground_probability=1.0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = crop(sample, rng)
        assert out["label"].shape == out["fov"].shape == (4, 4, 3)
        assert out["image"].shape == (2, 4, 4, 3) and out["dist_map"].shape == (3, 4, 4, 3)
        assert out["label"].sum() == 2
    assert not RandomCrop((4, 4, 3)).preserves_maps


def test_intensity_changes_touch_the_image_only():
    sample = with_maps(sample_of(2))
    rng = np.random.default_rng(0)
    out = RandomIntensity(scale=(2.0, 2.0), shift=(1.0, 1.0))(sample, rng)
    np.testing.assert_allclose(out["image"], sample["image"] * 2.0 + 1.0, rtol=1e-6)
    for key in ("label", "fov", "dist_map", "rw_map"):
        assert out[key] is sample[key]
    gamma = RandomGamma(gamma=(2.0, 2.0), p=1.0)(sample, rng)
    np.testing.assert_allclose(gamma["image"].min(axis=(1, 2)), sample["image"].min(axis=(1, 2)))
    np.testing.assert_allclose(
        gamma["image"].max(axis=(1, 2)), sample["image"].max(axis=(1, 2)), rtol=1e-6
    )
    assert gamma["label"] is sample["label"] and not np.allclose(gamma["image"], sample["image"])


def test_compose_is_reproducible_and_reports_map_safety():
    pipeline = Compose([RandomFlip(), RandomRot90(), RandomIntensity(), RandomGamma(p=0.5)])
    sample = sample_of(2)
    a = pipeline(sample, np.random.default_rng(7))
    b = pipeline(sample, np.random.default_rng(7))
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["label"], b["label"])
    assert_aligned(a)
    assert pipeline.preserves_maps
    assert not Compose([RandomFlip(), RandomCrop((4, 4))]).preserves_maps


def test_pad_is_centred_and_refuses_maps():
    sample = sample_of(2)  # (14, 11)
    out = Pad((16, 16), image_value=-1.0)(sample)
    assert out["image"].shape == (2, 16, 16) and out["label"].shape == out["fov"].shape == (16, 16)
    np.testing.assert_array_equal(out["label"][1:15, 2:13], sample["label"])
    np.testing.assert_array_equal(out["image"][:, 1:15, 2:13], sample["image"])
    assert out["label"][0].sum() == 0 and not out["fov"][:, :2].any()
    assert (out["image"][:, 0] == -1.0).all()
    assert Pad((8, 8))(sample)["label"].shape == (14, 11)  # never crops
    assert not Pad((16, 16)).preserves_maps
    with pytest.raises(ValueError, match="before computing maps"):
        Pad((16, 16))(with_maps(sample))
    with pytest.raises(ValueError, match="shape"):
        Pad((16, 16, 16))(sample)


def test_bad_augmentation_arguments():
    sample = sample_of(2)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="p must"):
        RandomFlip(p=1.5)
    with pytest.raises(ValueError, match="axes"):
        RandomFlip(axes=[2])(sample, rng)
    with pytest.raises(ValueError, match="plane"):
        RandomRot90(plane=(1, 1))
    with pytest.raises(ValueError, match="plane"):
        RandomRot90(plane=(1, 2))(sample, rng)
    with pytest.raises(ValueError, match="size"):
        RandomCrop((20, 4))(sample, rng)
    with pytest.raises(ValueError, match="size"):
        RandomCrop((0, 4))
    with pytest.raises(ValueError, match="foreground_probability"):
        RandomCrop((4, 4), foreground_probability=-0.1)
    with pytest.raises(ValueError, match="scale"):
        RandomIntensity(scale=(1.1, 0.9))
    with pytest.raises(ValueError, match="gamma"):
        RandomGamma(gamma=(0.0, 1.0))
