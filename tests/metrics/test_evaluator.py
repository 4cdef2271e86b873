"""SegmentationEvaluator: rows, CSV table, summary counts, agreement with the functions."""

from __future__ import annotations

import csv
import math
import os
import stat

import numpy as np
import pytest
from scipy import stats as scipy_stats

from boundaryloss.metrics import (
    LesionOptions,
    SegmentationEvaluator,
    absolute_volume_difference,
    average_surface_distance,
    dice,
    hausdorff_distance,
    lesion_count_difference,
    lesion_detection,
    lesion_f1,
    lesion_precision,
    lesion_recall,
    normalized_surface_dice,
)
from boundaryloss.metrics.evaluator import DEFAULT_LESION_METRICS

from .reference import ball

SHAPE = (20, 22, 18)
SPACING = (1.0, 0.8, 2.0)


def _cases():
    ref = np.zeros(SHAPE, dtype=np.int64)
    ref[ball(SHAPE, (10, 11, 9), 6)] = 1
    ref[ball(SHAPE, (4, 4, 4), 2)] = 2
    good = ref.copy()
    good[ball(SHAPE, (11, 11, 9), 6)] = 1
    missed = ref.copy()
    missed[missed == 2] = 0  # class 2 missed
    background = np.zeros(SHAPE, dtype=np.int64)  # both empty for class 1 and 2 vs itself
    return {"good": (good, ref), "missed": (missed, ref), "empty": (background, background)}


@pytest.fixture
def evaluator():
    ev = SegmentationEvaluator(
        metrics=("dice", "hd", "hd95", "assd", "nsd"),
        num_classes=3,
        spacing=SPACING,
        nsd_tolerance=1.0,
    )
    for case_id, (pred, ref) in _cases().items():
        ev.update(case_id, pred, ref)
    return ev


def test_rows_match_the_functions(evaluator):
    rows = evaluator.rows()
    assert len(rows) == 6 and len(evaluator) == 3
    assert [(r["case"], r["class"]) for r in rows][:2] == [("good", 1), ("good", 2)]
    pred, ref = _cases()["good"]
    row = rows[0]
    assert row["status"] == "ok"
    assert row["dice"] == dice(pred, ref, num_classes=3)[1]
    assert row["hd"] == hausdorff_distance(pred, ref, SPACING, num_classes=3)[1]
    assert row["hd95"] == hausdorff_distance(pred, ref, SPACING, 95, num_classes=3)[1]
    assert row["assd"] == average_surface_distance(pred, ref, SPACING, num_classes=3)[1]
    assert row["nsd"] == normalized_surface_dice(pred, ref, 1.0, SPACING, num_classes=3)[1]
    missed = rows[3]
    assert (missed["case"], missed["class"], missed["status"]) == ("missed", 2, "missed")
    assert missed["dice"] == 0.0 and missed["hd95"] == math.inf and missed["nsd"] == 0.0
    assert missed["pred_voxels"] == 0 and missed["ref_voxels"] > 0
    empty = rows[4]
    assert empty["status"] == "both_empty" and empty["dice"] == 1.0 and empty["hd95"] == 0.0


def test_summary_counts_and_statistics(evaluator):
    summary = evaluator.summary()
    dice_2 = summary["dice"][2]
    assert dice_2["n"] == 3
    assert dice_2["n_missed"] == 1 and dice_2["n_both_empty"] == 1 and dice_2["n_spurious"] == 0
    assert dice_2["n_averaged"] == 3
    values = evaluator.values("dice", 2)
    assert dice_2["mean"] == pytest.approx(values.mean())
    assert dice_2["median"] == pytest.approx(np.median(values))
    assert dice_2["std"] == pytest.approx(values.std())
    assert summary["hd95"][2]["mean"] == math.inf  # the miss is not dropped
    assert summary["hd95"][1]["n_missed"] == 0


def test_missing_nan_is_excluded_visibly():
    ev = SegmentationEvaluator(metrics=("dice", "hd95"), num_classes=3, missing="nan")
    for case_id, (pred, ref) in _cases().items():
        ev.update(case_id, pred, ref)
    stats = ev.summary()["hd95"][2]
    assert stats["n"] == 3 and stats["n_averaged"] == 2 and stats["n_missed"] == 1
    assert math.isfinite(stats["mean"])
    assert ev.summary()["dice"][2]["n_averaged"] == 3  # scores of a miss are 0, never NaN


def test_spurious_and_diagonal():
    ev = SegmentationEvaluator(metrics=("recall", "hd"), missing="diagonal", spacing=(2.0, 1.0))
    pred = np.zeros((3, 4), dtype=int)
    pred[1, 1] = 1
    row = ev.update("fp", pred, np.zeros_like(pred))[1]
    assert row["recall"] == 0.0 and row["hd"] == pytest.approx(math.hypot(6.0, 4.0))
    assert ev.summary()["hd"][1]["n_spurious"] == 1


def test_csv_is_written_atomically(evaluator, tmp_path):
    path = evaluator.to_csv(tmp_path / "out" / "metrics.csv")
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["metrics.csv"]  # no temp file left
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(evaluator.columns)
    assert len(rows) == 6
    assert float(rows[3]["hd95"]) == math.inf
    assert float(rows[0]["dice"]) == evaluator.rows()[0]["dice"]


def test_reset_and_errors(evaluator):
    with pytest.raises(ValueError, match="case_id"):
        evaluator.update("good", *_cases()["good"])
    evaluator.reset()
    assert len(evaluator) == 0 and evaluator.rows() == []
    with pytest.raises(ValueError, match="nsd_tolerance"):
        SegmentationEvaluator(metrics=("nsd",))
    with pytest.raises(ValueError, match="metrics"):
        SegmentationEvaluator(metrics=("dice", "hd99"))
    with pytest.raises(ValueError, match="hd_mode"):
        SegmentationEvaluator(hd_mode="mean")
    with pytest.raises(ValueError, match="missing"):
        SegmentationEvaluator(missing="zero")
    with pytest.raises(ValueError, match="metric"):
        evaluator.values("jaccard", 1)


def test_lesion_metrics_match_the_functions_for_every_status():
    options = LesionOptions(connectivity=6, f1="isles")
    ev = SegmentationEvaluator(
        metrics=("dice", "avd_ml"), num_classes=3, spacing=SPACING, lesion=options
    )
    assert ev.metrics == ("dice", "avd_ml", *DEFAULT_LESION_METRICS)
    for case_id, (pred, ref) in _cases().items():
        ev.update(case_id, pred, ref)
        rows = {row["class"]: row for row in ev.rows() if row["case"] == case_id}
        kwargs = {"num_classes": 3, "connectivity": 6}
        detection = lesion_detection(pred, ref, **kwargs)
        expected = {
            "lesion_recall": lesion_recall(pred, ref, **kwargs),
            "lesion_precision": lesion_precision(pred, ref, **kwargs),
            "lesion_f1": lesion_f1(pred, ref, f1="isles", **kwargs),
            "lesion_count_difference": lesion_count_difference(pred, ref, **kwargs),
            "avd_percent": absolute_volume_difference(pred, ref, num_classes=3, unit="percent"),
            "avd_ml": absolute_volume_difference(pred, ref, num_classes=3, spacing=SPACING),
        }
        for cls, row in rows.items():
            assert row["lesions_pred"] == detection[cls].pred_lesions
            assert row["lesions_ref"] == detection[cls].ref_lesions
            for name, per_class in expected.items():
                assert row[name] == pytest.approx(per_class[cls]), (case_id, cls, name)
    summary = ev.summary()
    assert summary["lesion_f1"][2]["n_missed"] == 1
    assert summary["avd_percent"][2]["mean"] == pytest.approx((0 + 100 + 0) / 3)


def test_lesion_true_uses_default_options_and_avd_ml_needs_3d():
    ev = SegmentationEvaluator(metrics=("dice",), lesion=True)
    pred = np.array([[1, 1, 1, 0, 0, 1]])
    ref = np.array([[1, 0, 1, 0, 0, 0]])
    ev.update("a", pred, ref)
    assert ev.rows()[0]["lesion_f1"] == pytest.approx(lesion_f1(pred, ref)[1])
    ev2d = SegmentationEvaluator(metrics=("avd_ml",))
    with pytest.raises(ValueError, match="3 spatial axes"):
        ev2d.update("a", pred, ref)
    with pytest.raises(ValueError, match="lesion must be"):
        SegmentationEvaluator(lesion="yes")


def test_volume_differences_are_added_by_name_only():
    """``lesion=True`` adds no absolute volume difference: its unit (ml or voxels)
    depends on the spacing's, which the caller knows; named, each is the function's."""
    assert not {"avd_ml", "avd_voxels"} & set(DEFAULT_LESION_METRICS)
    assert "avd_percent" in DEFAULT_LESION_METRICS
    ev = SegmentationEvaluator(
        metrics=("avd_voxels", "avd_ml"), num_classes=3, spacing=SPACING, lesion=True
    )
    for case_id, (pred, ref) in _cases().items():
        ev.update(case_id, pred, ref)
        rows = {row["class"]: row for row in ev.rows() if row["case"] == case_id}
        for cls, row in rows.items():
            count = abs(int(np.count_nonzero(pred == cls)) - int(np.count_nonzero(ref == cls)))
            assert row["avd_voxels"] == count
            assert row["avd_ml"] == pytest.approx(count * math.prod(SPACING) / 1000)
    ev2d = SegmentationEvaluator(metrics=("avd_voxels",), spacing=(0.5, 0.5))
    ev2d.update("a", np.array([[1, 1, 1, 0, 0, 1]]), np.array([[1, 0, 1, 0, 0, 0]]))
    assert ev2d.rows()[0]["avd_voxels"] == 2.0  # pixels in 2D, the spacing unused


def test_csv_permissions_follow_umask(tmp_path):
    ev = SegmentationEvaluator(metrics=("dice",))
    ev.update("a", np.ones((3, 3), int), np.ones((3, 3), int))
    old = os.umask(0o027)
    try:
        path = ev.to_csv(tmp_path / "cases.csv")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["cases.csv"]


def test_summary_bootstrap_ci_matches_scipy():
    ev = SegmentationEvaluator(metrics=("dice", "hd95"))
    rng = np.random.default_rng(0)
    ref = np.zeros((12, 12), int)
    ref[3:9, 3:9] = 1
    for i in range(6):
        pred = ref.copy()
        pred[rng.random(ref.shape) < 0.1] = 1
        ev.update(i, pred, ref)
    ev.update("missed", np.zeros_like(ref), ref)
    summary = ev.summary(confidence=0.9)
    values = ev.values("dice", 1)
    reference = scipy_stats.bootstrap(
        (values,), np.mean, confidence_level=0.9, n_resamples=10000, method="percentile", rng=0
    ).confidence_interval
    assert summary["dice"][1]["ci_low"] == pytest.approx(reference.low, rel=1e-12)
    assert summary["dice"][1]["ci_high"] == pytest.approx(reference.high, rel=1e-12)
    # A miss makes HD95 inf: its mean is inf and no interval is claimed.
    assert summary["hd95"][1]["mean"] == math.inf
    assert math.isnan(summary["hd95"][1]["ci_low"])
    assert "ci_low" not in ev.summary()["dice"][1]
