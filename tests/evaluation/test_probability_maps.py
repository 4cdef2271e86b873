"""The probability-map format: names, round trips in NIfTI and .npz, the argmax rule and
the reader's checks."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from boundaryloss.data.io import write_nifti
from boundaryloss.evaluation.probability_maps import (
    labels_from_probabilities,
    probability_path,
    probability_suffix,
    read_probabilities,
    write_probabilities,
)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("out/case.nii.gz", "out/case.probabilities.nii.gz"),
        ("out/case.nii", "out/case.probabilities.nii"),
        ("out/01_test.png", "out/01_test.probabilities.npz"),
        ("out/im.v2.tif", "out/im.v2.probabilities.npz"),
    ],
)
def test_probability_path_and_suffix(label, expected):
    assert probability_path(Path(label)) == Path(expected)
    assert probability_suffix(expected) is not None
    assert probability_suffix(label) is None


def test_argmax_takes_the_first_class_on_ties():
    probabilities = np.array([[0.5, 0.4, 0.6], [0.5, 0.6, 0.4]], np.float32)
    np.testing.assert_array_equal(labels_from_probabilities(probabilities), [0, 1, 0])
    assert labels_from_probabilities(probabilities).dtype == np.uint8


def test_nifti_round_trip_keeps_the_affine_and_puts_classes_last(tmp_path):
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(3), size=(5, 6, 4)).transpose(3, 0, 1, 2)
    affine = np.array([[0.0, -0.8, 0, 12.5], [0.9, 0, 0, -3.0], [0, 0, 2.5, 40.0], [0, 0, 0, 1]])
    path = tmp_path / "c.probabilities.nii.gz"
    write_probabilities(path, probabilities, affine=affine)
    stored = nib.load(str(path))
    assert stored.shape == (5, 6, 4, 3) and stored.get_data_dtype() == np.float32
    read, grid = read_probabilities(path)
    np.testing.assert_array_equal(read, probabilities.astype(np.float32))
    assert grid is not None and grid.spacing == pytest.approx((0.9, 0.8, 2.5))
    # A 2D case stored as (X, Y, 1) keeps that shape before the class axis.
    write_probabilities(path, probabilities[:, :, :, 0], stored_shape=(5, 6, 1))
    assert nib.load(str(path)).shape == (5, 6, 1, 3)


def test_npz_round_trip(tmp_path):
    probabilities = np.random.default_rng(1).dirichlet(np.ones(2), size=(7, 8)).transpose(2, 0, 1)
    path = tmp_path / "c.probabilities.npz"
    write_probabilities(path, probabilities)
    read, grid = read_probabilities(path)
    assert grid is None and read.dtype == np.float32
    np.testing.assert_array_equal(read, probabilities.astype(np.float32))
    with np.load(path) as archive:  # nnU-Net's key, nothing else
        assert archive.files == ["probabilities"]


def test_reader_checks_name_the_file(tmp_path):
    path = tmp_path / "c.probabilities.nii.gz"
    write_nifti(path, np.zeros((4, 5, 3, 2), np.uint8))
    with pytest.raises(ValueError, match=f"^{path}: expected float probabilities"):
        read_probabilities(path)
    write_nifti(path, np.full((4, 5, 3, 1), 0.5, np.float32))
    with pytest.raises(ValueError, match=r"at least 2 classes on the last axis .* \(4, 5, 3, 1\)"):
        read_probabilities(path)
    nan = np.full((4, 5, 2), 0.5, np.float32)
    nan[0, 0, 0] = np.nan
    write_nifti(path, nan)
    with pytest.raises(ValueError, match=r"1 value\(s\) are not probabilities in \[0, 1\]"):
        read_probabilities(path)
    with pytest.raises(ValueError, match="probability map's name"):
        read_probabilities(tmp_path / "c.nii.gz")
    with pytest.raises(ValueError, match="probability map's name"):
        write_probabilities(tmp_path / "c.png", np.ones((2, 3, 3)) / 2)
    assert not (tmp_path / "c.png").exists()
