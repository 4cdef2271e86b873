"""A full disk or a file-size limit: one line naming the file, and the previous files kept.

The disk is filled in two ways: a write that raises ``ENOSPC`` (monkeypatched: the
writer's ``open`` of the summary's temporary file), and a real ``EFBIG`` from the kernel
(``RLIMIT_FSIZE`` lowered around the write, ``SIGXFSZ`` ignored), which is what torch's
own writer meets.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import signal

import numpy as np
import pytest
import torch

from boundaryloss import _files
from boundaryloss.cli import main, one_line
from boundaryloss.data.io import atomic_path, write_nifti

from .conftest import one_error_line, snapshot, train

resource = pytest.importorskip("resource", reason="RLIMIT_FSIZE needs a POSIX system")


class _FullDisk:
    """A file opened for writing on a full disk: every write raises ENOSPC."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def write(self, data) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def full_disk_open():
    """``open`` for the writers of :mod:`boundaryloss._files` on a disk that fills up
    after the CSV: writing any ``.json`` file raises ENOSPC."""
    real_open = open

    def fake_open(file, mode="r", *args, **kwargs):
        if "w" in mode and str(file).endswith(".json"):
            return _FullDisk()
        return real_open(file, mode, *args, **kwargs)

    return fake_open


@contextlib.contextmanager
def file_size_limit(limit: int):
    """Writes beyond ``limit`` bytes fail with EFBIG ("File too large") meanwhile."""
    previous_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, previous_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous_limit)
        signal.signal(signal.SIGXFSZ, previous_handler)


def test_a_failed_write_names_the_file(tmp_path):
    target = tmp_path / "summary.json"
    target.write_text("previous")
    with pytest.raises(OSError) as caught, atomic_path(target) as tmp:
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write on a full disk
    assert caught.value.errno == errno.ENOSPC
    assert one_line(caught.value) == f"{target}: No space left on device"
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_train_on_a_file_size_limit_is_one_line_naming_the_checkpoint(
    tmp_path, capsys, monkeypatch
):
    real_save = torch.save

    def save_under_a_limit(*args, **kwargs):
        with file_size_limit(4096):  # a checkpoint is far larger
            return real_save(*args, **kwargs)

    monkeypatch.setattr(torch, "save", save_under_a_limit)
    assert train(tmp_path / "runs", "run") == 1
    line = one_error_line(capsys)
    assert line.startswith("boundaryloss train: error: ")
    assert line.endswith(".pt: File too large"), line
    assert not (tmp_path / "runs" / "run").exists()  # a new run appears at its first checkpoint


def _folders(root):
    """Two 3D cases; the prediction of case b changes when ``shift`` is 1."""
    for shift in (0, 1):
        ref = np.zeros((10, 10, 6), np.uint8)
        ref[2:6, 2:6, 1:4] = 1
        pred = np.roll(ref, 1 + shift, axis=0)
        write_nifti(root / "ref" / "b.nii.gz", ref)
        write_nifti(root / f"pred{shift}" / "b.nii.gz", pred)
        write_nifti(root / "ref" / "a.nii.gz", ref)
        write_nifti(root / f"pred{shift}" / "a.nii.gz", ref)
    return root / "pred0", root / "pred1", root / "ref"


def test_evaluate_folder_on_a_full_disk_keeps_the_previous_pair(tmp_path, capsys, monkeypatch):
    first, second, ref = _folders(tmp_path)
    out = tmp_path / "out" / "scores.csv"
    assert main(["evaluate-folder", str(first), str(ref), "--output", str(out)]) == 0
    before = snapshot(out.parent)
    capsys.readouterr()
    monkeypatch.setattr(_files, "open", full_disk_open(), raising=False)
    assert main(["evaluate-folder", str(second), str(ref), "--output", str(out)]) == 1
    line = one_error_line(capsys)
    assert line.endswith(f"{out.with_suffix('.json')}: No space left on device"), line
    assert snapshot(out.parent) == before  # the CSV of the new scores was not put in place


def test_evaluate_on_a_full_disk_keeps_the_previous_pair(trained, tmp_path, capsys, monkeypatch):
    run = trained.parents[1]
    out = tmp_path / "evaluation"
    args = ["evaluate", str(run), "--checkpoint", "last", "--output", str(out)]
    assert main(args) == 0
    before = snapshot(out)
    assert set(before) == {".boundaryloss-files.json", "cases.csv", "summary.json"}
    capsys.readouterr()
    monkeypatch.setattr(_files, "open", full_disk_open(), raising=False)
    assert main([*args, "--lesion"]) == 1  # other columns: a new cases.csv
    line = one_error_line(capsys)
    assert line.endswith(f"{out / 'summary.json'}: No space left on device"), line
    assert snapshot(out) == before


def test_the_summaries_record_their_csv(trained, tmp_path):
    run = trained.parents[1]
    out = tmp_path / "evaluation"
    assert main(["evaluate", str(run), "--checkpoint", "last", "--output", str(out)]) == 0
    folder_out = tmp_path / "folder" / "scores.csv"
    first, _, ref = _folders(tmp_path)
    assert main(["evaluate-folder", str(first), str(ref), "--output", str(folder_out)]) == 0
    for csv_file, summary_file in (
        (out / "cases.csv", out / "summary.json"),
        (folder_out, folder_out.with_suffix(".json")),
    ):
        recorded = json.loads(summary_file.read_text())["cases"]
        assert recorded == {
            "file": csv_file.name,
            "sha256": hashlib.sha256(csv_file.read_bytes()).hexdigest(),
        }
