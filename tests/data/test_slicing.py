"""3D cases to 2D slices and predictions back to volumes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from boundaryloss.data.slicing import (
    case_slices,
    most_foreground_slice,
    slice_case,
    stack_slices,
)

from .pipeline_cases import blob_case


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_slices_keep_case_id_index_and_in_plane_spacing(axis):
    case = blob_case(shape=(6, 7, 5), spacing=(1.0, 2.0, 3.0), fov=True)
    slices = case_slices(case, axis)
    assert len(slices) == case.spatial_shape[axis]
    expected_spacing = tuple(s for a, s in enumerate(case.spacing) if a != axis % 3)
    for i, piece in enumerate(slices):
        assert piece.case_id == case.case_id and piece.meta["slice_index"] == i
        assert piece.spacing == expected_spacing and piece.ndim == 2
        np.testing.assert_array_equal(piece.label, np.take(case.label, i, axis=axis))
        np.testing.assert_array_equal(piece.image, np.take(case.image, i, axis=axis % 3 + 1))
        assert piece.fov.shape == piece.label.shape


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_stack_slices_rebuilds_volumes_from_shuffled_batches(axis):
    cases = [blob_case(f"c{i}", shape=(6, 7, 5), seed=i) for i in range(2)]
    records = [
        (case.case_id, i, np.take(case.image, i, axis=axis + 1))  # (C, H, W) "predictions"
        for case in cases
        for i in range(case.spatial_shape[axis])
    ]
    order = np.random.default_rng(0).permutation(len(records))
    ids = [records[i][0] for i in order]
    indices = torch.tensor([records[i][1] for i in order])
    predictions = torch.from_numpy(np.stack([records[i][2] for i in order]))
    volumes = stack_slices(predictions, ids, indices, axis=axis)
    assert sorted(volumes) == ["c0", "c1"]
    for case in cases:
        np.testing.assert_array_equal(volumes[case.case_id], case.image)
    labels = stack_slices(
        [np.take(cases[0].label, i, axis=axis) for i in range(cases[0].spatial_shape[axis])],
        ["c0"] * cases[0].spatial_shape[axis],
        range(cases[0].spatial_shape[axis]),
        axis=axis,
        num_slices={"c0": cases[0].spatial_shape[axis]},
    )
    np.testing.assert_array_equal(labels["c0"], cases[0].label)


def test_stack_slices_rejects_missing_repeated_and_mismatched():
    piece = np.zeros((4, 4))
    with pytest.raises(ValueError, match="missing \\[1\\]"):
        stack_slices([piece, piece], ["a", "a"], [0, 2], axis=0)
    with pytest.raises(ValueError, match="twice"):
        stack_slices([piece, piece], ["a", "a"], [0, 0], axis=0)
    with pytest.raises(ValueError, match="missing \\[2\\]"):
        stack_slices([piece, piece], ["a", "a"], [0, 1], axis=0, num_slices={"a": 3})
    with pytest.raises(ValueError, match="same length"):
        stack_slices([piece], ["a", "a"], [0, 1], axis=0)
    with pytest.raises(ValueError, match="different shapes"):
        stack_slices([piece, np.zeros((4, 5))], ["a", "a"], [0, 1], axis=0)
    with pytest.raises(ValueError, match="axis"):
        stack_slices([piece], ["a"], [0], axis=3)


def test_bad_slicing_arguments():
    case = blob_case(shape=(6, 7, 5))
    with pytest.raises(ValueError, match="axis"):
        case_slices(case, 3)
    with pytest.raises(ValueError, match="axis"):
        slice_case(case, 1.5, 0)
    with pytest.raises(ValueError, match="index"):
        slice_case(case, 0, 6)
    with pytest.raises(ValueError, match="3D"):
        case_slices(blob_case(shape=(6, 7)), 0)


def test_most_foreground_slice_counts_foreground_voxels_along_the_axis():
    label = np.zeros((4, 5, 6), dtype=np.int64)
    label[2, :2, :2] = 1  # 4 voxels in slice 2 along axis 0
    label[1, 0, :] = 2  # 6 voxels in slice 1 along axis 0, spread over axis 2
    assert most_foreground_slice(label, 0) == 1
    assert most_foreground_slice(label, 1) == 0  # row 0 holds 2 + 6 voxels
    assert most_foreground_slice(label, -1) == 0  # ties go to the first slice
    assert most_foreground_slice(np.zeros((3, 3, 3)), 2) == 0
    with pytest.raises(ValueError, match="axis"):
        most_foreground_slice(label, 3)
