"""``evaluate_run(..., lesion=True)``: the absolute volume difference is in the unit of
the cases' spacing — a voxel count for synthetic 3D volumes (spacing in px), never
millilitres computed from pixel widths; millilitres for NIfTI volumes (spacing in mm) —
and so are the lesion sizes of ``lesions.csv`` (voxels, mm³), recomputed here from the
predictions (components by ``scipy.ndimage.label``, 26-connected)."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from scipy import ndimage

from boundaryloss.cli import main
from boundaryloss.data.splits import load_splits, select_cases
from boundaryloss.evaluation.evaluate_run import evaluate_run
from boundaryloss.evaluation.predict import Predictor
from boundaryloss.training.data import build_cases
from boundaryloss.training.engine import Trainer
from boundaryloss.training.run_dir import RunDirectory
from tests.data.layouts import write_nnunet
from tests.tiny_runs import TINY_PATCHES

#: source -> (spacing unit, the volume difference's column, its unit, the other column)
SOURCES = {
    "synthetic": ("px", "avd_voxels", "voxels", "avd_ml"),
    "msd": ("mm", "avd_ml", "ml", "avd_voxels"),
}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_volume_difference_follows_the_spacing_unit(source, tiny_config, tmp_path, capsys):
    unit, column, volume_unit, other = SOURCES[source]
    overrides = [*TINY_PATCHES[3], "train.epochs=1", "data.val_fraction=0.34"]
    if source == "msd":
        root = tmp_path / "Dataset001_Fixture"
        write_nnunet(root, ids=tuple(f"brain_{n:02d}" for n in range(1, 7)), shape=(16, 16, 12))
        overrides += [
            "data.source=msd",
            f"data.root={root}",
            "data.num_classes=3",
            "data.normalization=zscore",
        ]
    config = tiny_config(*overrides, name=source)
    Trainer(config).fit()
    run = config.run_dir
    output = tmp_path / "lesion"
    summary = evaluate_run(run, checkpoint="last", output=output, lesion=True)
    assert summary["spacing_unit"] == unit and summary["volume_difference"] == column
    assert json.loads((output / "summary.json").read_text())["volume_difference"] == column
    assert column in summary["metrics"] and other not in summary["metrics"]
    with open(output / "cases.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(other not in row for row in rows)

    predictor = Predictor.from_checkpoint(run / "checkpoints" / "last.pt")
    val_ids = load_splits(RunDirectory(run).splits)[0].val
    by_key = {(row["case"], int(row["class"])): row for row in rows}
    differences = []
    listed = []
    for case in select_cases(build_cases(config.data), val_ids):
        assert case.ndim == 3 and case.spacing_unit == unit
        prediction = predictor.segment(case)
        # ml: voxels of prod(spacing) mm^3, 1000 mm^3 per ml; voxels: the count itself.
        per_voxel = math.prod(case.spacing) / 1000 if unit == "mm" else 1.0
        for cls in range(1, config.data.num_classes):
            count = abs(int((prediction == cls).sum()) - int((case.label == cls).sum()))
            value = float(by_key[(case.case_id, cls)][column])
            assert value == pytest.approx(count * per_voxel)
            differences.append(count)
            listed += _recounted_lesions(case, prediction, cls, unit)
    assert any(differences)  # the comparison above compared something
    with open(output / "lesions.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == len(listed) and any(row[2] == "reference" for row in listed)
    for row, (case_id, cls, source, index, voxels, size, size_unit, hit) in zip(
        written, listed, strict=True
    ):
        assert (row["case"], int(row["class"]), row["source"], int(row["lesion"])) == (
            case_id,
            cls,
            source,
            index,
        )
        assert int(row["voxels"]) == voxels and row["size_unit"] == size_unit
        assert float(row["size"]) == pytest.approx(size, rel=1e-12)
        assert int(row["matched"]) == hit
    class_1 = [float(row[column]) for row in rows if row["class"] == "1"]
    assert summary["metrics"][column][1]["mean"] == pytest.approx(np.mean(class_1))

    capsys.readouterr()
    args = ["evaluate", str(run), "--checkpoint", "last", "--lesion", "--output", str(output)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"distances (hd, hd95, assd) in {unit}; {column} in {volume_unit}" in printed


def _recounted_lesions(case, prediction, cls: int, unit: str) -> list[tuple]:
    """The rows ``lesions.csv`` must hold for one case and class: reference lesions, then
    predicted ones, each numbered as ``scipy.ndimage.label`` numbers them; sizes in mm³
    (voxels times the spacing's product) for spacing in mm, the voxel count in px."""
    structure = np.ones((3, 3, 3), bool)
    ref, pred = np.asarray(case.label) == cls, prediction == cls
    per_voxel = math.prod(case.spacing) if unit == "mm" else 1.0
    size_unit = "mm3" if unit == "mm" else "voxels"
    rows = []
    for source, mine, other in (("reference", ref, pred), ("prediction", pred, ref)):
        labels, count = ndimage.label(mine, structure)
        for k in range(1, count + 1):
            voxels = int((labels == k).sum())
            hit = int(((labels == k) & other).any())
            rows.append((case.case_id, cls, source, k, voxels, voxels * per_voxel, size_unit, hit))
    return rows


def test_screening_summary_recounted_on_idrid_with_lesion_free_images(tmp_path, capsys):
    """``evaluate --lesion`` on IDRiD-layout microaneurysms, every other image lesion-free:
    pooled lesion scores, false lesions per lesion-free image and the Dice over the images
    with lesions, recounted here from the predictions (8-connected components, scipy)."""
    from boundaryloss.data import idrid
    from boundaryloss.data.fov import restrict_case_to_fov
    from tests.data.layouts import write_idrid
    from tests.tiny_runs import TINY

    ids = tuple(f"IDRiD_{n:02d}" for n in range(1, 9))
    root = tmp_path / "IDRiD"
    write_idrid(
        root, ids=ids, lesions=("1. Microaneurysms/MA",), missing=[(i, "MA") for i in ids[::2]]
    )
    argv = ["train", f"output_dir={tmp_path}", "name=ma", *TINY[:1], *TINY[4:]]
    argv += ["data.source=idrid", f"data.root={root}", "data.idrid.lesion=MA", "data.batch_size=2"]
    argv += ["data.val_fraction=0.5"]
    assert main(argv) == 0
    run = tmp_path / "ma"
    assert main(["evaluate", str(run), "--checkpoint", "last", "--lesion"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((run / "evaluation" / "summary.json").read_text())
    screening = summary["screening"]["1"]

    val = load_splits(run / "splits.json")[0].val
    cases = select_cases(idrid(root, "MA"), val)
    predictor = Predictor.from_checkpoint(run / "checkpoints" / "last.pt")
    eight = np.ones((3, 3), bool)
    ref_total = detected = pred_total = true_pred = free = free_false = 0
    dice_with, avd_with = [], []
    for case in cases:
        prediction, reference = restrict_case_to_fov(
            predictor.segment(case), case.label, case.fov, case.case_id
        )
        p, r = prediction == 1, reference == 1
        ref_labels, n_ref = ndimage.label(r, eight)
        pred_labels, n_pred = ndimage.label(p, eight)
        ref_total += n_ref
        pred_total += n_pred
        detected += sum(bool((p & (ref_labels == k)).any()) for k in range(1, n_ref + 1))
        true_pred += sum(bool((r & (pred_labels == k)).any()) for k in range(1, n_pred + 1))
        if n_ref == 0:
            free += 1
            free_false += n_pred
        else:
            dice_with.append(2 * (p & r).sum() / (p.sum() + r.sum()))
            avd_with.append(100 * abs(int(p.sum()) - int(r.sum())) / r.sum())
    assert free == screening["lesion_free_cases"] >= 1
    assert screening["reference_lesions"] == ref_total > 0
    assert screening["detected_lesions"] == detected
    assert screening["predicted_lesions"] == pred_total
    assert screening["false_lesions_per_free_case"] == pytest.approx(free_false / free)
    assert screening["lesion_recall"] == pytest.approx(detected / ref_total)
    if pred_total:
        assert screening["lesion_precision"] == pytest.approx(true_pred / pred_total)
    assert screening["dice_lesion_cases"] == pytest.approx(np.mean(dice_with))
    assert screening["avd_percent_lesion_cases"] == pytest.approx(np.mean(avd_with))
    assert "false lesions per lesion-free image" in printed
