"""``restrict_to_fov``: background outside the field of view, checked shapes."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.fov import restrict_to_fov


def test_outside_becomes_background_inside_is_kept():
    labels = np.arange(12, dtype=np.int64).reshape(3, 4) % 3
    fov = np.zeros((3, 4), bool)
    fov[1:, 1:3] = True
    restricted = restrict_to_fov(labels, fov)
    np.testing.assert_array_equal(restricted[fov], labels[fov])
    assert not restricted[~fov].any()
    assert restricted.dtype == labels.dtype and labels[0, 1] == 1  # input untouched


def test_no_fov_returns_the_labels():
    labels = np.ones((2, 2, 2), np.uint8)
    assert restrict_to_fov(labels, None) is labels


def test_errors_name_what():
    with pytest.raises(ValueError, match=r"mask shape \(2, 2\) does not match reference shape"):
        restrict_to_fov(np.zeros((2, 3), int), np.ones((2, 2), bool), "reference")
    with pytest.raises(ValueError, match=r"field-of-view mask of the labels is empty"):
        restrict_to_fov(np.zeros((2, 3), int), np.zeros((2, 3), bool))
