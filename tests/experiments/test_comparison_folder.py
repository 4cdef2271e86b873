"""The layout of a comparison's output folder, and the runs an experiment places in it."""

from __future__ import annotations

import pytest

from boundaryloss.experiments import load_experiment
from boundaryloss.experiments.comparison_folder import ComparisonFolder


def test_layout(tmp_path):
    folder = ComparisonFolder(tmp_path / "cmp")
    assert folder.runs == tmp_path / "cmp" / "runs"
    assert folder.run_dir("gdl", 3) == tmp_path / "cmp" / "runs" / "gdl" / "seed3"
    assert folder.cases == tmp_path / "cmp" / "cases.csv"
    assert folder.cases_of("last") == tmp_path / "cmp" / "cases_last.csv"
    assert folder.report_markdown == tmp_path / "cmp" / "report.md"
    assert folder.report_html == tmp_path / "cmp" / "report.html"
    assert folder.figure("overlays") == tmp_path / "cmp" / "figures" / "overlays.png"
    assert folder.entries() == {
        "runs",
        "figures",
        "cases.csv",
        "cases_best.csv",
        "cases_last.csv",
        "report.md",
        "report.html",
    }
    with pytest.raises(ValueError, match=r"checkpoint must be one of \('best', 'last'\), got 'x'"):
        folder.cases_of("x")


def test_an_experiments_runs_are_in_its_folder(write_experiment):
    experiment = load_experiment(write_experiment(), seeds=2)
    assert experiment.folder.path == experiment.output
    assert [spec.run_dir for spec in experiment.runs] == [
        experiment.output / "runs" / loss / f"seed{seed}"
        for loss in ("gdl", "rrw")
        for seed in (0, 1)
    ]
