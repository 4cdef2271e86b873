"""A miniature ``compare``: report contents, the gradient-sign check, resumption."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil

import numpy as np
import pytest
import yaml

from boundaryloss.cli import main
from boundaryloss.experiments import load_experiment, run_compare
from boundaryloss.training.engine import Trainer

from .conftest import recounted_lesion_differences, tiny_experiment


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished miniature comparison, run through the command line:
    ``(root folder, experiment YAML, printed output)``."""
    root = tmp_path_factory.mktemp("compare")
    path = root / "experiment.yaml"
    path.write_text(yaml.safe_dump(tiny_experiment(output_dir=str(root))))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["compare", "--config", str(path), "--threads", "1"]) == 0
    return root, path, out.getvalue()


def test_compare_writes_report(finished):
    root, _, out = finished
    assert "Dice (class 1)" in out and "HD95 px (class 2)" in out  # synthetic: pixels
    assert str(root / "tiny" / "report.html") in out

    output = root / "tiny"
    page = (output / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 5  # every figure embedded
    assert 'src="figures/' not in page  # nothing external
    assert "<table" in page and "<b>" in page  # the results table, best in bold
    assert "Gradient-sign diagnostic" in page

    md = (output / "report.md").read_text()
    assert "| gdl |" in md and "| rrw |" in md
    for name in re.findall(r"\]\((figures/[^)]+\.png)\)", md):
        assert (output / name).is_file()
    assert len(re.findall(r"\]\((figures/[^)]+\.png)\)", md)) >= 5
    for run in ("gdl", "rrw"):
        checkpoints = output / "runs" / run / "seed0" / "checkpoints"
        assert (checkpoints / "epoch0001.pt").is_file() and (checkpoints / "epoch0002.pt").is_file()
        assert (output / "runs" / run / "seed0" / "evaluation" / "cases.csv").is_file()
    assert (output / "cases.csv").is_file()


def test_gradient_sign_rrw_is_zero(finished):
    _, path, _ = finished
    result = run_compare(load_experiment(path), log=lambda line: None)
    rows = result.gradient_rows
    assert {(r["loss"], r["epoch"]) for r in rows} == {
        (loss, epoch) for loss in ("gdl", "rrw") for epoch in (1, 2)
    }
    rrw = [r["share"] for r in rows if r["map"] == "rrw"]
    boundary = [r["share"] for r in rows if r["map"] == "boundary"]
    assert rrw and all(share == 0 for share in rrw)  # the stability principle
    assert max(boundary) > 0  # three classes: signed distance maps break it


def test_resume_skips_finished_and_resumes_interrupted(finished, monkeypatch):
    _, path, _ = finished
    calls = []
    original = Trainer.fit

    def counting_fit(self):
        calls.append((str(self.run_dir.relative_to(self.run_dir.parents[1])), self.resume))
        return original(self)

    monkeypatch.setattr(Trainer, "fit", counting_fit)
    experiment = load_experiment(path)
    lines = []
    run_compare(experiment, log=lines.append)
    assert calls == []
    assert sum("skipped" in line for line in lines) == 2

    # An interrupted run: a last checkpoint but no summary.
    (experiment.output / "runs" / "rrw" / "seed0" / "summary.json").unlink()
    run_compare(experiment, log=lines.append)
    assert calls == [("rrw/seed0", True)]


def test_changed_configuration_is_not_reused(finished):
    _, path, _ = finished
    text = path.read_text().replace("epochs: 2", "epochs: 3")
    changed = path.with_name("changed.yaml")
    changed.write_text(text)
    with pytest.raises(ValueError, match=r"train\.epochs"):
        run_compare(load_experiment(changed), log=lambda line: None)


def test_lesion_report_reuses_runs_and_adds_lesion_columns(finished):
    _, path, _ = finished
    data = yaml.safe_load(path.read_text())
    data["report"]["lesion"] = True
    lesion_path = path.with_name("lesion.yaml")
    lesion_path.write_text(yaml.safe_dump(data))
    result = run_compare(load_experiment(lesion_path), log=lambda line: None)
    assert "lesion F1 (class 2)" in result.table_text
    assert "lesion recall (class 1)" in result.table_text
    # Synthetic data: spacing in px, so the volume difference is a pixel count.
    assert "AVD voxels (class 1)" in result.table_text and "AVD ml" not in result.table_text
    md = result.markdown.read_text()
    assert "AVD is the absolute volume difference in voxels (pixels in 2D)" in md
    assert "in ml" not in md
    f1 = result.statistics[1].lesion["lesion_f1"][1]
    assert f1.pvalue is not None and f1.ci is not None and f1.ci[0] <= f1.mean <= f1.ci[1]
    assert all("lesion_f1" in record for record in result.records)
    # Every synthetic validation image holds both classes: no lesion-free image, so the
    # false-positive rate per lesion-free image is undefined, and says so.
    assert all(record["ref_voxels"] > 0 for record in result.records)
    assert "n/a (no lesion-free image in the split)" in md
    assert "Lesion-free validation images (reference without the class): class 1: 0" in md


def test_lesion_report_shows_the_lesion_count_difference(finished):
    """The lesion-count difference of every (run, case, class) is the recount of the
    components of the run's prediction and of the reference, and its column's mean
    is theirs."""
    _, path, _ = finished
    data = yaml.safe_load(path.read_text())
    data["report"]["lesion"] = True
    lesion_path = path.with_name("lesion.yaml")
    lesion_path.write_text(yaml.safe_dump(data))
    experiment = load_experiment(lesion_path)
    result = run_compare(experiment, log=lambda line: None)
    for cls in (1, 2):
        assert f"lesion count diff. (class {cls})" in result.table_text
        assert f"lesion count diff. (class {cls})" in result.markdown.read_text()
    assert "|lesions(prediction) - lesions(reference)|" in result.markdown.read_text()
    expected = recounted_lesion_differences(experiment)
    got = {
        (r["loss"], r["seed"], r["case"], r["class"]): r["lesion_count_difference"]
        for r in result.records
    }
    assert got == expected
    assert any(value > 0 for value in expected.values())  # not all trivially 0
    for s in result.statistics:
        for cls in (1, 2):
            values = [v for (loss, _, _, c), v in expected.items() if (loss, c) == (s.loss, cls)]
            column = s.lesion["lesion_count_difference"][cls]
            assert column.mean == pytest.approx(np.mean(values))
            assert column.ci is not None and column.n == len(values)


def test_lesion_report_from_evaluations_without_the_count_difference(finished, tmp_path):
    """An evaluation whose cases.csv has no lesion_count_difference column is reused as
    it is: the report leaves that column out and keeps the other lesion columns. Run
    on a copy of the comparison, so the other tests keep their evaluations."""
    root, path, _ = finished
    shutil.copytree(root / "tiny", tmp_path / "tiny")
    data = yaml.safe_load(path.read_text())
    data["output_dir"] = str(tmp_path)
    data["report"]["lesion"] = True
    data["report"]["last_epoch"] = False
    lesion_path = tmp_path / "lesion.yaml"
    lesion_path.write_text(yaml.safe_dump(data))
    run_compare(load_experiment(lesion_path), log=lambda line: None)
    # The reference run first: its rows lead the report's cases.csv.
    old = tmp_path / "tiny" / "runs" / "gdl" / "seed0" / "evaluation" / "cases.csv"
    with open(old, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        del row["lesion_count_difference"]
    with open(old, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    written = old.read_text()
    # As the versions before it wrote it: a summary without the CSV's checksum.
    summary_path = old.with_name("summary.json")
    summary = json.loads(summary_path.read_text())
    del summary["cases"]
    summary_path.write_text(json.dumps(summary))
    experiment = load_experiment(lesion_path)
    result = run_compare(experiment, log=lambda line: None)
    assert old.read_text() == written  # not evaluated again
    assert "lesion count diff." not in result.table_text
    assert "lesion F1 (class 1)" in result.table_text
    assert "lesion_count_difference" not in result.statistics[0].lesion
    with open(tmp_path / "tiny" / "cases.csv", newline="") as handle:
        report_rows = list(csv.DictReader(handle))
    expected = recounted_lesion_differences(experiment)
    for row in report_rows:
        value = row["lesion_count_difference"]
        if row["loss"] == "gdl":
            assert value == ""  # empty where the evaluation lacks it
        else:  # the other run's own evaluation, kept as it was
            key = (row["loss"], int(row["seed"]), row["case"], int(row["class"]))
            assert float(value) == expected[key]
    assert {row["loss"] for row in report_rows} == {"gdl", "rrw"}


def _copy_of(finished, folder):
    """The finished comparison copied into ``folder``: the path of its experiment YAML."""
    root, path, _ = finished
    shutil.copytree(root / "tiny", folder / "tiny")
    data = yaml.safe_load(path.read_text())
    data["output_dir"] = str(folder)
    copy = folder / "experiment.yaml"
    copy.write_text(yaml.safe_dump(data))
    return copy


def test_losses_subset_reuses_runs_and_reports_only_them(finished, tmp_path):
    """``compare --losses gdl`` on a copy of the comparison: no training, a report of
    gdl alone that says which losses were left out."""
    subset_path = _copy_of(finished, tmp_path)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["compare", "--config", str(subset_path), "--losses", "gdl"]) == 0
    assert "(left out: rrw)" in err.getvalue()
    assert "finished earlier, skipped" in err.getvalue() and "training ->" not in err.getvalue()
    md = (tmp_path / "tiny" / "report.md").read_text()
    assert "| gdl |" in md and "| rrw |" not in md
    assert "left out by --losses: rrw" in md


@pytest.mark.parametrize("change", [{"split": "all"}, {"mirror": True}, {"data_root": "x"}])
def test_an_evaluation_of_other_settings_is_not_reused(finished, tmp_path, change):
    """``evaluate RUN --split all`` (or with mirroring) writes the folder compare reads:
    compare must not report it as the validation evaluation."""
    from boundaryloss.evaluation.evaluate_run import evaluate_run
    from boundaryloss.experiments.results import cached, evaluate, evaluation_folders

    copy = _copy_of(finished, tmp_path)
    spec = load_experiment(copy).runs[0]
    evaluate(spec, "best")  # compare's own evaluation of the copy
    assert cached(spec, "best") is not None
    folder = evaluation_folders(spec, "best", primary=True)[0]
    if "data_root" in change:  # as `evaluate RUN --data OTHER` records it (synthetic
        summary = folder / "summary.json"  # runs read no root, so edit the record)
        saved = json.loads(summary.read_text())
        summary.write_text(json.dumps({**saved, "data_root": "/elsewhere/hippocampus"}))
        assert cached(spec, "best") is None
        return
    settings = {"split": "val", "mirror": None, **change}
    evaluate_run(spec.run_dir, checkpoint="best", output=folder, missing="inf", **settings)
    assert cached(spec, "best") is None
