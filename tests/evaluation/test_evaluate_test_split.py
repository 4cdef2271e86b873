"""``evaluate_run(..., split="test")``: a tiny run scored on its dataset's test split,
inside the field of view, recomputed here from the predictions with the formulas."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from boundaryloss.cli import main
from boundaryloss.data import drive
from boundaryloss.data.prepare import prepare_dataset
from boundaryloss.data.splits import Split, load_splits, save_splits
from boundaryloss.evaluation.evaluate_run import evaluate_run
from boundaryloss.evaluation.predict import Predictor
from boundaryloss.training.engine import Trainer
from boundaryloss.training.run_dir import RunDirectory
from tests.data.layouts import write_drive, write_nnunet

TRAINING_IDS = ("21", "22", "23", "24", "25")


@pytest.fixture(scope="module")
def drive_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "DRIVE"
    write_drive(root, "training", ids=TRAINING_IDS)
    write_drive(root, "test", ids=("01", "02"))
    return root


def train(tiny_config, *overrides: str, name: str = "run"):
    config = tiny_config(
        "train.epochs=1", "data.batch_size=2", "data.val_fraction=0.4", *overrides, name=name
    )
    Trainer(config).fit()
    return config.run_dir


def read_rows(path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as handle:
        return {row["case"]: row for row in csv.DictReader(handle)}


def counts(pred: np.ndarray, ref: np.ndarray, fov: np.ndarray) -> np.ndarray:
    """(TP, FP, FN, TN) of class 1 inside ``fov``, written out."""
    p, r = (pred == 1) & fov, (ref == 1) & fov
    return np.array([(p & r).sum(), (p & ~r).sum(), (~p & r).sum(), (~p & ~r & fov).sum()])


def test_test_split_is_scored_inside_the_fov_and_kept_apart(tiny_config, drive_root):
    run = train(tiny_config, "data.source=drive", f"data.root={drive_root}")
    evaluate_run(run, split="val", checkpoint="last")
    validation = (run / "evaluation" / "summary.json").read_text()

    summary = evaluate_run(run, split="test", checkpoint="last")
    assert (run / "evaluation" / "summary.json").read_text() == validation
    assert json.loads((run / "evaluation_test" / "summary.json").read_text()) == json.loads(
        json.dumps(summary)
    )
    assert summary["split"] == "test" and summary["num_cases"] == 2
    assert summary["fov"] == {"applied": True, "num_cases": 2}

    rows = read_rows(run / "evaluation_test" / "cases.csv")
    assert sorted(rows) == ["01", "02"]
    predictor = Predictor.from_checkpoint(run / "checkpoints" / "last.pt")
    pooled = np.zeros(4, dtype=np.int64)
    scores, vessels = [], []  # every test case's FOV pixels, for scikit-learn's AP
    for case in drive(drive_root, "test"):
        scores.append(predictor.probabilities(case)[1][case.fov])
        vessels.append(case.label[case.fov] == 1)
        tp, fp, fn, tn = counts(predictor.segment(case), case.label, case.fov)
        pooled += (tp, fp, fn, tn)
        row = rows[case.case_id]
        assert row["fov"] == "yes" and int(row["scored_voxels"]) == case.fov.sum()
        assert int(row["tp_voxels"]) == tp and int(row["ref_voxels"]) == tp + fn
        assert float(row["dice"]) == pytest.approx(2 * tp / (2 * tp + fp + fn))
    tp, fp, fn, tn = pooled
    pixel = summary["pixel_level"][1]
    assert [pixel[k] for k in ("tp", "fp", "fn", "tn")] == pooled.tolist()
    assert pixel["dice"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert pixel["accuracy"] == pytest.approx((tp + tn) / pooled.sum())
    expected = average_precision_score(np.concatenate(vessels), np.concatenate(scores))
    assert pixel["aupr"] == pytest.approx(expected, rel=1e-12)
    dice = [float(rows[c]["dice"]) for c in ("01", "02")]
    assert summary["metrics"]["dice"][1]["mean"] == pytest.approx(np.mean(dice))


def test_pixels_outside_the_fov_do_not_count(tiny_config, drive_root, monkeypatch):
    run = train(tiny_config, "data.source=drive", f"data.root={drive_root}", name="fov")
    # A model that calls every pixel a vessel: inside the FOV its false positives are
    # the FOV's non-vessel pixels only.
    vessel = np.array([0.0, 1.0], np.float32)[:, None, None]
    monkeypatch.setattr(
        Predictor,
        "probabilities",
        lambda self, case: np.broadcast_to(vessel, (2, *case.spatial_shape)),
    )
    summary = evaluate_run(run, split="test", output=run / "everything")
    for case in drive(drive_root, "test"):
        vessels_inside = (case.label[case.fov] == 1).sum()
        expected = 2 * vessels_inside / (case.fov.sum() + vessels_inside)
        row = read_rows(run / "everything" / "cases.csv")[case.case_id]
        assert float(row["dice"]) == pytest.approx(expected)
        assert int(row["pred_voxels"]) == case.fov.sum()
    assert summary["pixel_level"][1]["tn"] == 0
    assert summary["pixel_level"][1]["specificity"] == 0.0
    # Every FOV pixel tied at probability 1: one threshold, AUPR = the vessel fraction.
    cases = list(drive(drive_root, "test"))
    fraction = sum((c.label[c.fov] == 1).sum() for c in cases) / sum(c.fov.sum() for c in cases)
    assert summary["pixel_level"][1]["aupr"] == pytest.approx(fraction)


def test_prepared_dataset_test_split_uses_its_masks(tiny_config, drive_root, tmp_path, capsys):
    prepared = tmp_path / "DRIVE-prepared"
    prepare_dataset("drive", drive_root, prepared)
    run = train(tiny_config, "data.source=msd", f"data.root={prepared}", name="prepared")
    assert main(["evaluate", str(run), "--split", "test", "--checkpoint", "last"]) == 0
    out = capsys.readouterr().out
    assert "2 cases (test)" in out and "inside the field of view (2 cases)" in out
    assert "; distances (hd, hd95, assd) in px" in out  # prepared PNGs: no physical size
    assert "pixel-level class 1: dice" in out
    aupr = json.loads((run / "evaluation_test" / "summary.json").read_text())["pixel_level"]
    assert f"  aupr {aupr['1']['aupr']:.4f}\n" in out
    rows = read_rows(run / "evaluation_test" / "cases.csv")
    masks = {c: drive(drive_root, "test").load(c).fov.sum() for c in ("01", "02")}
    assert {c: int(r["scored_voxels"]) for c, r in rows.items()} == masks
    # --no-aupr: the pooled counts and scores without the AP (nor its memory).
    args = ["evaluate", str(run), "--split", "test", "--checkpoint", "last", "--no-aupr"]
    assert main([*args, "--output", str(tmp_path / "no-aupr")]) == 0
    assert " aupr " not in capsys.readouterr().out
    summary = json.loads((tmp_path / "no-aupr" / "summary.json").read_text())
    assert "aupr" not in summary["pixel_level"]["1"] and "dice" in summary["pixel_level"]["1"]


def test_test_split_errors_are_one_line(tiny_config, drive_root, tmp_path, capsys):
    synthetic = train(tiny_config, name="synthetic")
    capsys.readouterr()  # training's epoch lines
    assert main(["evaluate", str(synthetic), "--split", "test", "--checkpoint", "last"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "boundaryloss evaluate: error: data.source: synthetic data has no test split"
    )
    no_labels = tmp_path / "no-labels"
    write_drive(no_labels, "training", ids=TRAINING_IDS)
    write_drive(no_labels, "test", ids=("01",))
    for path in (no_labels / "test" / "1st_manual").iterdir():
        path.unlink()
    (no_labels / "test" / "1st_manual").rmdir()
    run = train(tiny_config, "data.source=drive", f"data.root={drive_root}", name="d")
    capsys.readouterr()  # training's epoch lines
    argv = ["evaluate", str(run), "--split", "test", "--data", str(no_labels), "--checkpoint"]
    assert main([*argv, "last"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "01_test.tif: case 01 has no reference label to score (the test split" in err


def test_3d_test_split_is_predicted_with_sliding_windows(tiny_config, tmp_path, monkeypatch):
    from boundaryloss.data import DecathlonDataset
    from boundaryloss.evaluation import predict as predict_module

    root = tmp_path / "Dataset001_Fixture"
    ids = tuple(f"brain_{n:02d}" for n in range(1, 5))
    write_nnunet(root, ids=ids, shape=(16, 16, 12), test_ids=("brain_08", "brain_09"))
    run = train(
        tiny_config,
        "data.source=msd",
        f"data.root={root}",
        "data.num_classes=3",
        "data.normalization=zscore",
        "model.spatial_dims=3",
        "data.patch_size=[8, 8, 8]",
        name="3d",
    )
    windows = []
    original = predict_module.predict_case

    def spy(model, image, spatial_dims, slice_axis, window, **options):
        windows.append(window)
        return original(model, image, spatial_dims, slice_axis, window, **options)

    monkeypatch.setattr(predict_module, "predict_case", spy)
    with pytest.raises(ValueError, match=r"brain_08_0000\.nii\.gz: case brain_08 has no reference"):
        evaluate_run(run, split="test", checkpoint="last")
    write_nnunet(
        root, ids=ids, shape=(16, 16, 12), test_ids=("brain_08", "brain_09"), test_labels=True
    )
    summary = evaluate_run(run, split="test", checkpoint="last")
    assert windows[-1] == [8, 8, 8] and summary["fov"] == {"applied": False, "num_cases": 0}
    assert summary["spacing_unit"] == "mm"  # NIfTI: the header's voxel size
    assert json.loads((run / "summary.json").read_text())["spacing_unit"] == "mm"
    predictor = Predictor.from_checkpoint(run / "checkpoints" / "last.pt")
    case = DecathlonDataset(root, "test").load("brain_09")
    prediction = predictor.segment(case)
    with open(run / "evaluation_test" / "cases.csv", newline="") as handle:
        table = [r for r in csv.DictReader(handle) if r["case"] == "brain_09"]
    for row in table:
        cls = int(row["class"])
        p, r = prediction == cls, case.label == cls
        assert int(row["tp_voxels"]) == (p & r).sum() and row["fov"] == "no"
        assert int(row["scored_voxels"]) == prediction.size
        assert float(row["dice"]) == pytest.approx(2 * (p & r).sum() / (p.sum() + r.sum()))
    assert sorted(read_rows(run / "evaluation_test" / "cases.csv")) == ["brain_08", "brain_09"]


def test_a_split_without_cases_is_refused(tiny_config):
    run = train(tiny_config)  # synthetic cases: in px, so no unit to assume (not "mm")
    splits = RunDirectory(run).splits
    save_splits(splits, Split(train=load_splits(splits)[0].train, val=()))
    with pytest.raises(ValueError, match=r"^split 'val': no cases to evaluate$"):
        evaluate_run(run, split="val", checkpoint="last")
    assert not (run / "evaluation" / "summary.json").exists()
