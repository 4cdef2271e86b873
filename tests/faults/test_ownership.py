"""A command replaces only what it wrote: runs, prepared datasets, label maps, reports.

Each refusal is one line and leaves every file as it was; each command still replaces
its own earlier output (and, where the rule says so, that of an older version).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from boundaryloss._ownership import FILE_RECORD, FOLDER_MARK, is_written_by
from boundaryloss.cli import main
from boundaryloss.data.io import write_nifti
from boundaryloss.evaluation.evaluate_run import evaluate_run

from .conftest import one_error_line, snapshot, train

# --- train --overwrite: only a run ------------------------------------------------------


def _looks_like_a_run(folder, kind: str) -> None:
    """A source tree or notes folder holding one of the files a run also holds."""
    (folder / "thesis.tex").write_text("years of work")
    if kind == "config.yaml":
        (folder / "config.yaml").write_text("name: my-project\n")
    elif kind == "splits.json":
        (folder / "splits.json").write_text('{"train": [], "val": []}')
    elif kind == "checkpoints/":
        (folder / "checkpoints").mkdir()
    elif kind == "config.yaml + checkpoints/last.pt":  # not a checkpoint of ours
        (folder / "config.yaml").write_text("name: my-project\n")
        (folder / "checkpoints").mkdir()
        (folder / "checkpoints" / "last.pt").write_bytes(b"someone else's weights")


@pytest.mark.parametrize(
    "kind", ["config.yaml", "splits.json", "checkpoints/", "config.yaml + checkpoints/last.pt"]
)
def test_overwrite_refuses_a_folder_that_only_looks_like_a_run(tmp_path, capsys, kind):
    project = tmp_path / "project"
    project.mkdir()
    _looks_like_a_run(project, kind)
    before = snapshot(tmp_path)
    assert train(tmp_path, "project", "--overwrite") == 1
    line = one_error_line(capsys)
    assert "holds no run made by boundaryloss train" in line and "--resume" not in line
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]


def test_a_run_is_marked_and_replaced_by_overwrite(tmp_path):
    assert train(tmp_path, "run", "train.seed=1") == 0
    mark = json.loads((tmp_path / "run" / FOLDER_MARK).read_text())
    assert mark["written_by"] == "boundaryloss train"
    assert train(tmp_path, "run", "--overwrite", "train.seed=2") == 0
    assert "seed: 2" in (tmp_path / "run" / "config.yaml").read_text()


def test_overwrite_replaces_a_run_of_a_version_before_the_mark(tmp_path):
    # Such a run has config.yaml and a checkpoints/last.pt that loads as ours.
    assert train(tmp_path, "run", "train.seed=1") == 0
    (tmp_path / "run" / FOLDER_MARK).unlink()
    assert train(tmp_path, "run", "--overwrite", "train.seed=2") == 0
    assert "seed: 2" in (tmp_path / "run" / "config.yaml").read_text()
    assert (tmp_path / "run" / FOLDER_MARK).is_file()


# --- train: a run name that is a symbolic link -------------------------------------


@pytest.mark.parametrize("extra", [["--overwrite"], []])
def test_a_run_name_that_is_a_symbolic_link_is_refused_before_training(tmp_path, capsys, extra):
    runs = tmp_path / "runs"
    if extra:  # the link points at a run: --overwrite would replace the link, not the run
        assert train(runs, "real") == 0
    else:  # at an empty folder: a new run would be swapped in over the link
        (runs / "real").mkdir(parents=True)
    (runs / "alias").symlink_to(runs / "real")
    before = snapshot(runs / "real")
    capsys.readouterr()
    assert train(runs, "alias", *extra) == 1
    assert f"name: {runs / 'alias'} is a symbolic link" in one_error_line(capsys)
    assert snapshot(runs / "real") == before
    assert sorted(p.name for p in runs.iterdir()) == ["alias", "real"]
    assert (runs / "alias").is_symlink()


def test_resuming_through_a_symbolic_link_still_works(tmp_path):
    runs = tmp_path / "runs"
    assert train(runs, "real") == 0
    (runs / "alias").symlink_to(runs / "real")
    assert train(runs, "alias", "--resume", "train.epochs=2") == 0
    assert "epochs: 2" in (runs / "real" / "config.yaml").read_text()


# --- prepare --overwrite: only a prepared dataset ---------------------------------------


def _kits19(tmp_path):
    from tests.data.prepare.layouts import make_kits19

    return make_kits19(tmp_path / "kits19")


def test_prepare_overwrite_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    src = _kits19(tmp_path)
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("years of work")
    # An nnU-Net raw dataset someone else made: a dataset.json, but not one of ours.
    (thesis / "dataset.json").write_text(json.dumps({"name": "Mine", "labels": {}}))
    before = snapshot(thesis)
    assert main(["prepare", "kits19", str(src), str(thesis), "--overwrite", "-q"]) == 1
    assert "holds no dataset written by boundaryloss prepare" in one_error_line(capsys)
    assert snapshot(thesis) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kits19", "thesis"]


def test_prepare_overwrite_replaces_its_own_dataset_and_one_of_an_older_version(tmp_path):
    src = _kits19(tmp_path)
    dst = tmp_path / "out"
    assert main(["prepare", "kits19", str(src), str(dst), "-q"]) == 0
    assert json.loads((dst / FOLDER_MARK).read_text())["written_by"] == "boundaryloss prepare"
    (dst / "stale.txt").write_text("from the old dataset")
    assert main(["prepare", "kits19", str(src), str(dst), "--overwrite", "-q"]) == 0
    assert not (dst / "stale.txt").exists()
    # An older version wrote no mark; its dataset.json names boundaryloss as the preparer.
    (dst / FOLDER_MARK).unlink()
    (dst / "stale.txt").write_text("from the old dataset")
    assert main(["prepare", "kits19", str(src), str(dst), "--overwrite", "-q"]) == 0
    assert not (dst / "stale.txt").exists()


def test_prepare_into_a_symbolic_link_is_refused(tmp_path, capsys):
    src = _kits19(tmp_path)
    real = tmp_path / "real"
    assert main(["prepare", "kits19", str(src), str(real), "-q"]) == 0
    (tmp_path / "alias").symlink_to(real)
    before = snapshot(real)
    assert main(["prepare", "kits19", str(src), str(tmp_path / "alias"), "--overwrite"]) == 1
    assert "symbolic link" in one_error_line(capsys)
    assert snapshot(real) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias", "kits19", "real"]


# --- predict: never another tool's file -------------------------------------------------


def _scans_and_references(tmp_path):
    rng = np.random.default_rng(1)
    scans, references = tmp_path / "imagesTs", tmp_path / "labelsTs"
    scans.mkdir()
    references.mkdir()
    for name in ("a.nii.gz", "b.nii.gz"):
        write_nifti(scans / name, rng.random((20, 24, 3)).astype(np.float32))
        write_nifti(references / name, (rng.random((20, 24, 3)) > 0.5).astype(np.uint8))
    return scans, references


def test_predict_never_replaces_reference_labels_of_the_same_name(trained, tmp_path, capsys):
    scans, references = _scans_and_references(tmp_path)
    before = snapshot(references)
    for extra in ([], ["--overwrite"]):
        assert main(["predict", str(trained), str(scans), str(references), *extra]) == 1
        line = one_error_line(capsys)
        assert "a.nii.gz: exists and was not written by boundaryloss predict" in line
        assert snapshot(references) == before


def test_predict_replaces_its_own_label_maps_only_with_overwrite(trained, tmp_path, capsys):
    scans, _ = _scans_and_references(tmp_path)
    out = tmp_path / "predictions"
    assert main(["predict", str(trained), str(scans), str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [FILE_RECORD, "a.nii.gz", "b.nii.gz"]
    first = snapshot(out)
    capsys.readouterr()
    assert main(["predict", str(trained), str(scans), str(out)]) == 1
    assert "pass --overwrite" in one_error_line(capsys)
    assert snapshot(out) == first
    assert main(["predict", str(trained), str(scans), str(out), "--overwrite"]) == 0
    # A label map the user replaced since is no longer predict's: refused even then.
    (out / "b.nii.gz").write_bytes((tmp_path / "labelsTs" / "b.nii.gz").read_bytes())
    before = snapshot(out)
    capsys.readouterr()
    assert main(["predict", str(trained), str(scans), str(out), "--overwrite"]) == 1
    assert "b.nii.gz: exists and was not written" in one_error_line(capsys)
    assert snapshot(out) == before


# --- evaluate and compare: files of their names are not enough --------------------------


def _foreign_evaluation(folder) -> None:
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"tool": "another", "dice": 0.9}))
    (folder / "cases.csv").write_text("id,score\n1,0.9\n")


def test_evaluate_never_replaces_another_tools_files_of_its_names(trained, tmp_path, capsys):
    run = trained.parent.parent
    output = tmp_path / "theirs"
    _foreign_evaluation(output)
    before = snapshot(output)
    assert main(["evaluate", str(run), "--checkpoint", "last", "--output", str(output)]) == 1
    line = one_error_line(capsys)
    assert f"output {output}: holds files an evaluation did not write" in line
    assert "cases.csv" in line and "summary.json" in line
    assert snapshot(output) == before


def test_evaluate_replaces_its_own_files_and_those_of_an_older_version(trained, tmp_path):
    run = trained.parent.parent
    output = tmp_path / "evaluation"
    args = ["evaluate", str(run), "--checkpoint", "last", "--output", str(output)]
    assert main(args) == 0
    assert main(args) == 0  # its own files, recorded
    (output / FILE_RECORD).unlink()  # as an older version left them
    assert main(args) == 0
    # An edited table is not the evaluation's any more.
    (output / "cases.csv").write_text("case,class\nmine,1\n")
    with pytest.raises(ValueError, match=r"did not write \(cases.csv\)"):
        evaluate_run(run, checkpoint="last", output=output)


def test_the_lesion_list_is_written_removed_and_refused_as_the_evaluations_own(
    trained, tmp_path, capsys
):
    """``evaluate --lesion`` writes ``lesions.csv`` beside its other files and records it;
    an evaluation without ``--lesion`` removes its own earlier list (which would not
    match the new summary); an edited or another tool's ``lesions.csv`` is refused."""
    run = trained.parent.parent
    output = tmp_path / "evaluation"
    args = ["evaluate", str(run), "--checkpoint", "last", "--output", str(output)]
    assert main([*args, "--lesion"]) == 0
    assert is_written_by(output / "lesions.csv", "boundaryloss evaluate")
    assert main([*args, "--lesion"]) == 0  # its own list, replaced
    assert main(args) == 0
    assert not (output / "lesions.csv").exists()
    assert main([*args, "--lesion"]) == 0
    with open(output / "lesions.csv", "a") as handle:
        handle.write("mine,1,reference,9,1,1.0,voxels,1\n")
    before = snapshot(output)
    capsys.readouterr()
    for extra in ([], ["--lesion"]):
        assert main([*args, *extra]) == 1
        line = one_error_line(capsys)
        assert f"output {output}: holds files an evaluation did not write (lesions.csv)" in line
        assert snapshot(output) == before
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "lesions.csv").write_text("lesion,size\n1,4\n")
    assert main(["evaluate", str(run), "--checkpoint", "last", "--output", str(theirs)]) == 1
    assert "did not write (lesions.csv)" in one_error_line(capsys)


def test_compare_never_replaces_another_tools_files_of_its_names(tmp_path, capsys):
    from tests.experiments.conftest import tiny_experiment

    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(tiny_experiment(output_dir=str(tmp_path))))
    for where in ("top", "figures"):
        theirs = tmp_path / f"theirs-{where}"
        if where == "top":
            theirs.mkdir()
            (theirs / "report.md").write_text("my report")
            (theirs / "cases.csv").write_text("my table")
        else:
            (theirs / "figures").mkdir(parents=True)
            (theirs / "figures" / "overlays.png").write_bytes(b"my figure")
        before = snapshot(theirs)
        assert main(["compare", "--config", str(path), "--output", str(theirs)]) == 1
        line = one_error_line(capsys)
        assert "holds files a comparison did not write" in line
        assert snapshot(theirs) == before
        assert not (theirs / "runs").exists()


# --- the one test of "is this file ours" ------------------------------------------------


def test_a_file_is_ours_only_while_its_content_is_what_was_recorded(tmp_path):
    from boundaryloss._ownership import is_written_by, record_written

    path = tmp_path / "summary.json"
    path.write_text('{"dice": 0.5}')
    assert not is_written_by(path, "boundaryloss evaluate")  # not recorded
    record_written([path], "boundaryloss evaluate")
    assert is_written_by(path, "boundaryloss evaluate")
    assert not is_written_by(path, "boundaryloss compare")  # another command's
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / FILE_RECORD).write_bytes((tmp_path / FILE_RECORD).read_bytes())
    (copy / "summary.json").write_bytes(path.read_bytes())
    assert is_written_by(copy / "summary.json", "boundaryloss evaluate")  # a copied folder
    path.write_text('{"dice": 0.9}')  # replaced by someone else since
    assert not is_written_by(path, "boundaryloss evaluate")
    (tmp_path / "link.json").symlink_to(copy / "summary.json")
    assert not is_written_by(tmp_path / "link.json", "boundaryloss evaluate")
    marked = tmp_path / "marked.json"
    marked.write_text('{"written_by": "boundaryloss evaluate-folder"}')
    assert is_written_by(marked, "boundaryloss evaluate-folder")  # a self-marked JSON
