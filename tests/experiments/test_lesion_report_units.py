"""The lesion screening section's arithmetic on hand-written evaluations (no training):
pooled lesion scores, lesion-free images, per-image Dice over the images with a lesion,
empty predictions, size tertiles, and the seed-paired comparison's p-value floor."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from boundaryloss.evaluation.lesion_file import COLUMNS, read_lesion_file
from boundaryloss.experiments import lesion_report
from boundaryloss.experiments.report import Report
from boundaryloss.experiments.results import Evaluation, RunResult
from boundaryloss.stats import paired_permutation_test

HEADER = ",".join(COLUMNS)


def _row(case: str, pred: int, ref: int, dice: float) -> dict:
    return {"case": case, "class": 1, "pred_voxels": pred, "ref_voxels": ref, "dice": dice}


def _evaluation(tmp_path, name: str, rows: list[dict], lesions: str, aupr: float, dice: float):
    path = tmp_path / f"{name}.csv"
    path.write_text(HEADER + "\n" + lesions)
    pixel_level = {1: {"aupr": aupr, "dice": dice}}
    return Evaluation(rows, pixel_level, read_lesion_file(path))


def _result(loss: str, seed: int, evaluation: Evaluation) -> RunResult:
    spec = SimpleNamespace(loss=loss, seed=seed)
    return RunResult(spec, evaluation.rows, [], {}, (), evaluations={"best": evaluation})


@pytest.fixture
def results(tmp_path):
    """Three images: a has two reference lesions (4 and 1 px), b one (9 px), c none.

    ``seg`` seed 0 finds a's 4-px lesion and b's lesion, adds one false lesion in a and
    two in c; seed 1 finds only the 1-px lesion and predicts nothing else. ``empty``
    predicts nothing anywhere (a collapsed run).
    """
    reference = (
        "a,1,reference,1,4,4.0,pixels,{a1}\n"
        "a,1,reference,2,1,1.0,pixels,{a2}\n"
        "b,1,reference,1,9,9.0,pixels,{b1}\n"
    )
    seg0 = _evaluation(
        tmp_path,
        "seg0",
        [_row("a", 6, 5, 0.6), _row("b", 9, 9, 0.9), _row("c", 2, 0, 0.0)],
        reference.format(a1=1, a2=0, b1=1)
        + "a,1,prediction,1,5,5.0,pixels,1\n"
        + "a,1,prediction,2,1,1.0,pixels,0\n"
        + "b,1,prediction,1,9,9.0,pixels,1\n"
        + "c,1,prediction,1,1,1.0,pixels,0\n"
        + "c,1,prediction,2,1,1.0,pixels,0\n",
        aupr=0.7,
        dice=0.8,
    )
    seg1 = _evaluation(
        tmp_path,
        "seg1",
        [_row("a", 1, 5, 0.33), _row("b", 0, 9, 0.0), _row("c", 0, 0, 1.0)],
        reference.format(a1=0, a2=1, b1=0) + "a,1,prediction,1,1,1.0,pixels,1\n",
        aupr=0.5,
        dice=0.1,
    )
    empty = [
        _evaluation(
            tmp_path,
            f"empty{seed}",
            [_row("a", 0, 5, 0.0), _row("b", 0, 9, 0.0), _row("c", 0, 0, 1.0)],
            reference.format(a1=0, a2=0, b1=0),
            aupr=0.2,
            dice=0.0,
        )
        for seed in (0, 1)
    ]
    return [
        _result("seg", 0, seg0),
        _result("seg", 1, seg1),
        _result("empty", 0, empty[0]),
        _result("empty", 1, empty[1]),
    ]


def test_pooled_scores_by_hand(results):
    s = lesion_report.screen(results, ["seg", "empty"], "seg", "best")
    assert s.images == 3 and s.lesion_images == {1: 2} and s.free_images == {1: 1}
    seg = s.pooled[("seg", 1)]
    # Seed 0: 2 of 3 reference lesions found; 2 of 5 predicted lesions true; 2 false
    # lesions in the one lesion-free image. Seed 1: 1 of 3; 1 of 1; none.
    assert seg["lesion_recall"].values == (2 / 3, 1 / 3)
    assert seg["lesion_precision"].values == (2 / 5, 1.0)
    assert seg["lesion_f1"].values[0] == pytest.approx(2 * (2 / 5) * (2 / 3) / (2 / 5 + 2 / 3))
    assert seg["lesion_f1"].values[1] == pytest.approx(2 * (1 / 3) / (1 + 1 / 3))
    assert seg["false_lesions_per_free_case"].values == (2.0, 0.0)
    assert seg["aupr"].values == (0.7, 0.5) and seg["aupr"].mean == pytest.approx(0.6)
    assert seg["aupr"].std == pytest.approx(0.1)  # population std
    assert seg["pooled_dice"].values == (0.8, 0.1)
    empty = s.pooled[("empty", 1)]
    assert empty["lesion_recall"].values == (0.0, 0.0)
    assert empty["lesion_precision"].values == (0.0, 0.0)  # nothing predicted, lesions exist


def test_per_image_dice_over_the_images_with_a_lesion(results):
    s = lesion_report.screen(results, ["seg", "empty"], "seg", "best")
    every, lesion = s.image_dice[("seg", 1)]
    assert every.n == 6 and every.mean == pytest.approx((0.6 + 0.9 + 0 + 0.33 + 0 + 1) / 6)
    assert lesion.n == 4 and lesion.mean == pytest.approx((0.6 + 0.9 + 0.33 + 0) / 4)
    every, lesion = s.image_dice[("empty", 1)]
    assert every.mean == pytest.approx(1 / 3) and lesion.mean == 0.0  # the empty image's 1


def test_empty_predictions_and_collapse(results):
    s = lesion_report.screen(results, ["seg", "empty"], "seg", "best")
    assert s.empty["seg"].values == (0.0, 2.0) and s.empty["empty"].values == (3.0, 3.0)
    lines = lesion_report.collapse_lines(s, ["seg", "empty"])
    assert lines[0] == (
        "seg: an empty prediction (no foreground at all) on 0 / 2 of the 3 validation "
        "images (seeds 0 / 1)."
    )
    assert lines[1].endswith("collapsed (empty on every image) in every seed.")
    assert lines[2] == (
        "Collapsed to an empty prediction on every validation image: empty (2 of 2 seeds)."
    )


def test_recall_by_size_tertiles_of_the_reference_lesions(results):
    s = lesion_report.screen(results, ["seg", "empty"], "seg", "best")
    # Sizes 1, 4, 9: tertiles at 1 + (4 - 1) * 2/3 = 3 and 4 + (9 - 4) * 1/3 = 17/3.
    assert s.size_edges[1] == pytest.approx([1.0, 3.0, 17 / 3, 9.0])
    assert s.size_counts[1] == [1, 1, 1] and s.size_unit == "pixels"
    recall = s.size_recall[("seg", 1)]
    assert [v.values for v in recall] == [(0.0, 1.0), (1.0, 0.0), (1.0, 0.0)]
    assert [v.mean for v in recall] == [0.5, 0.5, 0.5]


def test_no_lesion_free_image_is_not_a_number(tmp_path):
    rows = [_row("a", 1, 1, 1.0)]
    evaluation = _evaluation(
        tmp_path,
        "x",
        rows,
        "a,1,reference,1,1,1.0,pixels,1\na,1,prediction,1,1,1.0,pixels,1\n",
        aupr=1.0,
        dice=1.0,
    )
    s = lesion_report.screen([_result("x", 0, evaluation)], ["x"], "x", "best")
    assert math.isnan(s.pooled[("x", 1)]["false_lesions_per_free_case"].mean)
    table = lesion_report.pooled_table(s, ["x"])
    assert "n/a (no lesion-free image in the split)" in table.markdown


@pytest.mark.parametrize("seeds", [1, 2, 3, 4, 5, 6])
def test_the_p_value_floor_is_the_tests_own(seeds):
    """With every seed's difference of one sign the exact test gives its smallest p."""
    floor = paired_permutation_test([1.0] * seeds, [0.0] * seeds).pvalue
    assert lesion_report.minimum_pvalue(seeds) == pytest.approx(floor)
    assert lesion_report.minimum_pvalue(3) == 0.25


def test_seed_comparison_tests_only_where_p_can_reach_alpha():
    ref = lesion_report.SeedValues((0, 1, 2), (0.5, 0.5, 0.5))
    mine = lesion_report.SeedValues((0, 1, 2), (0.6, 0.4, 0.7))
    three = lesion_report.compare_seeds(mine, ref, alpha=0.05, n_permutations=1000)
    assert three.pvalue is None and three.higher == 2 and three.lower == 1
    assert three.differences == pytest.approx((0.1, -0.1, 0.2))
    text = lesion_report.comparison_text(three, 3)
    assert text == "+0.100, -0.100, +0.200 (higher in 2, lower in 1 of 3 seeds)"
    six = lesion_report.compare_seeds(
        lesion_report.SeedValues(tuple(range(6)), (0.6,) * 6),
        lesion_report.SeedValues(tuple(range(6)), (0.5,) * 6),
        alpha=0.05,
        n_permutations=1000,
    )
    assert six.pvalue == pytest.approx(2 / 64)  # every sign pattern enumerated


def test_the_section_says_which_mean_each_table_shows(results):
    s = lesion_report.screen(results, ["seg", "empty"], "seg", "best")
    report = Report("r")
    lesion_report.add_section(report, s, ["seg", "empty"], "seg", 2, 0.05, 1000, "Lesions")
    text = report.to_markdown(Path("."))
    assert "Pooled over all pixels (AUPR, pooled Dice) and all lesions" in text
    assert "Dice, mean over all 3 images" in text
    assert "over the images whose reference contains the class (class 1: 2)" in text
    assert "cannot give p below 2/2^2 = 0.5" in text
    assert "[1, 3] pixels: 1 lesion" in text and "(5.667, 9] pixels: 1 lesion" in text
    assert "Lesion-free validation images (reference without the class): class 1: 1." in text
    html = report.to_html()
    assert "Dice, mean over the images with a lesion" in html
