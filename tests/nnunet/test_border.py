"""Patch-border measurement tools (boundaryloss.nnunet.border), no nnunetv2 needed."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from boundaryloss.maps import signed_distance_map
from boundaryloss.nnunet.border import certified_exact, crop, patch_corner, patch_map_error


def _ball(shape, centre, radius) -> np.ndarray:
    grid = np.indices(shape)
    return (sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= radius**2).astype(
        np.int64
    )


def test_crop_pads_with_background():
    array = np.arange(1, 10).reshape(3, 3)
    np.testing.assert_array_equal(crop(array, (-1, 1), (3, 3)), [[0, 0, 0], [2, 3, 0], [5, 6, 0]])
    assert crop(np.ones((2, 4, 4)), (1, 1), (2, 2)).shape == (2, 2, 2)


def test_patch_corner_follows_nnunet_bounds():
    rng = np.random.default_rng(0)
    for _ in range(50):
        corner = patch_corner((10, 30), (16, 8), rng)
        # the image is smaller than the patch along axis 0: centred with padding 3 each side
        assert corner[0] == -3
        assert 0 <= corner[1] <= 22
    fg = np.array([[5, 20]])
    assert patch_corner((10, 30), (16, 8), rng, fg) == (-3, 16)


def test_patch_covering_the_object_is_exact():
    label = _ball((20, 20, 20), (10, 10, 10), 4)
    error = patch_map_error(label, (2, 2, 2), (16, 16, 16), "signed", 2, (1.0, 1.0, 1.0), [1])
    np.testing.assert_allclose(error.abs_error, 0.0, atol=1e-5)


def test_cut_object_error_against_scipy_reference():
    """The reference is the crop of the whole map, written out with scipy's EDT."""
    label = _ball((24, 24), (12, 12), 7)
    spacing = (1.5, 1.0)
    error = patch_map_error(label, (0, 0), (12, 12), "signed", 2, spacing, [1])
    outside = ndimage.distance_transform_edt(label == 0, sampling=spacing)
    mask = label[:12, :12] == 0
    np.testing.assert_allclose(error.reference[0][mask], outside[:12, :12][mask], rtol=1e-6)
    assert error.abs_error.max() > 1.0  # the patch misses the ball's far side
    # the patch's own map is its labels' map
    expected = signed_distance_map(label[:12, :12], 2, spacing)[1]
    np.testing.assert_array_equal(error.patch_map[0], expected)


@pytest.mark.parametrize("seed", range(5))
def test_certified_voxels_are_exact(seed):
    rng = np.random.default_rng(seed)
    label = np.zeros((30, 30, 30), dtype=np.int64)
    for k in (1, 2):
        centre = rng.uniform(8, 22, 3)
        label[_ball(label.shape, centre, rng.uniform(3, 7)) > 0] = k
    spacing = (2.0, 1.0, 0.8)
    corner = patch_corner(label.shape, (14, 14, 14), rng, np.argwhere(label > 0))
    error = patch_map_error(label, corner, (14, 14, 14), "signed", 3, spacing, [1, 2])
    certified = certified_exact(error.patch_map, spacing, crop(label, corner, (14,) * 3), [1, 2])
    assert certified.any()
    assert np.all(error.abs_error[certified] <= 1e-4)


def test_absent_class_is_never_certified():
    label = np.zeros((12, 12), dtype=np.int64)
    label[9:, 9:] = 1
    error = patch_map_error(label, (0, 0), (6, 6), "signed", 2, (1.0, 1.0), [1])
    assert not certified_exact(error.patch_map, (1.0, 1.0), crop(label, (0, 0), (6, 6)), [1]).any()
    assert error.abs_error.min() > 0  # zeros in the patch, distances in the reference
