"""The label helpers the map kernels share: class counts, interfaces, boxes."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.maps import _geometry
from boundaryloss.maps._geometry import bounding_box, class_counts, grow_box, interface_mask


@pytest.mark.parametrize("num_classes", [1, 2, 3, 8, 9, 30])
def test_class_counts_equal_a_count_per_class(num_classes):
    rng = np.random.default_rng(num_classes)
    labels = rng.integers(0, num_classes, size=(13, 7, 5))[::-1]  # a flipped view too
    expected = [int((labels == k).sum()) for k in range(num_classes)]
    assert class_counts(labels, num_classes) == expected
    assert class_counts(np.zeros((4, 4), dtype=np.int64), num_classes)[0] == 16


def test_both_ways_of_counting_agree(monkeypatch):
    labels = np.random.default_rng(0).integers(0, 5, size=(40, 30))
    by_comparison = class_counts(labels, 5)
    monkeypatch.setattr(_geometry, "FEW_CLASSES", 0)
    assert class_counts(labels, 5) == by_comparison == np.bincount(labels.ravel()).tolist()


@pytest.mark.parametrize("shape", [(12, 15), (7, 9, 6)])
def test_interface_mask_of_a_box_equals_the_box_of_the_interface_mask(shape):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, size=shape)
    whole = interface_mask(labels)
    for _ in range(30):
        starts = [int(rng.integers(0, n)) for n in shape]
        stops = [int(rng.integers(a + 1, n + 1)) for a, n in zip(starts, shape, strict=True)]
        box = tuple(map(slice, starts, stops))
        np.testing.assert_array_equal(interface_mask(labels, box), whole[box])


def test_grow_box_clips_to_the_image():
    assert grow_box((slice(0, 3), slice(5, 9)), 2, (10, 10)) == (slice(0, 5), slice(3, 10))
    mask = np.zeros((6, 8), dtype=bool)
    mask[2, 3:5] = True
    assert bounding_box(mask, margin=1) == (slice(1, 4), slice(2, 6))
    assert bounding_box(np.zeros((3, 3), dtype=bool)) is None
