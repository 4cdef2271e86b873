"""RRW and active-contour maps against hand-computed arrays and a scipy reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.maps import ac_map, rrw_map

from .reference import per_class, rrw
from .test_signed import random_labels


def test_rrw_hand_computed():
    label = np.zeros((5, 5), dtype=np.int64)
    label[1:4, 1:4] = 1
    expected_fg = np.ones((5, 5))
    expected_fg[1:4, 1:4] = -0.5
    expected_fg[2, 2] = -1.0
    maps = rrw_map(label, 2)
    np.testing.assert_allclose(maps[1], expected_fg)
    # Background: depth 1 on the ring next to the square, sqrt(2) at the corners.
    assert maps[0][0, 0] == -1.0
    np.testing.assert_allclose(maps[0][0, 2], -1 / np.sqrt(2), rtol=1e-6)
    assert np.all(maps[0][1:4, 1:4] == 1)


def test_rrw_absent_full_and_range():
    label = np.full((6, 7), 2)
    maps = rrw_map(label, 3)
    assert np.all(maps[0] == 1) and np.all(maps[1] == 1)
    assert np.all(maps[2] == -1)
    rng = np.random.default_rng(1)
    label = random_labels(rng, (20, 21), 4)
    maps = rrw_map(label, 4)
    for k in range(4):
        inside = maps[k][label == k]
        assert inside.min() == -1.0 and inside.max() < 0
        assert np.all(maps[k][label != k] == 1)


@pytest.mark.parametrize("shape", [(18, 25), (9, 12, 10)])
@pytest.mark.parametrize("spacing", [None, (0.5, 2.0, 1.2)])
def test_rrw_matches_reference(shape, spacing):
    rng = np.random.default_rng(2)
    label = random_labels(rng, shape, 3)
    spacing = None if spacing is None else spacing[: len(shape)]
    np.testing.assert_allclose(
        rrw_map(label, 3, spacing), per_class(rrw, label, 3, spacing), rtol=1e-5, atol=1e-6
    )
    one_hot = np.stack([label == k for k in range(3)])
    np.testing.assert_allclose(
        rrw_map(one_hot, None, spacing, one_hot=True), rrw_map(label, 3, spacing), rtol=1e-6
    )


def test_rrw_one_hot_full_class():
    masks = np.stack([np.ones((4, 4), bool), np.zeros((4, 4), bool)])
    maps = rrw_map(masks, 2, one_hot=True)
    assert np.all(maps[0] == -1) and np.all(maps[1] == 1)


def test_ac_map_is_one_minus_one_hot():
    label = torch.tensor([[0, 1], [2, 1]])
    maps = ac_map(label, 3)
    expected = 1 - torch.nn.functional.one_hot(label, 3).permute(2, 0, 1).float()
    assert torch.equal(maps, expected)
    batched = ac_map(label[None].repeat(2, 1, 1), 3, batch=True)
    assert batched.shape == (2, 3, 2, 2)
    one_hot = expected.numpy() == 0
    np.testing.assert_array_equal(ac_map(one_hot, 3, one_hot=True), expected.numpy())
