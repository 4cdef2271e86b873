"""``compare`` reports the best checkpoint and the last epoch: both tables, checked
against evaluating each checkpoint directly; one evaluation when best is last; the
``report.last_epoch`` switch; resumption without retraining or re-evaluating."""

from __future__ import annotations

import copy
import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from boundaryloss._files import TEMP_MARKER
from boundaryloss.evaluation.evaluate_run import evaluate_run
from boundaryloss.experiments import load_experiment, run_compare
from boundaryloss.experiments import results as results_module
from boundaryloss.training.engine import Trainer

from .conftest import TINY_BASE, tiny_experiment

#: Three epochs at a high learning rate: the gdl run's best validation Dice comes at its
#: last epoch (best.pt and last.pt are the same model); the rrw run's at epoch 1.
BASE = copy.deepcopy(TINY_BASE)
BASE["optim"] = {"lr": 0.05}
BASE["train"]["epochs"] = 3
BASE["data"]["synthetic"]["foreground_fraction"] = 0.15


def _write(folder: Path, **report) -> Path:
    data = tiny_experiment(output_dir=str(folder), base=BASE)
    data["report"].update(report)
    path = folder / f"experiment{len(report)}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _quiet(line: str) -> None:
    pass


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _direct(run_dir: Path, checkpoint: str, folder: Path) -> dict[tuple[str, int], tuple]:
    """(case, class) -> (pred_voxels, dice, hd95) of ``boundaryloss evaluate`` itself."""
    evaluate_run(run_dir, checkpoint=checkpoint, split="val", output=folder, missing="inf")
    return {
        (row["case"], int(row["class"])): (
            int(row["pred_voxels"]),
            float(row["dice"]),
            float(row["hd95"]),
        )
        for row in _csv(folder / "cases.csv")
    }


def _reported(path: Path, loss: str) -> dict[tuple[str, int], tuple]:
    return {
        (row["case"], int(row["class"])): (
            int(row["pred_voxels"]),
            float(row["dice"]),
            float(row["hd95"]),
        )
        for row in _csv(path)
        if row["loss"] == loss and row["seed"] == "0"
    }


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for key in a:
        (pa, da, ha), (pb, db, hb) = a[key], b[key]
        if pa != pb or not math.isclose(da, db, rel_tol=1e-12, abs_tol=1e-12):
            return False
        if not (ha == hb or math.isclose(ha, hb, rel_tol=1e-12)):
            return False
    return True


class _Counter:
    """Replaces ``evaluate_run`` in the results module and records (run, checkpoint)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_at = fail_at

    def __call__(self, run_dir, **kwargs):
        self.calls.append((f"{Path(run_dir).parent.name}", kwargs["checkpoint"]))
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise KeyboardInterrupt("interrupted")
        return evaluate_run(run_dir, **kwargs)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished comparison with both checkpoints: (root, output, log, report text)."""
    root = tmp_path_factory.mktemp("compare_last")
    lines: list[str] = []
    result = run_compare(load_experiment(_write(root)), log=lines.append)
    output = root / "tiny"
    snapshot = root / "snapshot"  # other tests rewrite the output folder
    snapshot.mkdir()
    for name in ("cases.csv", "cases_last.csv", "report.html"):
        shutil.copyfile(output / name, snapshot / name)
    return root, output, lines, result, (output / "report.md").read_text()


def test_both_tables_and_the_reuse_when_best_is_last(finished, tmp_path):
    root, output, lines, result, md = finished
    snapshot = root / "snapshot"
    assert "## Results at the best checkpoint ('best' checkpoint)" in md
    assert "## Results at the last epoch ('last' checkpoint)" in md
    page = (snapshot / "report.html").read_text()
    assert page.count("<table") >= 3  # two results tables and the compute table
    assert "optimistic" in md
    for loss in ("gdl", "rrw"):
        run = output / "runs" / loss / "seed0"
        best = _direct(run, "best", tmp_path / loss / "best")
        last = _direct(run, "last", tmp_path / loss / "last")
        assert _same(_reported(snapshot / "cases.csv", loss), best)
        assert _same(_reported(snapshot / "cases_last.csv", loss), last)
        for stats, direct in ((result.statistics, best), (result.other_statistics, last)):
            (mine,) = [s for s in stats if s.loss == loss]
            for cls in (1, 2):
                dice = [v[1] for (_, c), v in direct.items() if c == cls]
                assert mine.dice[cls].mean == pytest.approx(np.mean(dice), abs=1e-12)
    # gdl peaked at its last epoch: one model, evaluated once; rrw peaked at epoch 1.
    assert not (output / "runs" / "gdl" / "seed0" / "evaluation_last").exists()
    assert (output / "runs" / "rrw" / "seed0" / "evaluation_last" / "cases.csv").is_file()
    assert any("gdl seed 0 (best and last: the same weights" in line for line in lines)
    gdl_line = [f for f in result.findings if f.startswith("gdl: mean Dice at the best")]
    assert gdl_line and "(epoch 3)" in gdl_line[0] and "in 1 of 1 seeds" in gdl_line[0]
    rrw_line = [f for f in result.findings if f.startswith("rrw: mean Dice at the best")]
    assert rrw_line and "checkpoint (epoch 1)" in rrw_line[0] and "in 0 of 1" in rrw_line[0]


def test_option_off_shows_one_table_and_evaluates_nothing_new(finished, monkeypatch):
    root, output, _, _, _ = finished
    counter = _Counter()
    monkeypatch.setattr(results_module, "evaluate_run", counter)
    result = run_compare(load_experiment(_write(root, last_epoch=False)), log=_quiet)
    assert counter.calls == []  # the best checkpoint's evaluations are cached
    md = (output / "report.md").read_text()
    assert "('best' checkpoint)" in md and "'last' checkpoint" not in md
    assert result.other_statistics == [] and result.other_records == []
    assert (output / "cases.csv").is_file() and not (output / "cases_last.csv").exists()
    assert not any("at the last epoch" in line for line in result.findings)


def test_interrupted_compare_resumes_without_retraining_or_reevaluating(tmp_path, monkeypatch):
    path = _write(tmp_path)
    run_compare(load_experiment(path), log=_quiet)
    output = tmp_path / "tiny"
    gdl = output / "runs" / "gdl" / "seed0"
    # Make gdl's best and last different models (its epoch-1 snapshot as best), and drop
    # every cached evaluation: four evaluations are due.
    shutil.copyfile(gdl / "checkpoints" / "epoch0001.pt", gdl / "checkpoints" / "best.pt")
    for run in ("gdl", "rrw"):
        for name in ("evaluation", "evaluation_last"):
            shutil.rmtree(output / "runs" / run / "seed0" / name, ignore_errors=True)

    fits = []
    original = Trainer.fit

    def counting_fit(self):
        fits.append(self.run_dir)
        return original(self)

    monkeypatch.setattr(Trainer, "fit", counting_fit)
    interrupted = _Counter(fail_at=3)
    monkeypatch.setattr(results_module, "evaluate_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_compare(load_experiment(path), log=_quiet)
    assert interrupted.calls == [("gdl", "best"), ("gdl", "last"), ("rrw", "best")]

    # What a killed atomic write of the last checkpoint's evaluation leaves behind.
    leftover = gdl / "evaluation_last" / f".cases.csv{TEMP_MARKER}x.csv"
    leftover.write_text("half a table")

    resumed = _Counter()
    monkeypatch.setattr(results_module, "evaluate_run", resumed)
    run_compare(load_experiment(path), log=_quiet)
    assert fits == []
    assert resumed.calls == [("rrw", "best"), ("rrw", "last")]
    assert not leftover.exists()

    best = _direct(gdl, "best", tmp_path / "direct_best")
    last = _direct(gdl, "last", tmp_path / "direct_last")
    assert not _same(best, last)  # the two tables really show different models here
    assert _same(_reported(output / "cases.csv", "gdl"), best)
    assert _same(_reported(output / "cases_last.csv", "gdl"), last)


def test_last_as_report_checkpoint_reuses_both_evaluations(finished, monkeypatch, tmp_path):
    root, output, _, _, _ = finished
    counter = _Counter()
    monkeypatch.setattr(results_module, "evaluate_run", counter)
    result = run_compare(load_experiment(_write(root, checkpoint="last")), log=_quiet)
    assert counter.calls == []  # each checkpoint's cache is found where it was written
    md = (output / "report.md").read_text()
    top = md.index("## Results at the last epoch ('last' checkpoint)")
    assert top < md.index("## Results at the best checkpoint ('best' checkpoint)")
    assert (output / "cases_best.csv").is_file() and not (output / "cases_last.csv").exists()
    run = output / "runs" / "rrw" / "seed0"
    assert _same(_reported(output / "cases.csv", "rrw"), _direct(run, "last", tmp_path / "l"))
    assert _same(_reported(output / "cases_best.csv", "rrw"), _direct(run, "best", tmp_path / "b"))
    assert result.other_records and result.records
