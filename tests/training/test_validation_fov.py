"""Validation during training scores inside the field of view, as ``evaluate`` does:
a :class:`Validator` on hand-made cases, and a tiny DRIVE run against ``evaluate_run``
and against the Dice formula written here."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from boundaryloss.cli import main
from boundaryloss.data import Case, drive
from boundaryloss.data.datasets import CaseDataset
from boundaryloss.data.splits import load_splits
from boundaryloss.evaluation.evaluate_run import evaluate_run
from boundaryloss.evaluation.predict import Predictor
from boundaryloss.training.validation import Validator
from tests.data.layouts import write_drive
from tests.tiny_runs import TINY

SHAPE = (12, 14)


def dice(pred: np.ndarray, ref: np.ndarray, inside: np.ndarray) -> float:
    """Dice of class 1 counted inside ``inside``, written out."""
    p, r = (pred == 1) & inside, (ref == 1) & inside
    tp, fp, fn = (p & r).sum(), (p & ~r).sum(), (~p & r).sum()
    return 2 * tp / (2 * tp + fp + fn)


def planned_cases(with_fov: bool) -> tuple[list[Case], dict[str, np.ndarray]]:
    """Cases whose image is the prediction to make: the reference inside a disc-like
    FOV, its opposite outside (wrong on every pixel there)."""
    rng = np.random.default_rng(3)
    rows, cols = np.indices(SHAPE)
    fov = (rows - 6) ** 2 + (cols - 7) ** 2 <= 25
    cases, predictions = [], {}
    for case_id in ("a", "b"):
        label = (rng.random(SHAPE) < 0.3).astype(np.int64)
        label[6, 7] = 1  # a vessel inside the FOV in every case
        prediction = np.where(fov, label, 1 - label)
        image = prediction[None].astype(np.float32)
        cases.append(
            Case(
                case_id, image, label, (1.0, 1.0), fov=fov if with_fov else None, spacing_unit="mm"
            )
        )
        predictions[case_id] = prediction
    return cases, predictions


def from_image(model: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """Probabilities ``(2, *spatial)`` that segment the class index stored in the image."""
    return nn.functional.one_hot(image[0].long(), 2).movedim(-1, 0).float()


@pytest.mark.parametrize("with_fov", [True, False])
def test_wrong_only_outside_the_fov_scores_perfect(with_fov):
    cases, predictions = planned_cases(with_fov)
    validator = Validator(2, from_image, slice_axis=0)
    row = validator(nn.Identity(), CaseDataset(cases), torch.device("cpu"))
    if with_fov:
        assert row["val_dice/1"] == 1.0 and row["val_hd95/1"] == 0.0
        assert row["val_dice_mean"] == 1.0 and row["val_fov_cases"] == 2
    else:
        everywhere = np.ones(SHAPE, bool)
        expected = np.mean([dice(predictions[c.case_id], c.label, everywhere) for c in cases])
        assert row["val_dice/1"] == pytest.approx(expected) and expected < 0.9
        assert row["val_fov_cases"] == 0
    # The figures show the whole prediction, not the restricted one.
    np.testing.assert_array_equal(validator.examples[0].prediction, predictions["a"])


def test_validation_equals_evaluate_inside_the_fov(tmp_path, capsys):
    root = tmp_path / "DRIVE"
    write_drive(root, "training", ids=("21", "22", "23", "24", "25"))
    overrides = ["data.source=drive", f"data.root={root}", "data.val_fraction=0.4"]
    shape = ["train.epochs=1", "data.batch_size=2"]
    run = tmp_path / "runs" / "run"
    assert main(["train", f"output_dir={run.parent}", "name=run", *TINY, *overrides, *shape]) == 0
    row = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert row["val_fov_cases"] == 2
    summary = json.loads((run / "summary.json").read_text())
    assert summary["val_fov"] == {"applied": True, "num_cases": 2}
    assert summary["spacing_unit"] == "px"  # DRIVE's TIFF/GIF files: no physical size
    out = capsys.readouterr()
    assert f"best validation Dice {row['val_dice_mean']:.4f} (inside the field of view)" in out.out
    assert "val Dice" in out.err and "(in FOV)" in out.err
    assert f"| HD95 {row['val_hd95/1']:.2f} px |" in out.err

    evaluation = evaluate_run(run, split="val", checkpoint="last")
    assert evaluation["fov"] == {"applied": True, "num_cases": 2}
    assert evaluation["spacing_unit"] == "px"
    for metric in ("dice", "hd95"):
        assert row[f"val_{metric}/1"] == pytest.approx(evaluation["metrics"][metric][1]["mean"])

    predictor = Predictor.from_checkpoint(run / "checkpoints" / "last.pt")
    val_ids = load_splits(run / "splits.json")[0].val
    cases = [drive(root).load(case_id) for case_id in val_ids]
    scores = [dice(predictor.segment(c), c.label, c.fov) for c in cases]
    assert row["val_dice/1"] == pytest.approx(np.mean(scores))
    whole = [dice(predictor.segment(c), c.label, np.ones_like(c.fov)) for c in cases]
    assert not np.allclose(scores, whole)  # the FOV changed the score


def test_runs_without_a_fov_say_so(tmp_path, capsys):
    assert main(["train", f"output_dir={tmp_path}", "name=run", *TINY, "train.epochs=1"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["val_fov"] == {"applied": False, "num_cases": 0}
    assert summary["final"]["val_fov_cases"] == 0
    out = capsys.readouterr()
    assert "best validation Dice" in out.out and "field of view" not in out.out
    assert "val Dice" in out.err and "FOV" not in out.err
