"""Validation for highly unbalanced classes: pooled Dice, AUPR, lesion detection and the
metric that selects the best checkpoint; ``data.source: folders`` and ``idrid`` runs."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score
from torch import nn

from boundaryloss.cli import main
from boundaryloss.config import ConfigError
from boundaryloss.data import Case
from boundaryloss.data.datasets import CaseDataset
from boundaryloss.data.io import write_image_2d
from boundaryloss.training.checkpoint_files import load_checkpoint
from boundaryloss.training.config import load_config
from boundaryloss.training.data import absent_classes, build_cases
from boundaryloss.training.validation import Validator
from tests.data.layouts import write_idrid
from tests.tiny_runs import TINY

SHAPE = (16, 16)


def planned_cases() -> tuple[list[Case], dict[str, np.ndarray]]:
    """Three cases whose image channel is the foreground probability to predict: case
    ``a`` has two lesions (one found, one missed) and a false one, ``b`` a found lesion,
    ``c`` no lesion and two false ones; a FOV excludes the last column."""
    rng = np.random.default_rng(0)
    fov = np.ones(SHAPE, bool)
    fov[:, -1] = False
    labels = {k: np.zeros(SHAPE, np.int64) for k in "abc"}
    probability = {k: rng.uniform(0.0, 0.4, SHAPE) for k in "abc"}
    labels["a"][1:3, 1:3] = 1
    labels["a"][8, 8] = 1
    probability["a"][1:3, 1:3] = 0.9
    probability["a"][12:14, 3] = 0.8
    labels["b"][5:8, 5:7] = 1
    probability["b"][5:7, 5:7] = 0.7
    probability["c"][0, 0] = probability["c"][10, 10] = 0.95
    probability["c"][4, 15] = 0.99  # outside the FOV: not counted
    cases = [
        Case(
            k,
            probability[k][None].astype(np.float32),
            labels[k],
            (1.0, 1.0),
            fov=fov,
            spacing_unit="mm",
        )
        for k in "abc"
    ]
    return cases, {"fov": fov, "labels": labels, "probability": probability}


def from_image(model: nn.Module, image: torch.Tensor) -> torch.Tensor:
    foreground = image[0]
    return torch.stack([1 - foreground, foreground])


def test_pooled_scores_against_references():
    cases, planned = planned_cases()
    fov = planned["fov"]
    validator = Validator(2, from_image, slice_axis=0, aupr=True, lesion=True)
    row = validator(nn.Identity(), CaseDataset(cases), torch.device("cpu"))
    scores = np.concatenate([planned["probability"][k][fov] for k in "abc"])
    truth = np.concatenate([planned["labels"][k][fov] for k in "abc"])
    assert row["val_aupr/1"] == pytest.approx(average_precision_score(truth, scores), abs=1e-7)
    # Pooled Dice from counts written out: predictions are probability > 0.5 in the FOV.
    pred = scores > 0.5
    tp, fp, fn = (
        (pred & (truth == 1)).sum(),
        (pred & (truth == 0)).sum(),
        (~pred & (truth == 1)).sum(),
    )
    assert row["val_pooled_dice/1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    # Lesions: reference a1, a2, b1 (a2 missed); predicted a1, a-false, b1, c1, c2.
    assert row["val_lesion_recall/1"] == pytest.approx(2 / 3)
    assert row["val_lesion_precision/1"] == pytest.approx(2 / 5)
    assert row["val_lesion_f1/1"] == pytest.approx(2 * (2 / 5) * (2 / 3) / (2 / 5 + 2 / 3))
    assert row["val_false_lesions_per_free_case/1"] == 2.0
    # Mean Dice over the cases with a lesion (a, b), not over all three.
    dice_a = 2 * 4 / (2 * 4 + 2 + 1)
    dice_b = 2 * 4 / (2 * 4 + 0 + 2)
    assert row["val_dice_lesion_cases/1"] == pytest.approx((dice_a + dice_b) / 2)
    assert row["val_dice/1"] == pytest.approx((dice_a + dice_b + 0.0) / 3)
    assert row["val_aupr_mean"] == row["val_aupr/1"]
    # AVD (WMH): 100 |n(pred) - n(ref)| / n(ref) inside the FOV, over the cases a and b.
    avd_a = 100 * abs((4 + 2) - (4 + 1)) / (4 + 1)
    avd_b = 100 * abs(4 - 6) / 6
    assert row["val_avd_percent/1"] == pytest.approx((avd_a + avd_b) / 2)
    assert row["val_avd_percent_mean"] == row["val_avd_percent/1"]


def test_without_flags_no_aupr_or_lesion_columns():
    cases, _ = planned_cases()
    row = Validator(2, from_image, slice_axis=0)(nn.Identity(), CaseDataset(cases), "cpu")
    assert "val_pooled_dice/1" in row and "val_aupr/1" not in row
    assert not any(key.startswith("val_lesion") for key in row)


def _rows(run_dir):
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("metric", ["aupr", "pooled_dice", "lesion_f1"])
def test_best_checkpoint_follows_the_selection_metric(tmp_path, metric):
    argv = [
        "train",
        f"output_dir={tmp_path}",
        "name=run",
        *TINY,
        "train.epochs=4",
        f"train.selection_metric={metric}",
    ]
    assert main(argv) == 0
    run = tmp_path / "run"
    rows = _rows(run)
    column = {"aupr": "val_aupr_mean", "pooled_dice": "val_pooled_dice_mean"}.get(
        metric, "val_lesion_f1_mean"
    )
    values = [float(r[column]) for r in rows]
    best = int(np.nanargmax(values)) + 1
    summary = json.loads((run / "summary.json").read_text())
    assert summary["selection_metric"] == metric
    assert summary["best_epoch"] == best
    assert summary["best_val_score"] == pytest.approx(values[best - 1])
    assert summary["best_val_dice_mean"] == pytest.approx(float(rows[best - 1]["val_dice_mean"]))
    assert load_checkpoint(run / "checkpoints" / "best.pt")["epoch"] == best


def test_unknown_selection_metric_is_one_line(tmp_path, capsys):
    argv = ["train", f"output_dir={tmp_path}", *TINY, "train.selection_metric=hd95"]
    assert main(argv) == 1
    assert "train.selection_metric" in capsys.readouterr().err


# --- data.source: folders / idrid -----------------------------------------------------------


def _write_folders(root, ids=("p1", "p2", "p3", "p4", "p5", "p6"), missing=("p6",)):
    rng = np.random.default_rng(0)
    for case_id in ids:
        write_image_2d(root / "img" / f"{case_id}.png", rng.integers(0, 256, (32, 32, 3), np.uint8))
        label = np.zeros((32, 32), np.uint8)
        label[4:9, 4:9] = 128
        label[20:24, 20:22] = 255
        if case_id not in missing:
            write_image_2d(root / "gt" / f"{case_id}_gt.png", label)
    return root


def test_folders_source_reads_patterns_and_label_values(tmp_path):
    root = _write_folders(tmp_path / "data")
    config = load_config(
        None,
        [
            "data.source=folders",
            f"data.root={root}",
            "data.num_classes=3",
            "data.folders={images: img, labels: gt, image_pattern: '{id}.png', "
            "label_pattern: '{id}_gt.png', label_values: {0: 0, 128: 1, 255: 2}, "
            "missing_label: background}",
        ],
    )
    cases = build_cases(config.data)
    assert cases.case_ids == ("p1", "p2", "p3", "p4", "p5", "p6")
    label = cases.load("p1").label
    assert (label == 1).sum() == 25 and (label == 2).sum() == 8
    assert not cases.load("p6").label.any()
    # The classes are the mapping's values, not the stored pixel values 128 and 255.
    assert absent_classes(config.data, cases) == ()
    wrong = load_config(
        None,
        [
            "data.source=folders",
            f"data.root={root}",
            "data.num_classes=3",
            "data.folders={images: img, labels: gt, image_pattern: '{id}.png', "
            "label_pattern: '{id}_gt.png', label_values: {0: 0, 128: 1, 255: 3}, "
            "missing_label: background}",
        ],
    )
    with pytest.raises(ConfigError, match=r"class\(es\) 3"):
        absent_classes(wrong.data, build_cases(wrong.data))


def test_folders_source_trains_from_yaml(tmp_path):
    root = _write_folders(tmp_path / "data")
    yaml = tmp_path / "folders.yaml"
    yaml.write_text(
        f"data:\n  source: folders\n  root: {root}\n  num_classes: 2\n"
        "  folders:\n    images: img\n    labels: gt\n    label_pattern: '{id}_gt.png'\n"
        "    label_rule: nonzero\n    missing_label: skip\n"
    )
    argv = [
        "train",
        "--config",
        str(yaml),
        f"output_dir={tmp_path}",
        "name=f",
        *TINY[:1],
        *TINY[4:],
    ]
    assert main(argv) == 0
    splits = json.loads((tmp_path / "f" / "splits.json").read_text())
    assert sorted(splits[0]["train"] + splits[0]["val"]) == ["p1", "p2", "p3", "p4", "p5"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.folders={images: img, labels: gt, label_values: {x: 1}}", "label_values: key 'x'"),
        ("data.folders={images: nowhere}", "nowhere: images folder not found"),
        (
            "data.folders={images: img, labels: gt, label_pattern: '{id}_gt.png', fov: img}",
            "fov_pattern: required",
        ),
        ("data.folders={images: img, id_regex: '('}", r"id_regex: '\(' is not a regular"),
        ("data.folders={images: img, id_regex: '(?P<id>p)\\d'}", "id_regex: .* names a group"),
        ("data.folders={images: img, fov_threshold: 255}", "fov_threshold: 255 is not an 8-bit"),
        ("data.idrid={fov_threshold: -1}", "fov_threshold: -1 is not an 8-bit"),
    ],
)
def test_folders_source_errors(tmp_path, override, message):
    root = _write_folders(tmp_path / "data")
    with pytest.raises((ConfigError, ValueError), match=message):
        build_cases(load_config(None, ["data.source=folders", f"data.root={root}", override]).data)


def test_test_split_needs_test_fov_when_validation_has_fov(tmp_path):
    """Checked when the test split is built (not when a stored configuration loads), so
    a run trained before the rule still loads."""
    root = _write_folders(tmp_path / "data")
    folders = "data.folders={images: img, fov: img, fov_pattern: '{id}.png', test_images: img}"
    config = load_config(None, ["data.source=folders", f"data.root={root}", folders])
    with pytest.raises(ConfigError, match=r"data\.folders\.test_fov: required with fov for"):
        build_cases(config.data, "test")


def test_folders_without_test_split_is_refused(tmp_path):
    root = _write_folders(tmp_path / "data")
    config = load_config(None, ["data.source=folders", f"data.root={root}"])
    with pytest.raises(ConfigError, match="test_images"):
        build_cases(config.data, "test")


def test_idrid_run_and_test_split_evaluation(tmp_path, capsys):
    root = tmp_path / "IDRiD"
    write_idrid(root, ids=tuple(f"IDRiD_{i:02d}" for i in range(1, 6)))
    write_idrid(root, split="b. Testing Set", ids=("IDRiD_55", "IDRiD_56"))
    argv = [
        "train",
        f"output_dir={tmp_path}",
        "name=ex",
        *TINY[:1],
        *TINY[4:],
        "data.source=idrid",
        f"data.root={root}",
        "data.idrid.lesion=EX",
        "data.batch_size=2",
        "train.selection_metric=aupr",
        "train.val_lesion_metrics=true",
    ]
    assert main(argv) == 0
    rows = _rows(tmp_path / "ex")
    assert not math.isnan(float(rows[-1]["val_aupr/1"]))
    assert int(rows[-1]["val_fov_cases"]) >= 1
    assert main(["evaluate", str(tmp_path / "ex"), "--split", "test"]) == 0
    summary = json.loads((tmp_path / "ex" / "evaluation_test" / "summary.json").read_text())
    assert summary["num_cases"] == 2


def test_the_green_channel_alone_trains_and_predicts(tmp_path, capsys):
    """``data.channels: [1]``: the network reads the green channel of the RGB photograph
    (in_channels 1), the field of view still comes from the red channel, and predict
    reads RGB images as training did; an image without channel 1 is one line."""
    root = tmp_path / "IDRiD"
    write_idrid(root, ids=tuple(f"IDRiD_{i:02d}" for i in range(1, 6)))
    argv = [
        "train",
        f"output_dir={tmp_path}",
        "name=green",
        *TINY[:1],
        *TINY[4:],
        "data.source=idrid",
        f"data.root={root}",
        "data.channels=[1]",
        "data.batch_size=2",
    ]
    assert main(argv) == 0
    checkpoint = tmp_path / "green" / "checkpoints" / "last.pt"
    state = load_checkpoint(checkpoint)
    assert (state["in_channels"], state["image_channels"]) == (1, 3)
    assert int(_rows(tmp_path / "green")[-1]["val_fov_cases"]) >= 1
    images = root / "A. Segmentation" / "1. Original Images" / "a. Training Set"
    assert (
        main(["predict", str(checkpoint), str(images / "IDRiD_01.jpg"), str(tmp_path / "p")]) == 0
    )
    grey = tmp_path / "grey.png"
    write_image_2d(grey, np.full((32, 32), 100, np.uint8))
    capsys.readouterr()
    assert main(["predict", str(checkpoint), str(grey), str(tmp_path / "q")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.endswith(
        "trained on images of 3 channel(s), reading [1] of them (data.channels); this image has 1"
    )
    with pytest.raises(ConfigError, match=r"channels: a channel is given twice: \[1, 1\]"):
        load_config(None, ["data.channels=[1, 1]"])
