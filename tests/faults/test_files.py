"""Files written by the package are ordinary files: the umask decides their mode."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from boundaryloss.data.io import atomic_path, write_text_atomically

from .conftest import train


@pytest.fixture
def umask():
    """``set(mask)``; the previous umask is restored afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_writes_honour_the_umask(tmp_path, umask, mask):
    umask(mask)
    write_text_atomically(tmp_path / "a.json", "{}")
    with atomic_path(tmp_path / "b.png") as tmp:
        tmp.write_bytes(b"png")
    plain = tmp_path / "plain.txt"
    plain.write_text("as open() makes it")
    assert mode(tmp_path / "a.json") == mode(tmp_path / "b.png") == mode(plain) == 0o666 & ~mask


def test_a_run_is_readable_by_colleagues(tmp_path, umask):
    umask(0o022)
    assert train(tmp_path, "run", "train.figures=true") == 0
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert {"last.pt", "metrics.csv", "summary.json", "curves.png"} <= {p.name for p in files}
    assert all(mode(p) == 0o644 for p in files), {p.name: oct(mode(p)) for p in files}


def test_temporaries_of_a_killed_writer_are_recognised(tmp_path):
    from boundaryloss._files import remove_temporaries

    with atomic_path(tmp_path / "figure.png") as tmp:
        tmp.write_bytes(b"half")
        name = tmp.name
        shutil.copy(tmp, tmp_path / "copy")
    (tmp_path / "copy").rename(tmp_path / name)  # what a killed (SIGKILL) writer leaves
    (tmp_path / ".hidden-but-mine").write_bytes(b"user file")
    assert remove_temporaries(tmp_path) == [tmp_path / name]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden-but-mine", "figure.png"]
