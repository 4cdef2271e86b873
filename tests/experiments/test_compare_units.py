"""The comparison report gives HD95 and its miss penalty in the unit of the dataset's
spacing: px for 2D image files (a DRIVE folder of TIFF/GIF files), mm for NIfTI (an
MSD dataset), also when rebuilt from runs whose evaluations predate the unit; the lesion
table's volume difference follows it (a voxel count in px, ml in mm)."""

from __future__ import annotations

import copy
import json
import math
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import yaml

from boundaryloss.data import Case, DecathlonDataset, drive
from boundaryloss.experiments import compare, load_experiment, plots, run_compare
from boundaryloss.experiments.results import RunResult, diagonals
from boundaryloss.experiments.table import LESION_COLUMNS, LossStats
from boundaryloss.metrics.lesion import ABSOLUTE_VOLUME_UNITS
from tests.data.layouts import write_drive, write_msd_4d

from .conftest import TINY_BASE, recounted_lesion_differences, tiny_experiment

#: layout -> (data section, the unit its report must use, the other unit)
LAYOUTS = {
    "drive": ({"source": "drive", "num_classes": 2}, "px", "mm"),
    "msd": ({"source": "msd", "num_classes": 3}, "mm", "px"),
}
MSD_SHAPE = (16, 16, 6)
MSD_SPACING = (0.9, 0.8, 2.0)  # tests.data.layouts.affine


def _quiet(line: str) -> None:
    pass


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def compared(request, tmp_path_factory):
    """A finished miniature comparison on a tiny dataset in ``request.param``'s layout:
    ``(layout, data root, experiment YAML, output folder, result)``."""
    layout = request.param
    root = tmp_path_factory.mktemp(layout)
    data_root = root / "data"
    if layout == "drive":
        write_drive(data_root, "training", ids=("21", "22", "23", "24"))
    else:
        write_msd_4d(data_root, ids=tuple(f"case_{i:03d}" for i in range(4)), shape=MSD_SHAPE)
    data, _, _ = LAYOUTS[layout]
    base = copy.deepcopy(TINY_BASE)
    base["data"] = {**data, "root": str(data_root), "val_fraction": 0.25, "batch_size": 2}
    path = root / "experiment.yaml"
    path.write_text(yaml.safe_dump(tiny_experiment(output_dir=str(root), base=base)))
    result = run_compare(load_experiment(path), log=_quiet)
    return layout, data_root, path, root / "tiny", result


def test_report_gives_hd95_in_the_datasets_unit(compared):
    layout, _, _, output, result = compared
    _, unit, other = LAYOUTS[layout]
    assert f"HD95 {unit} (class 1)" in result.table_text
    md = (output / "report.md").read_text()
    page = (output / "report.html").read_text()
    for text in (md, page):
        assert f"HD95 {unit} (class 1)" in text
        assert f"image diagonal ({unit})" in text
        assert f"Validation Dice and HD95 ({unit}) per epoch" in text
        assert f"HD95 {other}" not in text and f"({other})" not in text
    if unit == "px":
        assert "HD95 is in pixels (px): the dataset's images carry no physical" in md
    else:
        assert "HD95 is in mm." in md


def test_lesion_table_gives_the_volume_difference_in_that_unit(compared, tmp_path):
    """With ``report.lesion`` the AVD column is a voxel (here pixel) count for DRIVE's
    pixel spacing and millilitres for MSD's NIfTI volumes; the report text says which.
    Run on a copy of the comparison, so the other tests keep their evaluations."""
    layout, _, path, output, _ = compared
    unit = LAYOUTS[layout][1]
    shutil.copytree(output, tmp_path / output.name)
    data = yaml.safe_load(path.read_text())
    data["output_dir"] = str(tmp_path)
    data["report"]["lesion"] = True
    lesion_path = tmp_path / "lesion.yaml"
    lesion_path.write_text(yaml.safe_dump(data))
    lines: list[str] = []
    result = run_compare(load_experiment(lesion_path), log=lines.append)
    assert sum("skipped" in line for line in lines) == 2  # the runs are reused
    md = (tmp_path / output.name / "report.md").read_text()
    if unit == "px":
        column, other, title = "avd_voxels", "avd_ml", "AVD voxels"
        assert "AVD is the absolute volume difference in voxels (pixels in 2D)" in md
        per_voxel = 1.0
    else:
        column, other, title = "avd_ml", "avd_voxels", "AVD ml"
        assert "AVD is the absolute volume difference in ml." in md
        per_voxel = math.prod(MSD_SPACING) / 1000  # mm^3 per voxel, 1000 mm^3 per ml
    assert f"{title} (class 1)" in result.table_text and f"{title} (class 1)" in md
    # The lesion sizes of the recall-by-size tables: mm³ for MSD, pixels for DRIVE.
    size_unit = "pixels" if unit == "px" else "mm³"
    assert f"the reference lesions' sizes (in {size_unit})" in md
    assert {s.size_unit for s in result.screening} == {"pixels" if unit == "px" else "mm3"}
    assert "AVD ml" not in md if unit == "px" else "AVD voxels" not in md
    assert result.records and all(other not in record for record in result.records)
    for record in result.records:
        count = abs(record["pred_voxels"] - record["ref_voxels"])
        assert record[column] == pytest.approx(count * per_voxel, rel=1e-5)
    # The lesion-count difference, recounted from the runs' predictions (inside DRIVE's
    # field of view; 26-connected in MSD's 3D volumes).
    assert "lesion count diff. (class 1)" in result.table_text
    expected = recounted_lesion_differences(load_experiment(lesion_path))
    got = {
        (r["loss"], r["seed"], r["case"], r["class"]): r["lesion_count_difference"]
        for r in result.records
    }
    assert got == expected


def test_diagonals_are_in_that_unit(compared):
    """The miss penalty, written out: the diagonal in pixels, or in mm from the header."""
    layout, data_root, _, _, _ = compared
    if layout == "drive":
        cases = drive(data_root)
        expected = math.hypot(*cases[0].spatial_shape)
    else:
        cases = DecathlonDataset(data_root)
        expected = math.hypot(*(n * s for n, s in zip(MSD_SHAPE, MSD_SPACING, strict=True)))
    penalties, unit = diagonals(cases)
    assert unit == LAYOUTS[layout][1]
    assert penalties[cases.case_ids[0]] == pytest.approx(expected, rel=1e-6)


def test_report_rebuilt_from_runs_without_the_unit(compared):
    """Runs evaluated before the unit was recorded (no ``spacing_unit`` in their
    summaries) are reused as they are, and the report still has the unit."""
    layout, _, path, output, _ = compared
    _, unit, other = LAYOUTS[layout]
    summaries = [*output.glob("runs/*/seed0/summary.json")]
    summaries += output.glob("runs/*/seed0/evaluation/summary.json")
    assert len(summaries) == 4
    for summary in summaries:
        data = json.loads(summary.read_text())
        assert data.pop("spacing_unit") == unit
        summary.write_text(json.dumps(data))
    cases_csv = [p.stat().st_mtime_ns for p in output.glob("runs/*/seed0/evaluation/cases.csv")]
    lines: list[str] = []
    result = run_compare(load_experiment(path), log=lines.append)
    assert sum("skipped" in line for line in lines) == 2  # nothing retrained
    assert [p.stat().st_mtime_ns for p in output.glob("runs/*/seed0/evaluation/cases.csv")] == (
        cases_csv  # nor evaluated again
    )
    assert f"HD95 {unit} (class 1)" in result.table_text
    assert f"HD95 {other}" not in (output / "report.md").read_text()


@pytest.mark.parametrize("unit", ["mm", "px"])
def test_learning_curves_axis_names_the_unit(tmp_path, monkeypatch, unit):
    titles: list[str] = []

    def keep_titles(fig, path):
        titles.extend(ax.get_title() for ax in fig.axes)
        plots.pyplot().close(fig)

    monkeypatch.setattr(plots, "save_figure", keep_titles)
    history = [{"epoch": e, "val_dice_mean": 0.5, "val_hd95/1": 3.0} for e in (1, 2)]
    result = RunResult(SimpleNamespace(loss="gdl", seed=0), [], history, {}, ())
    plots.learning_curves([result], ["gdl"], tmp_path / "curves.png", unit)
    assert f"validation HD95 ({unit}; miss = image diagonal)" in titles


def test_mixed_units_are_refused():
    label = np.zeros((4, 4), np.int64)
    cases = [
        Case(name, label[None].astype(np.float32), label, (1.0, 1.0), spacing_unit=unit)
        for name, unit in (("a", "px"), ("b", "mm"))
    ]
    with pytest.raises(ValueError, match="different units"):
        diagonals(cases)


def _volume_sentence(*columns: str) -> str:
    return compare._volume_sentence([LossStats("loss", lesion={c: {} for c in columns})])


def test_volume_sentence_names_the_columns_unit():
    assert _volume_sentence("avd_ml", "lesion_f1") == (
        " AVD is the absolute volume difference in ml."
    )
    assert _volume_sentence("avd_voxels") == (
        " AVD is the absolute volume difference in voxels (pixels in 2D): the dataset's "
        "images carry no physical voxel size, so volumes are voxel counts."
    )
    assert _volume_sentence("lesion_f1") == "" and compare._volume_sentence([]) == ""


def test_volume_units_come_from_the_metrics_owner(monkeypatch):
    """The report's sentence and the table's headers take each volume difference's unit
    from metrics.lesion.ABSOLUTE_VOLUME_UNITS, not a copy of it."""
    monkeypatch.setattr(compare, "ABSOLUTE_VOLUME_UNITS", {"avd_ml": "millilitres"})
    assert _volume_sentence("avd_ml") == " AVD is the absolute volume difference in millilitres."
    titles = {key: title for key, title, *_ in LESION_COLUMNS}
    assert {key: titles[key] for key in ABSOLUTE_VOLUME_UNITS} == {
        key: f"AVD {unit}" for key, unit in ABSOLUTE_VOLUME_UNITS.items()
    }


@pytest.mark.parametrize(("metric", "name"), [("dice", "Dice"), ("aupr", "AUPR")])
def test_checkpoint_line_names_the_selection_metric(write_experiment, metric, name):
    """The report says which validation score chose the best checkpoint."""
    base = {**TINY_BASE, "train": {**TINY_BASE["train"], "selection_metric": metric}}
    line = compare._checkpoint_line(load_experiment(write_experiment(base=base)))
    assert f"(highest validation {name}, selected on the same validation cases" in line
    assert f"whose best validation {name} came at its last epoch" in line
