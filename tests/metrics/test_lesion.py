"""Lesion-wise metrics: hand-computed values, connectivity, empty masks, and the WMH 2017 /
ISLES 2022 definitions written out independently here (components by SimpleITK)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from boundaryloss.metrics import (
    LesionDetection,
    LesionOptions,
    absolute_volume_difference,
    lesion_count_difference,
    lesion_detection,
    lesion_f1,
    lesion_precision,
    lesion_recall,
)
from boundaryloss.metrics.lesion import absolute_volume_metric

sitk = pytest.importorskip("SimpleITK")


# --- the challenges' definitions, written from their published descriptions ----------------


def sitk_components(mask: np.ndarray, fully_connected: bool = True) -> np.ndarray:
    """Connected-component labels by SimpleITK (fully connected: 26 in 3D, 8 in 2D)."""
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    return sitk.GetArrayFromImage(sitk.ConnectedComponent(image, fully_connected))


def n_labels(labels: np.ndarray) -> int:
    return len(set(np.unique(labels).tolist()) - {0})


def wmh_lesion_detection(ref: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """WMH 2017 ``getLesionDetection``: (recall, precision, F1) with its empty-mask choices.

    Recall: reference components with a predicted voxel / reference components (1 without
    reference components). Precision: predicted components with a reference voxel /
    predicted components (1 without predicted components). F1: harmonic mean, 0 if both 0.
    """
    ref_cc, pred_cc = sitk_components(ref), sitk_components(pred)
    n_ref, n_pred = n_labels(ref_cc), n_labels(pred_cc)
    recall = 1.0 if n_ref == 0 else n_labels(ref_cc * pred) / n_ref
    precision = 1.0 if n_pred == 0 else n_labels(pred_cc * ref) / n_pred
    f1 = 0.0 if recall + precision == 0 else 2 * recall * precision / (recall + precision)
    return recall, precision, f1


def wmh_avd(ref: np.ndarray, pred: np.ndarray) -> float:
    """WMH 2017 ``getAVD``: |sum(ref) - sum(pred)| / sum(ref) * 100."""
    return abs(float(ref.sum()) - float(pred.sum())) / float(ref.sum()) * 100


def isles_lesion_f1(ref: np.ndarray, pred: np.ndarray, empty_value: float = 1.0) -> float:
    """ISLES 2022 ``compute_lesion_f1_score``: TP / (TP + (FP + FN) / 2), 26-connected.

    TP / FN: reference components that do / do not touch the overlap of both masks; FP:
    predicted components touching no reference voxel; no component at all -> empty_value.
    """
    overlap = ref & pred
    ref_cc, pred_cc = sitk_components(ref), sitk_components(pred)
    tp = fn = fp = 0
    for label in range(1, int(ref_cc.max()) + 1):
        if (overlap & (ref_cc == label)).any():
            tp += 1
        else:
            fn += 1
    for label in range(1, int(pred_cc.max()) + 1):
        if not (ref & (pred_cc == label)).any():
            fp += 1
    if tp + fp + fn == 0:
        return empty_value
    return tp / (tp + (fp + fn) / 2)


def isles_lesion_difference(ref: np.ndarray, pred: np.ndarray) -> int:
    """ISLES 2022 ``compute_absolute_lesion_difference``: |#components(ref) - #components(pred)|."""
    return abs(n_labels(sitk_components(ref)) - n_labels(sitk_components(pred)))


def isles_volume_difference(ref: np.ndarray, pred: np.ndarray, voxel_ml: float) -> float:
    """ISLES 2022 ``compute_absolute_volume_difference``: |sum(ref) v - sum(pred) v|, ml."""
    return abs(ref.sum() * voxel_ml - pred.sum() * voxel_ml)


# --- shared fixtures ---------------------------------------------------------------------


def speckle_pair(seed: int, shape=(9, 10, 11)) -> tuple[np.ndarray, np.ndarray]:
    """Two sparse random 3D masks: many small lesions touching by faces, edges and corners,
    with predicted lesions that merge or split reference ones."""
    rng = np.random.default_rng(seed)
    ref = rng.random(shape) < 0.08
    pred = ref & (rng.random(shape) < 0.6) | (rng.random(shape) < 0.05)
    return pred, ref


def lesion_pair() -> tuple[np.ndarray, np.ndarray]:
    """Hand-made 3D case (see test_hand_computed_3d for its counts)."""
    ref = np.zeros((6, 8, 8), dtype=bool)
    pred = np.zeros_like(ref)
    ref[1, 1:3, 1:3] = True  # A: 4 voxels, predicted exactly
    pred[1, 1:3, 1:3] = True
    ref[4, 5, 5] = True  # B: 1 voxel ...
    ref[4, 5, 7] = True  # C: 1 voxel, two voxels away from B
    pred[4, 5, 5:8] = True  # ... both covered by one predicted bar: a merge
    ref[1, 6, 6] = True  # D: missed
    pred[4, 0, 0] = True  # E: a false positive
    return pred, ref


def test_hand_computed_3d():
    pred, ref = lesion_pair()
    # Reference lesions A, B, C, D: 4; predicted lesions A, bar(B+C), E: 3.
    # Detected reference lesions: A, B, C -> 3; predicted lesions that hit: A, bar -> 2.
    assert lesion_detection(pred, ref) == {1: LesionDetection(3, 4, 3, 2)}
    assert lesion_recall(pred, ref) == {1: pytest.approx(3 / 4)}
    assert lesion_precision(pred, ref) == {1: pytest.approx(2 / 3)}
    p, r = 2 / 3, 3 / 4
    assert lesion_f1(pred, ref) == {1: pytest.approx(2 * p * r / (p + r))}
    # ISLES: TP = 3, FP = 1 (E), FN = 1 (D): 3 / (3 + 1) = 0.75
    assert lesion_f1(pred, ref, f1="isles") == {1: pytest.approx(0.75)}
    assert lesion_count_difference(pred, ref) == {1: 1.0}
    # 7 reference voxels, 8 predicted: 1 voxel of 2 x 1.5 x 3 mm = 9 mm^3 = 0.009 ml
    assert absolute_volume_difference(pred, ref, spacing=(2.0, 1.5, 3.0)) == {
        1: pytest.approx(0.009)
    }
    assert absolute_volume_difference(pred, ref, unit="percent") == {1: pytest.approx(100 / 7)}
    # In voxels: 8 - 7 = 1, whatever the spacing.
    assert absolute_volume_difference(pred, ref, spacing=(2.0, 1.5, 3.0), unit="voxels") == {1: 1.0}


def test_matches_wmh_and_isles_on_hand_made_case():
    pred, ref = lesion_pair()
    recall, precision, f1 = wmh_lesion_detection(ref, pred)
    assert lesion_recall(pred, ref)[1] == pytest.approx(recall)
    assert lesion_precision(pred, ref)[1] == pytest.approx(precision)
    assert lesion_f1(pred, ref)[1] == pytest.approx(f1)
    assert lesion_f1(pred, ref, f1="isles")[1] == pytest.approx(isles_lesion_f1(ref, pred))
    # The two F1 definitions really differ here (a merge): the test tells them apart.
    assert f1 != pytest.approx(isles_lesion_f1(ref, pred))


@pytest.mark.parametrize("seed", range(6))
def test_matches_wmh_and_isles_on_random_lesions(seed):
    pred, ref = speckle_pair(seed)
    spacing = (1.2, 0.8, 2.5)
    recall, precision, f1 = wmh_lesion_detection(ref, pred)
    assert lesion_recall(pred, ref)[1] == pytest.approx(recall)
    assert lesion_precision(pred, ref)[1] == pytest.approx(precision)
    assert lesion_f1(pred, ref)[1] == pytest.approx(f1)
    assert lesion_f1(pred, ref, f1="isles")[1] == pytest.approx(isles_lesion_f1(ref, pred))
    assert lesion_count_difference(pred, ref)[1] == isles_lesion_difference(ref, pred)
    voxel_ml = math.prod(spacing) / 1000
    assert absolute_volume_difference(pred, ref, spacing=spacing)[1] == pytest.approx(
        isles_volume_difference(ref, pred, voxel_ml)
    )
    assert absolute_volume_difference(pred, ref, unit="percent")[1] == pytest.approx(
        wmh_avd(ref, pred)
    )
    # In voxels: ISLES's difference with a voxel volume of 1, the spacing ignored.
    assert absolute_volume_difference(pred, ref, spacing=spacing, unit="voxels")[1] == (
        isles_volume_difference(ref, pred, 1.0)
    )


@pytest.mark.parametrize("seed", range(4))
def test_volume_difference_in_voxels_in_2d(seed):
    """A pixel count in 2D (where ml is refused), from the masks' sums."""
    rng = np.random.default_rng(seed)
    ref = rng.random((20, 23)) < 0.15
    pred = rng.random((20, 23)) < 0.1 + 0.05 * seed
    expected = abs(int(pred.sum()) - int(ref.sum()))
    assert absolute_volume_difference(pred, ref, unit="voxels") == {1: float(expected)}
    assert absolute_volume_difference(pred, ref, spacing=(0.5, 3.0), unit="voxels") == {
        1: float(expected)
    }


@pytest.mark.parametrize(
    ("ndim", "spacing_unit", "expected"),
    [(3, "mm", "avd_ml"), (2, "mm", None), (3, "px", "avd_voxels"), (2, "px", "avd_voxels")],
)
def test_absolute_volume_metric_follows_the_spacing_unit(ndim, spacing_unit, expected):
    assert absolute_volume_metric(ndim, spacing_unit) == expected


@pytest.mark.parametrize("spacing_unit", [True, False, "pixels", None])
def test_absolute_volume_metric_refuses_other_units(spacing_unit):
    with pytest.raises(ValueError, match=r"spacing_unit must be one of \('mm', 'px'\), got"):
        absolute_volume_metric(3, spacing_unit)


@pytest.mark.parametrize("seed", range(3))
def test_face_connectivity_matches_simpleitk(seed):
    pred, ref = speckle_pair(seed)
    counts = lesion_detection(pred, ref, connectivity=6)[1]
    assert counts.ref_lesions == n_labels(sitk_components(ref, fully_connected=False))
    assert counts.pred_lesions == n_labels(sitk_components(pred, fully_connected=False))
    assert counts.ref_lesions > lesion_detection(pred, ref)[1].ref_lesions


@pytest.mark.parametrize("seed", range(3))
def test_2d_matches_simpleitk(seed):
    rng = np.random.default_rng(seed)
    ref = rng.random((20, 23)) < 0.15
    pred = rng.random((20, 23)) < 0.15
    assert lesion_detection(pred, ref, connectivity=8)[1].ref_lesions == n_labels(
        sitk_components(ref)
    )
    assert lesion_detection(pred, ref, connectivity=4)[1].ref_lesions == n_labels(
        sitk_components(ref, fully_connected=False)
    )
    recall, precision, f1 = wmh_lesion_detection(ref, pred)
    assert lesion_recall(pred, ref)[1] == pytest.approx(recall)
    assert lesion_precision(pred, ref)[1] == pytest.approx(precision)
    assert lesion_f1(pred, ref)[1] == pytest.approx(f1)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        ((0, 0, 1), {6: 1, 18: 1, 26: 1}),  # face neighbours
        ((0, 1, 1), {6: 2, 18: 1, 26: 1}),  # edge neighbours
        ((1, 1, 1), {6: 2, 18: 2, 26: 1}),  # corner neighbours
        ((0, 0, 2), {6: 2, 18: 2, 26: 2}),  # one voxel apart
    ],
)
def test_3d_connectivities(offset, expected):
    ref = np.zeros((4, 4, 4), dtype=int)
    ref[1, 1, 1] = 1
    ref[1 + offset[0], 1 + offset[1], 1 + offset[2]] = 1
    for connectivity, count in expected.items():
        got = lesion_detection(ref, ref, connectivity=connectivity)[1]
        assert got == LesionDetection(count, count, count, count)
    assert lesion_detection(ref, ref)[1].ref_lesions == expected[26]


def test_2d_connectivities():
    ref = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert lesion_detection(ref, ref, connectivity=4)[1].ref_lesions == 2
    assert lesion_detection(ref, ref, connectivity=8)[1].ref_lesions == 1
    assert lesion_detection(ref, ref)[1].ref_lesions == 1


def test_match_fraction():
    ref = np.zeros((1, 10), dtype=int)
    ref[0, :4] = 1  # one 4-voxel lesion
    pred = np.zeros_like(ref)
    pred[0, 3:9] = 1  # covers 1/4 of it; 1/6 of the prediction is on the reference
    assert lesion_detection(pred, ref)[1] == LesionDetection(1, 1, 1, 1)
    assert lesion_detection(pred, ref, match=0.25)[1] == LesionDetection(1, 1, 1, 0)
    assert lesion_detection(pred, ref, match=0.5)[1] == LesionDetection(1, 1, 0, 0)
    assert lesion_recall(pred, ref, match=0.25) == {1: 1.0}
    assert lesion_precision(pred, ref, match=0.25) == {1: 0.0}
    assert lesion_f1(pred, ref, match=0.5) == {1: 0.0}


@pytest.mark.parametrize(("covered", "size"), [(14, 25), (7, 25), (1, 4)])
def test_match_fraction_exactly_at_the_threshold(covered, size):
    """A lesion covered at exactly ``match`` = covered/size matches (in floating point
    0.56 * 25 is 14.000000000000002, above 14), and one voxel less does not; the
    per-lesion table of the screening report agrees."""
    from boundaryloss.metrics.screening import case_lesions

    match = float(f"{covered / size:.12g}")  # as a user writes it: 0.56, 0.28, ...
    assert match == covered / size
    ref = np.zeros((1, size + 2), dtype=int)
    ref[0, :size] = 1
    for overlap, found in ((covered, 1), (covered - 1, 0)):
        pred = np.zeros_like(ref)
        pred[0, :overlap] = 1
        assert lesion_detection(pred, ref, match=match)[1].detected == found
        lesions = case_lesions(pred == 1, ref == 1, LesionOptions(match=match))
        assert list(lesions.ref_detected) == [bool(found)]


# --- empty masks -------------------------------------------------------------------------

ALL_SCORES = (lesion_recall, lesion_precision, lesion_f1)


@pytest.mark.parametrize("empty", ["perfect", "nan"])
def test_both_empty(empty):
    zero = np.zeros((3, 4, 5), dtype=int)
    expected = 1.0 if empty == "perfect" else math.nan
    for metric in ALL_SCORES:
        assert metric(zero, zero, empty=empty)[1] == pytest.approx(expected, nan_ok=True)
    difference = 0.0 if empty == "perfect" else math.nan
    for value in (
        lesion_count_difference(zero, zero, empty=empty)[1],
        absolute_volume_difference(zero, zero, empty=empty)[1],
        absolute_volume_difference(zero, zero, unit="percent", empty=empty)[1],
        absolute_volume_difference(zero, zero, unit="voxels", empty=empty)[1],
    ):
        assert value == pytest.approx(difference, nan_ok=True)
    assert lesion_detection(zero, zero)[1] == LesionDetection(0, 0, 0, 0)
    # Both challenges: F1 = 1 when both are empty.
    assert wmh_lesion_detection(zero > 0, zero > 0)[2] == 1.0
    assert isles_lesion_f1(zero > 0, zero > 0) == 1.0


def test_only_reference_empty():
    ref = np.zeros((3, 4, 5), dtype=int)
    pred = ref.copy()
    pred[0, 0, :2] = 1
    pred[2, 3, 4] = 1
    # As the WMH 2017 code: no reference lesion, none missed: recall 1; F1 0 (both codes).
    wmh_recall, wmh_precision, wmh_f1 = wmh_lesion_detection(ref > 0, pred > 0)
    assert (wmh_recall, wmh_precision, wmh_f1) == (1.0, 0.0, 0.0)
    for empty in ("perfect", "nan"):  # ``empty`` is for a class absent from both only
        assert lesion_recall(pred, ref, empty=empty) == {1: wmh_recall}
        assert lesion_precision(pred, ref, empty=empty) == {1: wmh_precision}
        assert lesion_f1(pred, ref, empty=empty) == {1: wmh_f1}
    assert lesion_f1(pred, ref, f1="isles") == {1: 0.0}
    assert isles_lesion_f1(ref > 0, pred > 0) == 0.0
    assert lesion_count_difference(pred, ref) == {1: 2.0}
    assert absolute_volume_difference(pred, ref, spacing=(1, 2, 5)) == {1: pytest.approx(0.03)}
    assert absolute_volume_difference(pred, ref, spacing=(1, 2, 5), unit="voxels") == {1: 3.0}
    assert absolute_volume_difference(pred, ref, unit="percent") == {1: math.inf}


def test_only_prediction_empty():
    ref = np.zeros((3, 4, 5), dtype=int)
    ref[1, 1, 1] = 1
    pred = np.zeros_like(ref)
    # As the WMH 2017 code: no predicted lesion, none false: precision 1; F1 0.
    wmh_recall, wmh_precision, wmh_f1 = wmh_lesion_detection(ref > 0, pred > 0)
    assert (wmh_recall, wmh_precision, wmh_f1) == (0.0, 1.0, 0.0)
    for empty in ("perfect", "nan"):
        assert lesion_recall(pred, ref, empty=empty) == {1: wmh_recall}
        assert lesion_precision(pred, ref, empty=empty) == {1: wmh_precision}
        assert lesion_f1(pred, ref, empty=empty) == {1: wmh_f1}
    assert lesion_f1(pred, ref, f1="isles") == {1: 0.0}
    assert isles_lesion_f1(ref > 0, pred > 0) == 0.0
    assert lesion_count_difference(pred, ref) == {1: 1.0}
    assert absolute_volume_difference(pred, ref, unit="percent") == {1: 100.0}
    assert absolute_volume_difference(pred, ref) == {1: pytest.approx(0.001)}
    assert absolute_volume_difference(pred, ref, unit="voxels") == {1: 1.0}


# --- layouts and errors --------------------------------------------------------------------


def test_multiclass_one_hot_and_torch():
    pred = np.zeros((4, 6, 6), dtype=np.int64)
    ref = np.zeros_like(pred)
    ref[0, 0, 0] = ref[0, 4, 4] = 1  # class 1: two lesions
    pred[0, 0, 0] = 1  # one found
    ref[3, 2:4, 2:4] = 2  # class 2: one lesion, predicted on a different voxel
    pred[3, 5, 5] = 2
    result = lesion_f1(pred, ref, num_classes=3)
    assert result == {1: pytest.approx(2 * 1 * 0.5 / 1.5), 2: 0.0}
    one_hot = lesion_f1(
        torch.nn.functional.one_hot(torch.from_numpy(pred), 3).movedim(-1, 0),
        torch.nn.functional.one_hot(torch.from_numpy(ref), 3).movedim(-1, 0),
        one_hot=True,
    )
    assert one_hot == result
    assert lesion_f1(torch.from_numpy(pred), torch.from_numpy(ref), num_classes=3) == result
    assert set(lesion_detection(pred, ref, num_classes=3, classes=[2])) == {2}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a: lesion_detection(a[0], a[0], connectivity=6), "connectivity must be one of"),
        (lambda a: lesion_detection(a[1], a[1], connectivity=8), "connectivity must be one of"),
        (lambda a: lesion_detection(a[1], a[1], connectivity=5), "connectivity must be one of"),
        (lambda a: lesion_detection(a[1], a[1], match=0.0), "match must be"),
        (lambda a: lesion_detection(a[1], a[1], match="half"), "match must be"),
        (lambda a: lesion_f1(a[1], a[1], f1="brats"), "f1 must be one of"),
        (lambda a: lesion_recall(a[1], a[1], empty="zero"), "empty must be one of"),
        (lambda a: absolute_volume_difference(a[0], a[0]), "needs 3 spatial axes.*'voxels'"),
        (lambda a: absolute_volume_difference(a[1], a[1], unit="l"), "unit must be one of"),
        (lambda a: lesion_f1(a[1], a[1][0]), "same shape"),
    ],
)
def test_errors(call, message):
    arrays = (np.zeros((4, 4), dtype=int), np.zeros((3, 4, 4), dtype=int))
    with pytest.raises(ValueError, match=message):
        call(arrays)


def test_options_validate():
    assert LesionOptions(connectivity=18).connectivity == 18
    assert LesionOptions(match=1).match == 1.0
    with pytest.raises(ValueError, match="connectivity"):
        LesionOptions(connectivity=True)
    with pytest.raises(ValueError, match="f1"):
        LesionOptions(f1="harmonic")
