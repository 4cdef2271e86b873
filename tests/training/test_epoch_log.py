"""The per-epoch console line and logs."""

from __future__ import annotations

import json

import pytest

from boundaryloss.training import figures
from boundaryloss.training.epoch_log import EpochLog, epoch_line
from boundaryloss.training.run_dir import RunDirectory


def test_epoch_line():
    row = {
        "epoch": 3,
        "train_loss": 0.41275,
        "term/gdl": 0.4,
        "term/boundary": 0.0125,
        "val_dice_mean": 0.8123,
        "val_hd95/1": 3.0,
        "val_hd95/2": 4.0,
        "epoch_seconds": 4.21,
    }
    assert epoch_line(row, 20, "mm") == (
        "epoch 3/20 | loss 0.4128 (gdl 0.4, boundary 0.0125) | val Dice 0.812 | HD95 3.50 mm | 4.2s"
    )
    assert "| HD95 3.50 px |" in epoch_line(row, 20, "px")
    assert epoch_line({"epoch": 1, "train_loss": 1.0, "epoch_seconds": 0.04}, 2, "mm") == (
        "epoch 1/2 | loss 1.0000 | 0.0s"
    )
    assert epoch_line({**row, "val_fov_cases": 0}, 20, "px") == epoch_line(row, 20, "px")
    assert "| val Dice 0.812 (in FOV) | HD95" in epoch_line({**row, "val_fov_cases": 4}, 20, "px")


def test_record_writes_and_prints_only_when_active(tmp_path):
    lines = []
    run = RunDirectory(tmp_path / "r")
    row = {"epoch": 1, "train_loss": 0.5, "epoch_seconds": 1.0}
    EpochLog(run, 2, "px", active=False, figures=False, echo=lines.append).record(row)
    assert lines == [] and not run.path.exists()
    log = EpochLog(run, 2, "px", figures=False, echo=lines.append)
    log.record(row)
    assert lines == ["epoch 1/2 | loss 0.5000 | 1.0s"]
    assert json.loads(run.metrics_jsonl.read_text()) == row
    log.restore(up_to_epoch=0)
    assert log.rows == []


@pytest.mark.parametrize("unit", ["mm", "px"])
def test_curves_name_the_hd95_unit(tmp_path, monkeypatch, unit):
    titles = []

    def keep_titles(fig, path):
        titles.extend(ax.get_title() for ax in fig.axes)
        figures.pyplot().close(fig)

    monkeypatch.setattr(figures, "save_figure", keep_titles)
    row = {"epoch": 1, "train_loss": 0.5, "val_dice/1": 0.7, "val_hd95/1": 2.0, "epoch_seconds": 1}
    EpochLog(RunDirectory(tmp_path / "r"), 2, unit, echo=lambda line: None).record(row)
    assert f"validation HD95 ({unit})" in titles
    assert not any(f"({other})" in t for t in titles for other in ("mm", "px") if other != unit)
