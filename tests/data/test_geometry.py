"""``VoxelGrid`` and ``check_same_grid``: NIfTI files written by nibabel with the headers
tools ship (sform only as nibabel writes, qform and sform as ITK writes), compared within
float noise and refused, naming both files and what differs, beyond it."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from boundaryloss.data.geometry import (
    AFFINE_ATOL_MM,
    VoxelGrid,
    check_same_grid,
    resample_into_grid,
)

from .layouts import affine

SHAPE = (6, 5, 4)


def _save(path, matrix, shape=SHAPE, qform=None, sform_code=1, qform_code=1):
    """A NIfTI file whose sform is ``matrix`` and qform ``qform`` (default ``matrix``)."""
    image = nib.Nifti1Image(np.zeros(shape, np.uint8), None)
    image.set_sform(matrix, code=sform_code)
    image.set_qform(matrix if qform is None else qform, code=qform_code)
    nib.save(image, str(path))
    return path


def _grid(path, ndim=3) -> VoxelGrid:
    return VoxelGrid.of(nib.load(str(path)), ndim)


def _check(tmp_path, pred_matrix, ref_matrix, **pred_forms):
    pred = _save(tmp_path / "pred.nii.gz", pred_matrix, **pred_forms)
    ref = _save(tmp_path / "ref.nii.gz", ref_matrix)
    check_same_grid(_grid(pred), _grid(ref), pred, ref)


def test_grid_of_a_rotated_file(tmp_path):
    matrix = affine(spacing=(0.7, 0.8, 2.5), origin=(10.0, -5.0, 3.0))
    matrix[:3, :3] = matrix[:3, :3] @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])
    grid = _grid(_save(tmp_path / "x.nii", matrix))
    assert grid.spacing == pytest.approx((0.8, 0.7, 2.5))  # column lengths of the rotated matrix
    np.testing.assert_allclose(grid.directions, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-7)
    np.testing.assert_allclose(grid.origin, (10.0, -5.0, 3.0))
    assert grid.axis_codes() == "ALS"  # axis 0 -> +y, axis 1 -> -x, axis 2 -> +z
    assert set(grid.forms) == {"qform", "sform"}
    as_nibabel_writes = nib.Nifti1Image(np.zeros(SHAPE, np.uint8), matrix)
    nib.save(as_nibabel_writes, str(tmp_path / "y.nii"))
    assert set(_grid(tmp_path / "y.nii").forms) == {"sform"}  # qform code 0: not set


def test_same_grid_within_float_noise_passes(tmp_path):
    matrix = affine()
    noisy = matrix.copy()
    noisy[:3, 3] += 0.4 * AFFINE_ATOL_MM
    noisy[0, 0] *= 1 + 1e-6
    _check(tmp_path, noisy, matrix)


def test_shifted_origin_is_refused_naming_both_files(tmp_path):
    shifted = affine(origin=(10.0, -3.0, 3.0))
    with pytest.raises(ValueError) as error:
        _check(tmp_path, shifted, affine())
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'pred.nii.gz'}: origin (10.0, -3.0, 3.0) mm differs")
    assert f"the reference {tmp_path / 'ref.nii.gz'} (10.0, -5.0, 3.0) mm" in message
    assert "by up to 2 mm" in message and len(message.splitlines()) == 1


def test_flipped_axis_is_refused_with_its_codes(tmp_path):
    flipped = affine()
    flipped[0, 0] = -flipped[0, 0]
    with pytest.raises(ValueError, match=r"point in other directions \(LAS\) than in the refer"):
        _check(tmp_path, flipped, affine())


def test_spacing_is_refused_before_the_origin(tmp_path):
    with pytest.raises(ValueError, match=r"spacing \(0.9, 0.8, 3.0\) differs from the reference"):
        _check(tmp_path, affine(spacing=(0.9, 0.8, 3.0), origin=(0, 0, 0)), affine())


def test_a_qform_both_files_set_must_agree(tmp_path):
    """nibabel reads the sform, which agrees; a reader of the qform would not."""
    moved = affine(origin=(12.0, -5.0, 3.0))
    with pytest.raises(
        ValueError, match=r"pred\.nii\.gz: qform differs from the reference .*by up"
    ):
        _check(tmp_path, affine(), affine(), qform=moved)
    _check(tmp_path, affine(), affine(), qform=moved, qform_code=0)  # not set: not read


def test_a_reference_whose_forms_disagree_is_named(tmp_path):
    """A prediction written from the reference's qform, which nibabel does not read: the
    message says the reference's own forms disagree."""
    qform = affine(origin=(10.0, -5.0, 6.0))
    pred = _save(tmp_path / "pred.nii.gz", qform)
    ref = _save(tmp_path / "ref.nii.gz", affine(), qform=qform)
    assert _grid(ref).forms_disagree() and not _grid(pred).forms_disagree()
    with pytest.raises(ValueError) as error:
        check_same_grid(_grid(pred), _grid(ref), pred, ref)
    assert str(error.value).startswith(f"{pred}: origin (10.0, -5.0, 6.0) mm differs")
    assert str(error.value).endswith(
        f"(the qform and sform of {ref} disagree; readers differ in which they use)"
    )


def test_2d_nifti_grids(tmp_path):
    pred = _save(tmp_path / "pred.nii.gz", affine(origin=(0, 0, 1.0)), shape=(6, 5))
    ref = _save(tmp_path / "ref.nii.gz", affine(origin=(0, 0, 0)), shape=(6, 5))
    assert _grid(ref, 2).directions.shape == (3, 2)
    check_same_grid(_grid(ref, 2), _grid(ref, 2), ref, ref)
    with pytest.raises(ValueError, match=r"origin \(0.0, 0.0, 1.0\) mm differs"):
        check_same_grid(_grid(pred, 2), _grid(ref, 2), pred, ref)


# --- resample_into_grid ---------------------------------------------------------------------


def test_resampling_along_one_axis_by_hand():
    # Source voxel i holds 10 + i, at world x = i (extent -0.5 .. 3.5); the target samples
    # x = -1.0, -0.5, ..., 4.5.
    data = np.broadcast_to(10.0 + np.arange(4.0)[:, None, None], (4, 2, 2))
    target = np.diag([0.5, 1.0, 1.0, 1.0])
    target[0, 3] = -1.0
    values, covered = resample_into_grid(data, np.eye(4), (12, 2, 2), target)
    expected = [0, 10, 10, 10.5, 11, 11.5, 12, 12.5, 13, 13, 0, 0]
    np.testing.assert_allclose(values[:, 1, 0], expected)
    assert covered[:, 1, 0].tolist() == [False] + [True] * 9 + [False, False]
    assert np.array_equal(values[:, 0, 1], values[:, 1, 0])


def test_resampling_onto_the_same_grid_is_the_identity():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(5, 4, 3)).astype(np.float32)
    affine = np.array([[0.0, 0.0, 2.0, 5.0], [0.0, -1.5, 0.0, 1.0], [0.7, 0.0, 0.0, -3.0]])
    affine = np.vstack([affine, [0, 0, 0, 1]])
    values, covered = resample_into_grid(data, affine, data.shape, affine)
    np.testing.assert_allclose(values, data, rtol=1e-12)
    assert covered.all() and values.dtype == np.float64


def test_resampling_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match=r"expected a 3D volume to resample, got shape \(4, 4\)"):
        resample_into_grid(np.zeros((4, 4)), np.eye(4), (2, 2, 2), np.eye(4))
    with pytest.raises(ValueError, match=r"source affine is singular"):
        resample_into_grid(np.zeros((2, 2, 2)), np.diag([1.0, 0.0, 1.0, 1.0]), (2, 2, 2), np.eye(4))
    with pytest.raises(ValueError, match=r"expected 4x4 affines, got \(3, 3\)"):
        resample_into_grid(np.zeros((2, 2, 2)), np.eye(3), (2, 2, 2), np.eye(4))
