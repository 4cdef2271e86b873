"""Pooled lesion detection: hand-counted lesions, lesion-free cases, recall by size."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boundaryloss.metrics.lesion import LesionOptions
from boundaryloss.metrics.screening import (
    LesionTally,
    case_lesions,
    recall_by_size,
    size_tertiles,
)


def _mask(shape, *boxes):
    mask = np.zeros(shape, bool)
    for r0, r1, c0, c1 in boxes:
        mask[r0:r1, c0:c1] = True
    return mask


def test_pooled_counts_over_cases_by_hand():
    tally = LesionTally()
    # Case 1: reference lesions of 4, 1 and 9 pixels; the prediction hits the first two
    # and adds one false lesion.
    ref1 = _mask((12, 12), (0, 2, 0, 2), (5, 6, 5, 6), (9, 12, 9, 12))
    pred1 = _mask((12, 12), (1, 3, 1, 3), (5, 6, 5, 6), (0, 1, 8, 10))
    tally.update(pred1, ref1)
    # Case 2: one 2-pixel reference lesion, missed; nothing predicted.
    tally.update(np.zeros((4, 4), bool), _mask((4, 4), (0, 1, 0, 2)))
    # Cases 3, 4: lesion-free; 3 and 0 false lesions (diagonal pixels join: 8-connected).
    tally.update(
        _mask((6, 6), (0, 1, 0, 1), (1, 2, 1, 2), (4, 5, 0, 1), (0, 1, 5, 6)),
        np.zeros((6, 6), bool),
    )
    tally.update(np.zeros((6, 6), bool), np.zeros((6, 6), bool))
    assert tally.ref_lesions == 4 and tally.detected == 2
    assert tally.pred_lesions == 3 + 3 and tally.true_pred == 2
    assert tally.recall() == 2 / 4
    assert tally.precision() == 2 / 6
    p, r = 2 / 6, 2 / 4
    assert tally.f1() == pytest.approx(2 * p * r / (p + r))
    assert tally.free_cases == 2 and tally.false_lesions_per_free_case() == 3 / 2
    assert sorted(tally.ref_sizes) == [1, 2, 4, 9]
    assert tally.as_dict()["lesion_free_cases"] == 2


def test_four_connectivity_splits_diagonal_pixels():
    pred = _mask((6, 6), (0, 1, 0, 1), (1, 2, 1, 2))
    tally = LesionTally(LesionOptions(connectivity=4))
    tally.update(pred, np.zeros((6, 6), bool))
    assert tally.pred_lesions == 2


def test_fractional_match_rejects_a_blob_covering_everything():
    ref = _mask((10, 10), (0, 1, 0, 1), (8, 9, 8, 9))
    everything = np.ones((10, 10), bool)
    loose, strict = LesionTally(), LesionTally(LesionOptions(match=0.5))
    loose.update(everything, ref)
    strict.update(everything, ref)
    assert loose.f1() == 1.0  # any overlap: the challenges' rule
    assert strict.precision() == 0.0 and strict.f1() == 0.0


def test_empty_sets():
    tally = LesionTally()
    assert math.isnan(tally.recall()) and math.isnan(tally.precision())
    assert math.isnan(tally.f1()) and math.isnan(tally.false_lesions_per_free_case())
    tally.update(np.zeros((3, 3), bool), _mask((3, 3), (0, 1, 0, 1)))
    assert tally.recall() == 0.0 and tally.precision() == 0.0 and tally.f1() == 0.0


def test_voxel_volume_scales_sizes_3d():
    ref = np.zeros((4, 4, 4), bool)
    ref[0, 0, 0:2] = True
    tally = LesionTally()
    tally.update(ref, ref, voxel_volume=0.5)
    assert tally.ref_sizes == [1.0] and tally.recall() == 1.0


def test_recall_by_size_bins():
    sizes = [1, 2, 3, 4, 5, 6]
    detected = [False, True, False, True, True, True]
    edges = size_tertiles(sizes)
    assert edges == pytest.approx([1, 1 + 5 / 3, 1 + 10 / 3, 6])
    # Bins (1, 2.67] with 1 closed: sizes 1, 2; (2.67, 4.33]: 3, 4; (4.33, 6]: 5, 6.
    assert recall_by_size(sizes, detected, edges) == [(0.5, 2), (0.5, 2), (1.0, 2)]
    assert recall_by_size([], [], [0, 1])[0][1] == 0


def test_recall_by_size_errors():
    with pytest.raises(ValueError, match="sizes but"):
        recall_by_size([1, 2], [True], [0, 3])
    with pytest.raises(ValueError, match="increasing"):
        recall_by_size([1], [True], [3, 0])
    with pytest.raises(ValueError, match="no lesion"):
        size_tertiles([])


def test_shape_mismatch():
    with pytest.raises(ValueError, match="differs"):
        LesionTally().update(np.zeros((2, 2), bool), np.zeros((3, 3), bool))


def test_case_lesions_lists_each_lesion_by_hand():
    # Reference: a 2x2 block (4 px) and a single pixel; prediction: one 2x2 block
    # overlapping the first by one pixel, one far away.
    ref = _mask((8, 8), (0, 2, 0, 2), (6, 7, 6, 7))
    pred = _mask((8, 8), (1, 3, 1, 3), (0, 1, 6, 8))
    found = case_lesions(pred, ref)
    assert found.ref_sizes.tolist() == [4.0, 1.0]
    assert found.ref_detected.tolist() == [True, False]
    assert found.pred_sizes.tolist() == [2.0, 4.0]  # labels numbered in raster order
    assert found.pred_true.tolist() == [False, True]


def test_adding_listed_lesions_is_updating_with_the_masks():
    """A tally of lists read back (sizes in another unit) equals one of the masks."""
    cases = [
        (_mask((8, 8), (1, 3, 1, 3), (0, 1, 6, 8)), _mask((8, 8), (0, 2, 0, 2), (6, 7, 6, 7))),
        (_mask((8, 8), (4, 5, 4, 5)), np.zeros((8, 8), bool)),  # lesion-free, 1 false
    ]
    from_masks, from_lists = LesionTally(), LesionTally()
    for pred, ref in cases:
        from_masks.update(pred, ref, voxel_volume=0.25)
        from_lists.add(case_lesions(pred, ref), voxel_volume=0.25)
    assert from_lists == from_masks
    assert from_lists.ref_sizes == [1.0, 0.25] and from_lists.free_cases == 1
    assert from_lists.false_lesions_per_free_case() == 1.0
    assert from_lists.precision() == 1 / 3 and from_lists.recall() == 1 / 2
