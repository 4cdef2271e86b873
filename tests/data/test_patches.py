"""Patch positions and crops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boundaryloss.data.patches import (
    crop_patch,
    foreground_locations,
    patch_grid,
    random_patch_start,
)


@pytest.mark.parametrize(
    ("shape", "patch", "stride"),
    [((10, 7, 9), (4, 7, 5), None), ((10, 7, 9), (4, 3, 5), (2, 2, 3)), ((5, 6), (5, 4), None)],
)
def test_patch_grid_covers_every_voxel_inside_the_volume(shape, patch, stride):
    covered = np.zeros(shape, dtype=int)
    for start in patch_grid(shape, patch, stride):
        assert all(0 <= s and s + p <= n for s, p, n in zip(start, patch, shape, strict=True))
        crop_patch(covered, start, patch)[...] += 1
    assert covered.min() >= 1


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_patch_grid_covers_any_shape(data):
    ndim = data.draw(st.integers(1, 3))
    shape = data.draw(st.tuples(*[st.integers(1, 12)] * ndim))
    patch = tuple(data.draw(st.integers(1, n)) for n in shape)
    stride = tuple(data.draw(st.integers(1, p)) for p in patch)
    covered = np.zeros(shape, dtype=int)
    starts = patch_grid(shape, patch, stride)
    assert len(set(starts)) == len(starts)
    for start in starts:
        crop_patch(covered, start, patch)[...] += 1
    assert covered.min() >= 1


def test_crop_keeps_leading_axes():
    array = np.arange(2 * 6 * 5).reshape(2, 6, 5)
    np.testing.assert_array_equal(crop_patch(array, (1, 2), (3, 2)), array[:, 1:4, 2:4])


def test_foreground_oversampling_centres_on_foreground():
    label = np.zeros((40, 40, 40), dtype=np.int64)
    label[30:32, 2:4, 35:37] = 1
    label[5, 5, 5] = 2
    foreground = foreground_locations(label)
    assert set(foreground) == {1, 2}
    rng = np.random.default_rng(0)
    hits = {1: 0, 2: 0}
    for _ in range(200):
        start = random_patch_start(rng, label.shape, (8, 8, 8), foreground, 1.0)
        patch = crop_patch(label, start, (8, 8, 8))
        assert patch.any()
        hits[1] += bool((patch == 1).any())
        hits[2] += bool((patch == 2).any())
    assert hits[1] > 60 and hits[2] > 60  # classes drawn uniformly, not by voxel count
    # Without oversampling such small structures are rarely in a patch.
    uniform = [
        crop_patch(label, random_patch_start(rng, label.shape, (8, 8, 8)), (8, 8, 8)).any()
        for _ in range(200)
    ]
    assert sum(uniform) < 60


def test_bad_patch_arguments():
    with pytest.raises(ValueError, match="patch_size"):
        patch_grid((10, 10), (11, 4))
    with pytest.raises(ValueError, match="patch_size"):
        patch_grid((10, 10), (4, 4, 4))
    with pytest.raises(ValueError, match="stride"):
        patch_grid((10, 10), (4, 4), (0, 2))
    with pytest.raises(ValueError, match="foreground_probability"):
        random_patch_start(np.random.default_rng(), (10, 10), (4, 4), None, 1.5)
    with pytest.raises(ValueError, match="does not fit"):
        crop_patch(np.zeros((5, 5)), (3, 0), (3, 3))
