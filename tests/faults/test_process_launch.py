"""Which process locks a run, and what is checked before training processes start.

A stale ``RANK`` left in a job's environment made the process the user started skip the
run directory's lock (it took itself for a DDP rank), so two runs could share a folder.
``train.devices=5`` on the CPU started 5 processes that each printed the same
batch-size error.
"""

from __future__ import annotations

import lightning_fabric

from boundaryloss.training.run_dir import RunDirectory

from .conftest import one_error_line, snapshot, train


def test_a_stale_rank_does_not_skip_the_run_lock(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    with RunDirectory(tmp_path / "run").lock():  # another run holds the folder
        assert train(tmp_path, "run") == 1
        line = one_error_line(capsys)
    assert f"run directory {tmp_path / 'run'} is in use by" in line
    assert not (tmp_path / "run").exists()


def test_a_stale_rank_still_trains_and_writes_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    assert train(tmp_path, "run") == 0
    assert (tmp_path / "run" / "summary.json").is_file()
    assert not (tmp_path / ".run.lock").exists()  # taken and released


def test_a_batch_the_processes_cannot_share_is_refused_before_launching(
    tmp_path, capsys, monkeypatch
):
    def launched(self, *args, **kwargs):
        raise AssertionError("processes were launched")

    monkeypatch.setattr(lightning_fabric.Fabric, "launch", launched)
    assert train(tmp_path, "run", "train.devices=5") == 1  # data.batch_size=2
    line = one_error_line(capsys)
    assert "data.batch_size: 2 is not divisible by the 5 processes (train.devices=5" in line
    assert snapshot(tmp_path) == {}
