"""The results table: significance marks, bold best values, misses, convergence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from boundaryloss.experiments.convergence import convergence_cdf, convergence_epoch
from boundaryloss.experiments.table import (
    build_table,
    compute_statistics,
    to_html,
    to_markdown,
    to_text,
)
from boundaryloss.stats import bootstrap_ci

DIAGONAL = 100.0


def _records(loss, dice, hd95, seed=0):
    rows = []
    for i, (d, h) in enumerate(zip(dice, hd95, strict=True)):
        status = "missed" if math.isinf(h) else "ok"
        rows.append(
            {
                "loss": loss,
                "seed": seed,
                "case": f"case{i:02d}",
                "class": 1,
                "status": status,
                "dice": d,
                "hd95": h,
                "hd95_penalised": DIAGONAL if math.isinf(h) else h,
            }
        )
    return rows


def _table(records, losses=("good", "bad"), reference="good", unit="mm"):
    stats = compute_statistics(records, list(losses), reference, n_permutations=10000)
    return stats, build_table(stats, alpha=0.05, unit=unit)


def test_strong_difference_is_significant_and_best_is_bold():
    good = _records("good", [0.9, 0.85, 0.88, 0.92, 0.87, 0.9, 0.86, 0.91], [2.0] * 8)
    bad = _records("bad", [0.3, 0.35, 0.2, 0.4, 0.25, 0.3, 0.33, 0.28], [9.0] * 8)
    stats, (header, rows) = _table(good + bad)
    assert header == ["loss", "Dice (class 1)", "HD95 mm (class 1)"]
    assert stats[0].dice[1].pvalue is None  # the reference
    assert stats[1].dice[1].pvalue == pytest.approx(2 / 256)  # exact: all 8 cases favour good
    good_row, bad_row = rows
    assert good_row[1].bold and good_row[2].bold and not good_row[1].significant
    assert bad_row[1].significant and bad_row[2].significant and not bad_row[1].bold
    md = to_markdown(header, rows)
    assert "| good | **0.886 ± 0.023** | **2.00 ± 0.00** |" in md
    assert "| bad | 0.301 ± 0.057 \\* | 9.00 ± 0.00 \\* |" in md
    assert "<b>0.886 ± 0.023</b>" in to_html(header, rows)
    assert "[0.886 ± 0.023]" in to_text(header, rows)


def test_hd95_header_names_the_unit():
    records = _records("good", [0.9, 0.8], [2.0, 3.0]) + _records("bad", [0.5, 0.4], [6.0, 7.0])
    _, (header, _) = _table(records, unit="px")
    assert header == ["loss", "Dice (class 1)", "HD95 px (class 1)"]
    stats = compute_statistics(records, ["good", "bad"], "good")
    with pytest.raises(ValueError, match="unit must be one of"):
        build_table(stats, unit="pixels")


def test_small_difference_is_not_marked():
    a = _records("good", [0.8, 0.6, 0.7, 0.9, 0.5, 0.75], [3.0] * 6)
    b = _records("bad", [0.78, 0.63, 0.69, 0.88, 0.53, 0.74], [3.0] * 6)
    _, (_, rows) = _table(a + b)
    assert not rows[1][1].significant


def test_seeds_are_averaged_per_case_for_the_test():
    good = _records("good", [0.9] * 6, [2.0] * 6)
    bad = _records("bad", [0.2] * 6, [5.0] * 6, seed=0) + _records(
        "bad", [0.4] * 6, [5.0] * 6, seed=1
    )
    stats, _ = _table(good + bad)
    assert stats[1].dice[1].n == 12  # mean ± std over cases and seeds
    assert stats[1].dice[1].mean == pytest.approx(0.3)
    assert stats[1].dice[1].pvalue == pytest.approx(2 / 64)  # 6 paired cases, exact


def test_missed_structures_do_not_vanish():
    good = _records("good", [0.8] * 4, [4.0] * 4)
    bad = _records("bad", [0.0, 0.7, 0.7, 0.0], [math.inf, 5.0, 5.0, math.inf])
    stats, (_, rows) = _table(good + bad)
    hd = stats[1].hd95[1]
    assert hd.n_missed == 2 and hd.mean == pytest.approx((100 + 5 + 5 + 100) / 4)
    assert "(2/4 missed)" in rows[1][2].text
    assert rows[0][2].bold  # the finite, lower HD95 wins


def test_ties_are_all_bold():
    a = _records("good", [0.5, 0.6], [3.0, 3.0])
    b = _records("bad", [0.6, 0.5], [3.0, 3.0])
    _, (_, rows) = _table(a + b)
    assert rows[0][1].bold and rows[1][1].bold


def test_convergence_epoch_and_cdf():
    history = [
        {"epoch": e, "val_dice_mean": d} for e, d in enumerate([0.1, 0.5, 0.96, 1.0, 0.9], 1)
    ]
    assert convergence_epoch(history, 0.95) == 3
    assert convergence_epoch(history, 0.5) == 2
    assert convergence_epoch([{"epoch": 1, "val_dice_mean": 0.0}], 0.95) is None
    grid, share = convergence_cdf([3, None, 1], total_epochs=4)
    assert grid.tolist() == [0, 1, 2, 3, 4]
    assert share.tolist() == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])


def test_lesion_columns_with_permutation_test_and_bootstrap_ci():
    good = _records("good", [0.9] * 8, [2.0] * 8)
    bad = _records("bad", [0.5] * 8, [6.0] * 8) + _records("bad", [0.5] * 8, [6.0] * 8, seed=1)
    f1_good = [0.9, 0.8, 0.85, 0.95, 0.7, 0.9, 0.8, 0.75]
    f1_bad = [
        [0.5, 0.4, 0.45, 0.6, 0.3, 0.5, 0.4, 0.35],
        [0.3, 0.2, 0.25, 0.4, 0.1, 0.3, 0.2, 0.15],
    ]
    for i, row in enumerate(good):
        row.update(lesion_f1=f1_good[i], avd_ml=0.5)
    for j, row in enumerate(bad):
        row.update(lesion_f1=f1_bad[j // 8][j % 8], avd_ml=2.0)
    stats, (header, rows) = _table(good + bad)
    assert header[3:] == ["lesion F1 (class 1)", "AVD ml (class 1)"]
    f1 = stats[1].lesion["lesion_f1"][1]
    assert f1.pvalue == pytest.approx(2 / 256)  # every case favours good: exact test
    per_case = [(a + b) / 2 for a, b in zip(*f1_bad, strict=True)]  # seeds averaged
    expected = bootstrap_ci(per_case, n_resamples=10000, seed=0)
    assert f1.ci == pytest.approx((expected.low, expected.high))
    assert expected.low < np.mean(per_case) < expected.high
    values = f1_bad[0] + f1_bad[1]  # mean ± std over cases and seeds
    assert rows[1][3].text == (
        f"{np.mean(values):.3f} ± {np.std(values):.3f} [{expected.low:.3f}, {expected.high:.3f}]"
    )
    assert rows[1][3].significant and rows[0][3].bold
    assert rows[0][4].bold and not rows[1][4].bold  # lower volume difference is better
    plain, (plain_header, _) = _table(_records("good", [0.9], [2.0]), losses=("good",))
    assert plain[0].lesion == {} and len(plain_header) == 3


def test_volume_difference_in_voxels_for_pixel_data():
    """Cases whose spacing is in px have their volume difference as a voxel count, under
    its own header (never "ml"), lower being better."""
    good = _records("good", [0.9] * 4, [2.0] * 4)
    bad = _records("bad", [0.5] * 4, [6.0] * 4)
    for row, count in zip(good + bad, [3, 1, 2, 2, 40, 38, 41, 39], strict=True):
        row["avd_voxels"] = float(count)
    stats, (header, rows) = _table(good + bad, unit="px")
    assert header == ["loss", "Dice (class 1)", "HD95 px (class 1)", "AVD voxels (class 1)"]
    assert not any("ml" in title for title in header)
    assert rows[0][3].text.startswith("2.0 ± 0.7 [")  # mean ± population std of 3, 1, 2, 2
    assert rows[0][3].bold and not rows[1][3].bold
    assert stats[1].lesion["avd_voxels"][1].mean == pytest.approx(39.5)
