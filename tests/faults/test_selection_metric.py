"""The validation Dice that picks ``best.pt`` counts no empty class as a perfect score.

A class that the configuration or ``dataset.json`` declares but no label contains
scored Dice 1.0 in every case (absent from both prediction and reference), which
inflated ``val_dice_mean`` and the choice of the best checkpoint. Now a class in no
validation reference is left out of the mean (with a warning naming it, once), and a
case where a class is in neither reference nor prediction does not add a 1.0 to it.
The per-class columns keep the metrics' empty-mask rule.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from boundaryloss.cli import main
from boundaryloss.data import Case
from boundaryloss.data.datasets import CaseDataset
from boundaryloss.evaluation import evaluate_run as evaluate_module
from boundaryloss.metrics import SegmentationEvaluator
from boundaryloss.training.validation import Validator

from .conftest import TINY, write_msd


def _from_image(model: nn.Module, image: torch.Tensor) -> torch.Tensor:
    """Probabilities ``(3, *spatial)`` segmenting the class index stored in the image."""
    return nn.functional.one_hot(image[0].long(), 3).movedim(-1, 0).float()


def _validate(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[Validator, dict]:
    """Validate cases given as (prediction, reference) label maps of 3 classes."""
    cases = [
        Case(
            f"c{i}",
            pred[None].astype(np.float32),
            ref.astype(np.int64),
            (1.0, 1.0),
            spacing_unit="mm",
        )
        for i, (pred, ref) in enumerate(pairs)
    ]
    validator = Validator(3, _from_image, slice_axis=0)
    return validator, validator(nn.Identity(), CaseDataset(cases), torch.device("cpu"))


def _square(offset: int = 0, cls: int = 1) -> np.ndarray:
    label = np.zeros((12, 12), np.int64)
    label[2 + offset : 8 + offset, 2:8] = cls
    return label


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def test_a_class_in_no_reference_is_left_out_of_the_mean():
    ref, pred = _square(), _square(offset=2)  # class 1 only; class 2 never appears
    validator, row = _validate([(pred, ref)])
    expected = _dice(pred == 1, ref == 1)
    assert row["val_dice/2"] == 1.0  # the metric's convention is kept per class...
    assert row["val_dice_mean"] == pytest.approx(expected)  # ...but not averaged in
    assert validator.unreferenced == (2,) and validator.selected == (1,)


def test_a_case_with_the_class_in_neither_map_adds_no_perfect_score():
    ref_twos, pred_twos = np.zeros((12, 12), np.int64), np.zeros((12, 12), np.int64)
    ref_twos[9:11, 2:8], pred_twos[9:11, 3:9] = 2, 2  # class 2 in every case
    ref, pred = ref_twos.copy(), pred_twos.copy()
    ref[2:6, 2:8], pred[3:7, 2:8] = 1, 1  # class 1 only in the first case
    validator, row = _validate([(pred, ref), (pred_twos, ref_twos)])
    class_1, class_2 = _dice(pred == 1, ref == 1), _dice(pred == 2, ref == 2)
    assert row["val_dice/1"] == pytest.approx((class_1 + 1.0) / 2)  # convention: case 2 is 1
    assert row["val_dice/2"] == pytest.approx(class_2)
    assert row["val_dice_mean"] == pytest.approx((class_1 + class_2) / 2)  # case 2 left out
    assert row["val_both_empty"] == 1
    assert validator.selected == (1, 2) and validator.unreferenced == ()


def test_a_spurious_prediction_of_a_class_in_no_reference_still_is_no_score():
    ref = _square()
    pred = np.where(_square(offset=2, cls=2) == 2, 2, ref)  # predicts class 2 somewhere
    _, row = _validate([(pred, ref)])
    assert row["val_dice/2"] == 0.0
    assert row["val_dice_mean"] == pytest.approx(_dice(pred == 1, ref == 1))


def test_a_class_dataset_json_declares_but_no_label_holds_is_reported(tmp_path, capsys):
    root = write_msd(tmp_path / "Task", [(16, 16, 4)] * 6, num_labels=2)
    description = json.loads((root / "dataset.json").read_text())
    description["labels"]["2"] = "declared, never drawn"
    (root / "dataset.json").write_text(json.dumps(description))
    source = ["data.source=msd", f"data.root={root}", "data.num_classes=3", "train.epochs=2"]
    assert main(["train", f"output_dir={tmp_path}", "name=run", *TINY, *source]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "class(es) 2 appear in no validation" in line]
    assert len(warnings) == 1 and "left out of val_dice_mean" in warnings[0]
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    for row in rows:
        assert row["val_dice/2"] in (0.0, 1.0)  # never drawn: 1 when not predicted
        assert row["val_dice_mean"] == pytest.approx(row["val_dice/1"])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["val_dice_mean_classes"] == [1]
    assert summary["best_val_dice_mean"] == max(row["val_dice_mean"] for row in rows)


def test_evaluate_shows_the_counts_and_warns_about_a_class_never_seen(capsys, monkeypatch):
    evaluator = SegmentationEvaluator(metrics=("dice",), num_classes=3)
    ref = _square()
    evaluator.update("a", ref, ref)
    evaluator.update("b", np.zeros_like(ref), np.zeros_like(ref))
    summary = {
        "num_cases": 2,
        "split": "val",
        "checkpoint": "best.pt",
        "fov": {"applied": False, "num_cases": 0},
        "volume_difference": None,
        "spacing_unit": "px",
        "metrics": evaluator.summary(),
        "pixel_level": {},
    }
    monkeypatch.setattr(evaluate_module, "evaluate_run", lambda *args, **kwargs: summary)
    assert main(["evaluate", "run"]) == 0
    out, err = capsys.readouterr()
    assert (
        "class 1: mean 1.0000  std 0.0000  median 1.0000  missed 0  spurious 0  both-empty 1" in out
    )
    assert (
        "class 2: mean 1.0000  std 0.0000  median 1.0000  missed 0  spurious 0  both-empty 2" in out
    )
    assert "warning: class 2 is in no reference and no prediction" in err
    assert "class 1 is in no reference" not in err
