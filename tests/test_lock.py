"""Directory locks: exclusive between open files, gone with their holder."""

from __future__ import annotations

import os
import socket

import pytest

from boundaryloss._lock import DirectoryLock, LockHeldError, lock_path


def test_second_holder_is_refused_with_pid_and_host(tmp_path):
    with DirectoryLock(tmp_path / "run", what="run directory"):
        assert lock_path(tmp_path / "run").read_text().split() == [
            str(os.getpid()),
            socket.gethostname(),
        ]
        with pytest.raises(LockHeldError) as raised:
            DirectoryLock(tmp_path / "run", what="run directory").acquire()
        message = str(raised.value)
        assert f"run directory {tmp_path / 'run'} is in use by process {os.getpid()}" in message
    assert not lock_path(tmp_path / "run").exists()
    with DirectoryLock(tmp_path / "run"):  # free again
        pass


def test_a_leftover_lock_file_without_holder_does_not_block(tmp_path):
    lock_path(tmp_path / "run").write_text("12345 gone\n")
    with DirectoryLock(tmp_path / "run"):
        assert lock_path(tmp_path / "run").read_text().split()[0] == str(os.getpid())


def test_created_parents_are_removed_again(tmp_path):
    with DirectoryLock(tmp_path / "a" / "b" / "run"):
        assert (tmp_path / "a" / "b").is_dir()
    assert list(tmp_path.iterdir()) == []
