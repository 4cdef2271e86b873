"""The per-case CSV and its summary are written as a pair that records its own files: a
process killed between two renames leaves files the checksums tell apart."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from boundaryloss.evaluation.result_files import (
    matches_cases,
    matches_companion,
    replaced_cases,
    write_evaluation,
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write(tmp_path, cases: str, lesions: str) -> dict:
    summary = {"num_cases": 1}
    write_evaluation(
        tmp_path / "cases.csv",
        cases,
        tmp_path / "summary.json",
        summary,
        {tmp_path / "lesions.csv": lesions},
    )
    return summary


def _killed_after(monkeypatch, renames: int) -> None:
    """Make the process 'die' (KeyboardInterrupt) at rename number ``renames + 1``."""
    real = os.replace
    done = []

    def replace(src, dst):
        if len(done) == renames:
            raise KeyboardInterrupt
        done.append(dst)
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_the_summary_records_its_files_and_the_csv_it_replaced(tmp_path):
    first = _write(tmp_path, "case\nold\n", "lesion\nold\n")
    assert first["cases"] == {"file": "cases.csv", "sha256": _sha("case\nold\n")}
    assert first["companions"] == {"lesions.csv": _sha("lesion\nold\n")}
    second = _write(tmp_path, "case\nnew\n", "lesion\nnew\n")
    assert second["cases"]["replaces"] == _sha("case\nold\n")
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["cases"] == second["cases"]
    assert matches_cases(saved, tmp_path / "cases.csv")
    assert matches_companion(saved, tmp_path / "lesions.csv")
    assert not replaced_cases(saved, tmp_path / "cases.csv")


@pytest.mark.parametrize("renames", [1, 2])
def test_a_kill_between_renames_leaves_a_pair_the_checksums_refuse(tmp_path, monkeypatch, renames):
    """The summary is renamed first: after it alone, the CSV is the one it replaced; after
    it and the CSV, lesions.csv is older than the pair."""
    _write(tmp_path, "case\nold\n", "lesion\nold\n")
    _killed_after(monkeypatch, renames)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path, "case\nnew\n", "lesion\nnew\n")
    monkeypatch.undo()
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["cases"]["sha256"] == _sha("case\nnew\n")  # the summary was first
    cases, lesions = tmp_path / "cases.csv", tmp_path / "lesions.csv"
    assert lesions.read_text() == "lesion\nold\n"
    assert not matches_companion(saved, lesions)
    if renames == 1:
        assert cases.read_text() == "case\nold\n"
        assert not matches_cases(saved, cases) and replaced_cases(saved, cases)
    else:
        assert cases.read_text() == "case\nnew\n"
        assert matches_cases(saved, cases) and not replaced_cases(saved, cases)


def test_summaries_before_the_records_vouch_for_their_files(tmp_path):
    (tmp_path / "cases.csv").write_text("case\n")
    (tmp_path / "lesions.csv").write_text("lesion\n")
    assert matches_cases({}, tmp_path / "cases.csv")
    assert matches_companion({}, tmp_path / "lesions.csv")
    assert not replaced_cases({}, tmp_path / "cases.csv")
    # a summary with the record but without this file does not vouch for it
    assert not matches_companion({"companions": {}}, tmp_path / "lesions.csv")
