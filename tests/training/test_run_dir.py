"""The run directory's layout, names, staging and swap."""

from __future__ import annotations

import pytest

from boundaryloss._files import TEMP_MARKER
from boundaryloss._lock import LockHeldError
from boundaryloss.training.run_dir import (
    NoCheckpointError,
    RunDirectory,
    RunExistsError,
    RunWorkspace,
)


def test_layout(tmp_path):
    run = RunDirectory(tmp_path / "r")
    assert run.last == tmp_path / "r" / "checkpoints" / "last.pt"
    assert run.checkpoint("best") == run.best == tmp_path / "r" / "checkpoints" / "best.pt"
    assert run.snapshot(7).name == "epoch0007.pt"
    assert run.staging == tmp_path / ".r.staging"
    assert run.lock().path == tmp_path / ".r.lock"


def test_promote_replaces_the_old_run_and_leaves_nothing_else(tmp_path):
    run = RunDirectory(tmp_path / "r")
    run.checkpoints.mkdir(parents=True)
    run.last.write_text("old")
    run.staging.mkdir()
    (run.staging / "new.txt").write_text("new")
    run.promote(run.staging)
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
    assert [p.name for p in run.path.iterdir()] == ["new.txt"]


def test_workspace_checks_and_discards(tmp_path):
    run = RunDirectory(tmp_path / "r")
    with pytest.raises(NoCheckpointError, match="no checkpoint"):
        RunWorkspace(run, resume=True, overwrite=False, lock=True)
    run.path.mkdir()
    (run.path / "x").write_text("x")
    with pytest.raises(RunExistsError, match="not empty"):
        RunWorkspace(run, resume=False, overwrite=False, lock=True)
    with pytest.raises(RunExistsError, match="holds no run"):
        RunWorkspace(run, resume=False, overwrite=True, lock=True)
    run.config.write_text("name: r\n")  # a config.yaml alone makes no run
    with pytest.raises(RunExistsError, match="holds no run"):
        RunWorkspace(run, resume=False, overwrite=True, lock=True)
    run.write_mark()
    workspace = RunWorkspace(run, resume=False, overwrite=True, lock=True)
    with workspace:
        assert workspace.staged and workspace.run.path == run.staging
        with pytest.raises(LockHeldError, match="in use by process"):
            RunWorkspace(run, resume=False, overwrite=True, lock=True).__enter__()
        workspace.run.path.mkdir()
        workspace.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    assert (run.path / "x").read_text() == "x"


def test_workspace_clears_a_killed_staging_directory(tmp_path):
    run = RunDirectory(tmp_path / "r")
    run.staging.mkdir()
    (run.staging / "half").write_text("from a killed run")
    with RunWorkspace(run, resume=False, overwrite=False, lock=True):
        assert not run.staging.exists()


def test_evaluation_folders_are_in_the_layout(tmp_path):
    run = RunDirectory(tmp_path / "r")
    assert run.evaluation_of("best") == tmp_path / "r" / "evaluation_best"
    assert run.evaluation_of("last") == tmp_path / "r" / "evaluation_last"
    assert [p.name for p in run.evaluation_folders()] == [
        "evaluation",
        "evaluation_test",
        "evaluation_best",
        "evaluation_last",
    ]
    with pytest.raises(ValueError, match=r"checkpoint must be one of \('best', 'last'\), got 'x'"):
        run.evaluation_of("x")


def test_cleanup_removes_temporaries_of_every_evaluation_folder(tmp_path):
    run = RunDirectory(tmp_path / "r")
    kept, killed = {}, []
    for name in ("evaluation", "evaluation_test", "evaluation_best", "evaluation_last"):
        folder = run.path / name
        folder.mkdir(parents=True)
        killed.append(folder / f".summary.json{TEMP_MARKER}abc.json")
        killed[-1].write_text("half written by a killed evaluation")
        kept[folder / "summary.json"] = f"{name} summary"
        (folder / "summary.json").write_text(f"{name} summary")
    run.write_mark()
    with RunWorkspace(run, resume=False, overwrite=True, lock=True):
        assert not any(path.exists() for path in killed)
        assert {path: path.read_text() for path in kept} == kept


def test_overwrite_replaces_the_evaluation_folders_of_the_old_run(tmp_path):
    run = RunDirectory(tmp_path / "r")
    for folder in (run.evaluation_of("best"), run.evaluation_of("last")):
        folder.mkdir(parents=True)
        (folder / "cases.csv").write_text("scores of the old run's checkpoint\n")
    run.write_mark()
    with RunWorkspace(run, resume=False, overwrite=True, lock=True) as workspace:
        workspace.run.path.mkdir()
        (workspace.run.path / "config.yaml").write_text("name: r\n")
        workspace.promote()
    assert sorted(p.name for p in run.path.iterdir()) == ["config.yaml"]
    assert not run.staging.exists() and not run.retired.exists()
