"""An output that cannot be written stops ``evaluate`` and ``evaluate-folder`` before any
case is predicted or read, not after the whole split; the check leaves nothing behind."""

from __future__ import annotations

import numpy as np

from boundaryloss._files import check_writable
from boundaryloss.cli import main
from boundaryloss.data.io import write_nifti
from boundaryloss.evaluation import evaluate_folder as evaluate_folder_module
from boundaryloss.evaluation.predict import Predictor

from .conftest import one_error_line


def test_evaluate_checks_its_output_before_predicting(trained, unwritable, capsys, monkeypatch):
    predicted = []
    segment = Predictor.segment
    monkeypatch.setattr(
        Predictor, "segment", lambda self, case: predicted.append(case) or segment(self, case)
    )
    run = trained.parents[1]
    assert main(["evaluate", str(run), "--checkpoint", "last", "--output", str(unwritable)]) == 1
    assert str(unwritable.parent) in one_error_line(capsys)
    assert predicted == []


def test_evaluate_folder_checks_its_output_before_reading(
    tmp_path, unwritable, capsys, monkeypatch
):
    for folder in ("pred", "ref"):
        for case in ("a", "b"):
            write_nifti(tmp_path / folder / f"{case}.nii.gz", np.zeros((6, 6, 4), np.uint8))
    read = []
    read_label = evaluate_folder_module.read_label
    monkeypatch.setattr(
        evaluate_folder_module,
        "read_label",
        lambda path, labels: read.append(path) or read_label(path, labels),
    )
    output = unwritable / "scores.csv"
    args = ["evaluate-folder", str(tmp_path / "pred"), str(tmp_path / "ref"), "--output"]
    assert main([*args, str(output)]) == 1
    assert str(unwritable.parent) in one_error_line(capsys)
    assert read == []


def test_the_check_leaves_the_file_system_as_it_was(tmp_path):
    check_writable(tmp_path / "new" / "deeper")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    check_writable(tmp_path / "kept")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []
