"""Spatial augmentation by resampling: rotation, zoom, elastic deformation (2D and 3D)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from boundaryloss.data.augment import Compose, RandomCrop, RandomFlip
from boundaryloss.data.datasets import PatchDataset, SliceDataset
from boundaryloss.data.spatial import (
    RandomSpatial,
    elastic_displacement,
    resample,
    rotation_matrix,
)
from boundaryloss.maps import DistanceMapTransform, signed_distance_map

from .pipeline_cases import blob_case

SHAPE = {2: (20, 20), 3: (14, 14, 14)}
SIGNED = DistanceMapTransform("signed", 3)


def sample_of(ndim, seed=0, spacing=None):
    case = blob_case(shape=SHAPE[ndim], seed=seed, spacing=spacing, fov=True)
    return {"image": case.image, "label": case.label, "fov": case.fov, "spacing": case.spacing}


def everything(output_shape=None, **overrides):
    options = dict(
        rotation=180.0,
        p_rotation=1.0,
        scale=(0.7, 1.4),
        p_scale=1.0,
        elastic_magnitude=2.0,
        elastic_sigma=3.0,
        p_elastic=1.0,
        output_shape=output_shape,
    )
    options.update(overrides)
    return RandomSpatial(**options)


@pytest.mark.parametrize("ndim", [2, 3])
def test_identity_parameters_give_the_input(ndim):
    sample = sample_of(ndim)
    identity = RandomSpatial(
        rotation=0.0, p_rotation=1.0, scale=(1.0, 1.0), p_scale=1.0, p_elastic=1.0
    )
    out = identity(sample, np.random.default_rng(0))  # interpolates at the grid points
    np.testing.assert_allclose(out["image"], sample["image"], atol=1e-5)
    np.testing.assert_array_equal(out["label"], sample["label"])
    np.testing.assert_array_equal(out["fov"], sample["fov"])
    assert out["label"].dtype == np.int64 and out["fov"].dtype == np.bool_


@pytest.mark.parametrize("ndim", [2, 3])
def test_no_deformation_is_the_centre_crop(ndim):
    sample = sample_of(ndim)
    out = RandomSpatial(output_shape=(8,) * ndim)(sample, np.random.default_rng(0))
    start = [(n - 8) // 2 for n in SHAPE[ndim]]
    window = tuple(slice(s, s + 8) for s in start)
    np.testing.assert_array_equal(out["image"], sample["image"][(slice(None), *window)])
    np.testing.assert_array_equal(out["label"], sample["label"][window])


@pytest.mark.parametrize("ndim", [2, 3])
def test_labels_keep_their_values_and_entries_stay_aligned(ndim):
    sample = sample_of(ndim)
    out = everything()(sample, np.random.default_rng(3))
    assert set(np.unique(out["label"])) <= set(np.unique(sample["label"]))
    assert out["label"].shape == SHAPE[ndim] and out["image"].shape[1:] == SHAPE[ndim]
    # blob_case images are label * (c + 1) + noise: the cubic-interpolated image follows
    # the nearest-neighbour label away from label edges.
    inner = ndimage.binary_erosion(out["label"] == 1, iterations=1)
    assert inner.any()
    values = out["image"][0][inner]
    assert np.mean(np.abs(values - 1.0) < 0.35) > 0.95


def test_90_degrees_in_2d_is_numpy_rot90():
    sample = sample_of(2)
    out = resample(sample, SHAPE[2], matrix=rotation_matrix([np.pi / 2]))
    # out[i, j] = in[n - 1 - j, i]: np.rot90 with k = -1
    np.testing.assert_array_equal(out["label"], np.rot90(sample["label"], -1))
    np.testing.assert_allclose(out["image"], np.rot90(sample["image"], -1, axes=(1, 2)), atol=1e-4)


def test_90_degrees_about_the_last_axis_in_3d_is_numpy_rot90():
    sample = sample_of(3)
    out = resample(sample, SHAPE[3], matrix=rotation_matrix([0.0, 0.0, np.pi / 2]))
    np.testing.assert_array_equal(out["label"], np.rot90(sample["label"], -1, axes=(0, 1)))


def test_3d_rotation_moves_a_marker_where_scipy_rotation_says():
    shape = (31, 31, 31)
    centre = (np.asarray(shape) - 1) / 2
    offset = np.array([6.0, -4.0, 3.0])
    label = np.zeros(shape, dtype=np.int64)
    at = (centre + offset).astype(int)
    label[at[0] - 1 : at[0] + 2, at[1] - 1 : at[1] + 2, at[2] - 1 : at[2] + 2] = 1
    angles = [0.4, -0.3, 0.7]
    out = resample({"label": label}, shape, matrix=rotation_matrix(angles))
    # The output samples the input at centre + R (o - centre): the marker lands at
    # centre + R^T offset.
    expected = centre + Rotation.from_euler("xyz", angles).inv().apply(offset)
    found = np.argwhere(out["label"] == 1).mean(axis=0)
    np.testing.assert_allclose(found, expected, atol=0.6)


def test_rotation_is_physical_under_anisotropic_spacing():
    # An ellipse in voxels that is a disc in millimetres stays itself under rotation.
    spacing = (2.0, 1.0)
    shape = (41, 81)
    grid = np.indices(shape).astype(float)
    centre = (np.asarray(shape) - 1) / 2
    radius_mm = 24.0
    mm = [(g - c) * s for g, c, s in zip(grid, centre, spacing, strict=True)]
    disc = ((mm[0] ** 2 + mm[1] ** 2) < radius_mm**2).astype(np.int64)
    turn = rotation_matrix([np.deg2rad(37.0)])
    physical = resample({"label": disc, "spacing": spacing}, shape, matrix=turn)["label"]
    in_voxels = resample({"label": disc}, shape, matrix=turn)["label"]

    def iou(a, b):
        return (a & b).sum() / (a | b).sum()

    assert iou(physical == 1, disc == 1) > 0.95
    assert iou(in_voxels == 1, disc == 1) < 0.85


@pytest.mark.parametrize("ndim", [2, 3])
def test_zoom_enlarges_structures_by_its_factor(ndim):
    shape = (41,) * ndim
    centre = (np.asarray(shape) - 1) / 2
    distance = np.sqrt(sum((g - c) ** 2 for g, c in zip(np.indices(shape), centre, strict=True)))
    ball = (distance <= 6).astype(np.int64)
    out = resample({"label": ball}, shape, zoom=2.0)["label"]
    np.testing.assert_allclose(out.sum() / ball.sum(), 2.0**ndim, rtol=0.1)


def test_elastic_displacement_is_bounded_and_smooth():
    rng = np.random.default_rng(0)
    field = elastic_displacement((30, 40), magnitude=3.0, sigma=5.0, rng=rng)
    assert field.shape == (2, 30, 40)
    np.testing.assert_allclose(np.abs(field).reshape(2, -1).max(axis=1), 3.0)
    assert np.abs(np.diff(field, axis=1)).max() < 1.0  # neighbours move together


@pytest.mark.parametrize("ndim", [2, 3])
def test_same_seed_same_output_other_seed_other_output(ndim):
    sample = sample_of(ndim)
    transform = everything()
    a = transform(sample, np.random.default_rng(7))
    b = transform(sample, np.random.default_rng(7))
    c = transform(sample, np.random.default_rng(8))
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["label"], b["label"])
    assert not np.array_equal(a["image"], c["image"])


def test_refuses_maps_and_bad_arguments():
    sample = SIGNED(sample_of(2))
    with pytest.raises(ValueError, match="resample before computing maps"):
        RandomSpatial()(sample, np.random.default_rng(0))
    with pytest.raises(ValueError, match="output_shape"):
        RandomSpatial(output_shape=(4, 4, 4))(sample_of(2), np.random.default_rng(0))
    with pytest.raises(ValueError, match="scale"):
        RandomSpatial(scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="p_rotation"):
        RandomSpatial(p_rotation=1.5)
    with pytest.raises(ValueError, match="rotation and elastic_magnitude"):
        RandomSpatial(rotation=-1.0)
    assert RandomSpatial.preserves_maps is False


def test_slice_dataset_computes_maps_after_the_spatial_transform():
    cases = [blob_case(f"c{i}", shape=(24, 24), seed=i) for i in range(2)]
    transforms = Compose(
        [RandomCrop((12, 12), margin=3), everything(output_shape=(12, 12)), RandomFlip()]
    )
    dataset = SliceDataset(cases, transforms=transforms, maps=[SIGNED], seed=0)
    for i in range(len(dataset)):
        sample = dataset[i]
        assert sample["label"].shape == (12, 12)
        expected = signed_distance_map(
            sample["label"].numpy(), 3, tuple(sample["spacing"].tolist())
        )
        np.testing.assert_array_equal(sample["dist_map"].numpy(), expected)


def test_patch_dataset_resamples_from_context_and_maps_the_patch():
    cases = [
        blob_case(f"c{i}", shape=(10, 12, 12), seed=i, spacing=(2.0, 1.0, 1.0)) for i in range(2)
    ]
    dataset = PatchDataset(
        cases,
        patch_size=(6, 6, 6),
        maps=[SIGNED],
        transforms=Compose([everything(output_shape=(6, 6, 6)), RandomFlip()]),
        margin=2,
        seed=0,
    )
    for i in range(4):
        sample = dataset[i % 2]
        assert sample["image"].shape == (2, 6, 6, 6) and sample["label"].shape == (6, 6, 6)
        expected = signed_distance_map(sample["label"].numpy(), 3, (2.0, 1.0, 1.0))
        np.testing.assert_array_equal(sample["dist_map"].numpy(), expected)
    plain = PatchDataset(
        cases, (6, 6, 6), transforms=Compose([RandomSpatial(output_shape=(6, 6, 6))])
    )
    assert plain.maps_after_transforms
