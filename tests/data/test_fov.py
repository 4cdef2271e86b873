"""``restrict_to_fov`` and ``restrict_case_to_fov``: background outside the field of
view, checked shapes; ``solid_fov`` edge cases (its STARE use: tests/data/test_folders)."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.fov import restrict_case_to_fov, restrict_to_fov, solid_fov


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


def test_a_case_is_restricted_on_both_sides_and_named_in_errors():
    pred = np.array([[1, 1, 0], [0, 1, 1]])
    ref = np.array([[0, 1, 1], [1, 1, 0]])
    fov = np.array([[False, True, True], [False, True, False]])
    restricted_pred, restricted_ref = restrict_case_to_fov(pred, ref, fov, "im0001")
    np.testing.assert_array_equal(restricted_pred, [[0, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(restricted_ref, [[0, 1, 1], [0, 1, 0]])
    unchanged = restrict_case_to_fov(pred, ref, None, "im0001")
    assert unchanged[0] is pred and unchanged[1] is ref
    with pytest.raises(ValueError, match=r"field-of-view mask of the prediction of im0001 is"):
        restrict_case_to_fov(pred, ref, np.zeros_like(fov), "im0001")
    with pytest.raises(ValueError, match=r"mask shape \(2, 3\) does not match ref\.png shape"):
        restrict_case_to_fov(pred, ref[:, :2], fov, "im0001", names=("pred.png", "ref.png"))


def test_solid_fov_of_nothing_and_without_erosion():
    assert not solid_fov(np.zeros((4, 5), bool), erosion=2).any()
    ring = np.zeros((7, 7), bool)
    ring[1:6, 1:6] = True
    ring[3, 3] = False  # a hole
    ring[0, 6] = True  # a second, smaller region (diagonal: not 4-connected)
    expected = np.zeros((7, 7), bool)
    expected[1:6, 1:6] = True
    np.testing.assert_array_equal(solid_fov(ring), expected)
    with pytest.raises(ValueError, match=r"erosion must be >= 0 pixels, got -1"):
        solid_fov(ring, erosion=-1)
