"""No command may lose a user's data: inputs, old runs, or another process's run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from boundaryloss._ownership import record_written
from boundaryloss.cli import main
from boundaryloss.data.io import write_image_2d, write_nifti
from boundaryloss.experiments.comparison_folder import ComparisonFolder
from boundaryloss.training import engine as engine_module

from .conftest import one_error_line, snapshot, train


def _scans(folder):
    rng = np.random.default_rng(1)
    write_nifti(folder / "a.nii.gz", rng.random((20, 24, 3)).astype(np.float32))
    write_nifti(folder / "b.nii.gz", rng.random((20, 24, 3)).astype(np.float32))
    return folder


# --- predict ----------------------------------------------------------------------------


def test_predict_into_its_input_folder_is_refused(trained, tmp_path, capsys):
    scans = _scans(tmp_path / "scans")
    before = snapshot(scans)
    assert main(["predict", str(trained), str(scans), str(scans)]) == 1
    assert "input folder" in one_error_line(capsys)
    assert snapshot(scans) == before


def test_predict_onto_its_input_file_is_refused(trained, tmp_path, capsys):
    scans = _scans(tmp_path / "scans")
    before = snapshot(scans)
    source = str(scans / "a.nii.gz")
    assert main(["predict", str(trained), source, source]) == 1
    assert "would replace the input" in one_error_line(capsys)
    assert snapshot(scans) == before


def test_predict_two_inputs_onto_one_output_is_refused(trained, tmp_path, capsys):
    scans = _scans(tmp_path / "scans")
    (scans / "b.nii.gz").rename(scans / "a.nii")  # a.nii and a.nii.gz -> a.nii.gz
    assert main(["predict", str(trained), str(scans), str(tmp_path / "out")]) == 1
    assert "both" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_predict_checks_every_input_before_writing(trained, tmp_path, capsys):
    scans = _scans(tmp_path / "scans")
    write_nifti(scans / "c_2d.nii.gz", np.zeros((5,), dtype=np.float32))  # 1D: unreadable
    write_image_2d(scans / "d.png", np.zeros((20, 24), dtype=np.uint8))
    out = tmp_path / "out"
    assert main(["predict", str(trained), str(scans), str(out)]) == 1
    assert "c_2d.nii.gz" in one_error_line(capsys)
    assert not out.exists()  # all outputs or none


def test_predict_failure_midway_leaves_no_output(trained, tmp_path, monkeypatch, capsys):
    from boundaryloss.evaluation.predict import Predictor

    scans = _scans(tmp_path / "scans")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    calls = {"n": 0}
    original = Predictor.probabilities

    def fails_on_second(self, case):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValueError(f"{case.case_id}: simulated failure")
        return original(self, case)

    monkeypatch.setattr(Predictor, "probabilities", fails_on_second)
    assert main(["predict", str(trained), str(scans), str(out)]) == 1
    one_error_line(capsys)
    assert snapshot(out) == {"keep.txt": b"mine"}


@pytest.mark.parametrize("probabilities", [False, True])
def test_predict_failure_midway_leaves_no_output_with_probabilities(
    trained, tmp_path, monkeypatch, capsys, probabilities
):
    """The first case's label and probability maps are written before the second case
    fails: neither is left, nor is the folder this call created."""
    from boundaryloss.evaluation.predict import Predictor

    scans = _scans(tmp_path / "scans")
    out = tmp_path / "out"
    calls = {"n": 0}
    original = Predictor.probabilities

    def fails_on_second(self, case):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ValueError(f"{case.case_id}: simulated failure")
        return original(self, case)

    monkeypatch.setattr(Predictor, "probabilities", fails_on_second)
    flag = ["--probabilities"] if probabilities else []
    assert main(["predict", str(trained), str(scans), str(out), *flag]) == 1
    one_error_line(capsys)
    assert calls["n"] == 2 and not out.exists()


def test_predict_probabilities_onto_the_input_file_are_refused(trained, tmp_path, capsys):
    # The labels of scans/a.probabilities.nii.gz go to scans/a.nii.gz: their
    # probabilities would replace the input itself.
    scans = _scans(tmp_path / "scans")
    (scans / "a.nii.gz").rename(scans / "a.probabilities.nii.gz")
    before = snapshot(scans)
    source, target = scans / "a.probabilities.nii.gz", scans / "a.nii.gz"
    args = ["predict", str(trained), str(source), str(target), "--probabilities"]
    assert main(args) == 1
    assert "would replace the input" in one_error_line(capsys)
    assert snapshot(scans) == before


def test_predict_probabilities_onto_another_label_map_are_refused(trained, tmp_path, capsys):
    # Inputs a.nii.gz and a.probabilities.nii.gz: the first one's probability map and the
    # second one's label map would both be out/a.probabilities.nii.gz.
    scans = _scans(tmp_path / "scans")
    (scans / "b.nii.gz").rename(scans / "a.probabilities.nii.gz")
    assert main(["predict", str(trained), str(scans), str(tmp_path / "out")]) == 0
    out = tmp_path / "out2"
    assert main(["predict", str(trained), str(scans), str(out), "--probabilities"]) == 1
    assert "both" in one_error_line(capsys)
    assert not out.exists()


# --- run names --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["..", "", ".", "../x", "a/b", "/abs"])
def test_run_name_must_be_one_path_component(tmp_path, capsys, name):
    output = tmp_path / "runs"
    assert train(output, "victim") == 0
    (tmp_path / "precious.txt").write_text("do not delete")
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert train(output, name, "--overwrite") == 1
    assert "name:" in one_error_line(capsys)
    assert snapshot(tmp_path) == before


# --- --overwrite ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        ["optim.lr=-1"],
        ["data.source=msd", "data.root=/nonexistent/boundaryloss"],
        ["train.val_every=0"],
    ],
)
def test_overwrite_with_a_bad_setting_keeps_the_old_run(tmp_path, capsys, bad):
    assert train(tmp_path, "run") == 0
    before = snapshot(tmp_path / "run")
    capsys.readouterr()
    assert train(tmp_path, "run", "--overwrite", *bad) == 1
    one_error_line(capsys)
    assert snapshot(tmp_path / "run") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_overwrite_failing_before_its_first_checkpoint_keeps_the_old_run(
    tmp_path, capsys, monkeypatch
):
    assert train(tmp_path, "run") == 0
    before = snapshot(tmp_path / "run")

    def broken(self, batch, epoch, step):
        raise ValueError("simulated failure in the first step")

    monkeypatch.setattr(engine_module.Trainer, "_train_step", broken)
    assert train(tmp_path, "run", "--overwrite") == 1
    assert snapshot(tmp_path / "run") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_overwrite_replaces_the_run_once_the_new_one_has_a_checkpoint(tmp_path):
    assert train(tmp_path, "run", "train.seed=1") == 0
    (tmp_path / "run" / "old-only.txt").write_text("from the old run")
    assert train(tmp_path, "run", "--overwrite", "train.seed=2") == 0
    assert not (tmp_path / "run" / "old-only.txt").exists()
    assert "seed: 2" in (tmp_path / "run" / "config.yaml").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging, no lock


def test_overwrite_never_replaces_a_folder_that_is_not_a_run(tmp_path, capsys):
    documents = tmp_path / "Documents"
    documents.mkdir()
    (documents / "thesis.tex").write_text("years of work")
    assert train(tmp_path, "Documents", "--overwrite") == 1
    assert "holds no run" in one_error_line(capsys)
    assert (documents / "thesis.tex").read_text() == "years of work"


# --- failed set-up and resume -----------------------------------------------------------


def test_a_failed_setup_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    from boundaryloss.training import components

    def no_memory(*args, **kwargs):
        raise ValueError("model: simulated late set-up failure")

    monkeypatch.setattr(engine_module, "build_optimizer", no_memory)
    output = tmp_path / "out"
    assert train(output, "run") == 1
    one_error_line(capsys)
    assert not output.exists()
    monkeypatch.setattr(engine_module, "build_optimizer", components.build_optimizer)
    assert train(output, "run") == 0  # the same name is free


def test_a_failed_resume_does_not_rewrite_the_config(tmp_path, capsys):
    assert train(tmp_path, "run") == 0
    before = snapshot(tmp_path / "run")
    capsys.readouterr()
    wider = "model.kwargs={base_channels: 8, depth: 2}"
    assert train(tmp_path, "run", "--resume", "train.epochs=2", wider) == 1
    assert "model.kwargs.base_channels: 4 -> 8" in one_error_line(capsys)
    assert snapshot(tmp_path / "run") == before


def test_resuming_with_fewer_epochs_than_trained_is_an_error(tmp_path, capsys):
    assert train(tmp_path, "run", "train.epochs=2") == 0
    before = snapshot(tmp_path / "run")
    capsys.readouterr()
    assert train(tmp_path, "run", "--resume", "train.epochs=1") == 1
    assert "already trained 2 epochs" in one_error_line(capsys)
    assert snapshot(tmp_path / "run") == before


# --- locks ------------------------------------------------------------------------------

# The holder loads only the (standard-library) lock module: a fast, separate process.
HOLD = textwrap.dedent(
    """
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("lock", sys.argv[2])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = sys.argv[3] if len(sys.argv) > 3 else None
    lock = module.DirectoryLock(sys.argv[1], path=path).acquire()
    print("locked", flush=True)
    sys.stdin.read()
    """
)


@pytest.fixture
def held_lock():
    """``hold(directory, path=None)`` -> the pid of a live process holding that
    directory's lock (its lock file ``path`` when given)."""
    from boundaryloss import _lock as lock_module

    processes = []

    def hold(directory, path=None) -> int:
        extra = [] if path is None else [str(path)]
        process = subprocess.Popen(
            [sys.executable, "-c", HOLD, str(directory), lock_module.__file__, *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        assert process.stdout.readline().strip() == "locked"
        return process.pid

    yield hold
    for process in processes:
        process.stdin.close()
        process.wait(timeout=30)


def test_a_run_in_use_is_refused_naming_its_holder(tmp_path, capsys, held_lock):
    assert train(tmp_path, "run") == 0
    before = snapshot(tmp_path / "run")
    capsys.readouterr()
    pid = held_lock(tmp_path / "run")
    for extra in (["--resume", "train.epochs=2"], ["--overwrite"]):
        assert train(tmp_path, "run", *extra) == 1
        line = one_error_line(capsys)
        assert f"in use by process {pid}" in line, line
    assert snapshot(tmp_path / "run") == before


def test_a_stale_lock_of_a_killed_process_does_not_block_resume(tmp_path):
    assert train(tmp_path, "run") == 0
    # What a killed holder leaves: the lock file with its (dead) pid, no OS lock.
    (tmp_path / ".run.lock").write_text("999999999 elsewhere\n")
    assert train(tmp_path, "run", "--resume", "train.epochs=2") == 0
    state = torch.load(tmp_path / "run" / "checkpoints" / "last.pt", weights_only=True)
    assert state["epoch"] == 2


def test_a_resumed_run_removes_the_temporaries_of_a_killed_writer(tmp_path):
    assert train(tmp_path, "run") == 0
    stale = [
        tmp_path / "run" / "checkpoints" / ".last.pt.tmp-k1ll3d.pt",
        tmp_path / "run" / ".metrics.csv.tmp-k1ll3d.csv",
    ]
    for path in stale:
        path.write_bytes(b"half-written")
    assert train(tmp_path, "run", "--resume", "train.epochs=2") == 0
    assert not any(path.exists() for path in stale)


def test_a_comparison_in_use_is_refused(tmp_path, held_lock):
    from boundaryloss._lock import LockHeldError
    from boundaryloss.experiments import compare as compare_module

    experiment = type("Experiment", (), {"output": tmp_path / "cmp"})()
    pid = held_lock(tmp_path / "cmp")
    with pytest.raises(LockHeldError, match=f"in use by process {pid}"):
        compare_module.run_compare(experiment)


def test_a_prediction_folder_in_use_is_refused(trained, tmp_path, capsys, held_lock, monkeypatch):
    """Two predictions into one folder would race on its file record: the second is
    refused, naming the holder, and writes nothing, however the folder is spelled. The
    lock is a hidden file inside the output folder: nothing is written beside it."""
    from boundaryloss.evaluation.predict import PREDICT_LOCK

    scans, out = tmp_path / "imagesTs", tmp_path / "predictions"
    scans.mkdir()
    rng = np.random.default_rng(2)
    for name in ("a.nii.gz", "b.nii.gz"):
        write_nifti(scans / name, rng.random((20, 24, 3)).astype(np.float32))
    out.mkdir()
    pid = held_lock(out, out / PREDICT_LOCK)
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(trained), str(scans), "predictions"]) == 1  # relative
    line = one_error_line(capsys)
    assert f"prediction folder {out} is in use by process {pid}" in line
    assert sorted(p.name for p in out.iterdir()) == [PREDICT_LOCK]  # the holder's only


def test_predict_into_a_training_run_folder_does_not_take_its_lock(trained, tmp_path, held_lock):
    """A single output file inside a run directory: predict's lock is inside that folder,
    not train's ``.NAME.lock`` beside it, so a running training does not block it (nor
    the prediction a resume); no lock file is left behind."""
    from boundaryloss.evaluation.predict import PREDICT_LOCK

    scan = tmp_path / "scan.nii.gz"
    write_nifti(scan, np.random.default_rng(5).random((20, 24, 3)).astype(np.float32))
    run = trained.parents[1]
    held_lock(run)  # as train holds it
    target = run / "scan_prediction.nii.gz"
    assert main(["predict", str(trained), str(scan), str(target)]) == 0
    assert target.is_file() and not (run / PREDICT_LOCK).exists()
    target.unlink()


def test_a_killed_comparison_leaves_no_temporary_figures(tmp_path, monkeypatch):
    from boundaryloss.experiments import compare as compare_module

    figures = tmp_path / "cmp" / "figures"
    figures.mkdir(parents=True)
    stale = figures / ".overlays.png.tmp-k1ll3d.png"
    stale.write_bytes(b"half a PNG")
    (figures / "overlays.png").write_bytes(b"a finished PNG")
    record_written([figures / "overlays.png"], compare_module.WRITTEN_BY)
    seen = {}

    def fake_run(experiment, resume, log):
        seen["files"] = sorted(p.name for p in figures.iterdir())
        return "done"

    monkeypatch.setattr(compare_module, "_run_compare", fake_run)
    output = tmp_path / "cmp"
    experiment = type("Experiment", (), {"output": output, "folder": ComparisonFolder(output)})()
    assert compare_module.run_compare(experiment) == "done"
    assert seen["files"] == [".boundaryloss-files.json", "overlays.png"]


def test_compare_checks_every_run_before_training_any(tmp_path, capsys):
    import yaml

    from tests.experiments.conftest import tiny_experiment

    experiment = tiny_experiment(output_dir=str(tmp_path))
    experiment["losses"][1]["overrides"] = ["optim.lr=-1"]
    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(experiment))
    assert main(["compare", "--config", str(path)]) == 1
    line = one_error_line(capsys)
    assert "rrw" in line and "optim.lr" in line
    assert not (tmp_path / "tiny" / "runs").exists()
