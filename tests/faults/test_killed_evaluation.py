"""An ``evaluate`` killed between the renames of its files, or before it recorded them,
can be rerun into the same folder: its own summary vouches for every file it lists."""

from __future__ import annotations

import json
import os

import pytest

from boundaryloss.cli import main


def _kill_at_rename(monkeypatch, number: int) -> list:
    """Make the ``number``-th rename (1-based) 'kill' the process; return the renames."""
    real, done = os.replace, []

    def replace(src, dst):
        if len(done) + 1 == number:
            raise KeyboardInterrupt
        done.append(os.fspath(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return done


@pytest.mark.parametrize("survived", [1, 2, 3])
def test_a_rerun_after_a_kill_between_renames(trained, tmp_path, monkeypatch, survived):
    """The summary is renamed first, then cases.csv, lesions.csv, score_histograms.csv,
    then the file record: whichever rename the kill stops at, the rerun succeeds and
    leaves a consistent evaluation."""
    run = trained.parents[1]
    out = tmp_path / "evaluation"
    args = ["evaluate", str(run), "--checkpoint", "last", "--output", str(out)]
    assert main(args) == 0  # without --lesion: no lesion files yet
    renamed = _kill_at_rename(monkeypatch, survived + 1)
    assert main([*args, "--lesion"]) != 0  # "interrupted"
    monkeypatch.undo()
    assert [os.path.basename(p) for p in renamed] == [
        "summary.json",
        "cases.csv",
        "lesions.csv",
    ][:survived]
    assert main([*args, "--lesion"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["companions"]) == {"lesions.csv", "score_histograms.csv"}
    assert (out / "score_histograms.csv").is_file()


def test_a_foreign_file_is_still_refused(trained, tmp_path, capsys):
    run = trained.parents[1]
    out = tmp_path / "evaluation"
    args = ["evaluate", str(run), "--checkpoint", "last", "--output", str(out), "--lesion"]
    assert main(args) == 0
    (out / "score_histograms.csv").write_text("my own notes\n")
    assert main(args) == 1
    assert "score_histograms.csv" in capsys.readouterr().err
    assert (out / "score_histograms.csv").read_text() == "my own notes\n"
