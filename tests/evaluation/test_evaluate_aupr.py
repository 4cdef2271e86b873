"""``evaluate``'s pooled AUPR on a synthetic run: scikit-learn on every validation pixel,
``--no-aupr``, and probabilities that cannot be ranked."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from boundaryloss.cli import main
from boundaryloss.data.splits import load_splits, select_cases
from boundaryloss.evaluation.evaluate_run import evaluate_run
from boundaryloss.evaluation.predict import Predictor
from boundaryloss.training.data import build_cases
from boundaryloss.training.engine import Trainer
from boundaryloss.training.run_dir import RunDirectory


@pytest.fixture
def run(tiny_config):
    config = tiny_config("train.epochs=1", "data.val_fraction=0.3")
    Trainer(config).fit()
    return config


def test_aupr_of_the_validation_pixels_is_sklearns(run, tmp_path):
    summary = evaluate_run(run.run_dir, checkpoint="last")
    predictor = Predictor.from_checkpoint(run.run_dir / "checkpoints" / "last.pt")
    val = load_splits(RunDirectory(run.run_dir).splits)[0].val
    cases = select_cases(build_cases(run.data, "train"), val)
    scores = np.concatenate([predictor.probabilities(c)[1].ravel() for c in cases])
    truth = np.concatenate([(np.asarray(c.label) == 1).ravel() for c in cases])
    expected = average_precision_score(truth, scores)
    assert summary["pixel_level"][1]["aupr"] == pytest.approx(expected, rel=1e-12)
    saved = json.loads((run.run_dir / "evaluation" / "summary.json").read_text())
    assert saved["pixel_level"]["1"]["aupr"] == pytest.approx(expected, rel=1e-12)
    without = evaluate_run(run.run_dir, checkpoint="last", output=tmp_path / "e", aupr=False)
    assert "aupr" not in without["pixel_level"][1]
    assert without["pixel_level"][1]["dice"] == summary["pixel_level"][1]["dice"]


def test_nan_probabilities_are_a_one_line_error_naming_the_case(run, monkeypatch, capsys):
    def diverged(self, case):
        return np.full((2, *case.spatial_shape), np.nan, np.float32)

    monkeypatch.setattr(Predictor, "probabilities", diverged)
    capsys.readouterr()
    output = run.run_dir / "nan"
    args = ["evaluate", str(run.run_dir), "--checkpoint", "last", "--output", str(output)]
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    first = load_splits(RunDirectory(run.run_dir).splits)[0].val[0]
    assert err[-1] == (
        f"boundaryloss evaluate: error: case {first}: probabilities holds "
        f"{2 * 48 * 48} NaN or infinite value(s)"
    )
    assert not output.exists()
