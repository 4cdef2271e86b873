"""An option that does nothing in the mode a command runs in is refused in one line, not
silently ignored (one rule: :func:`boundaryloss.cli._options.refuse_unused`)."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.cli import main
from boundaryloss.data.io import write_nifti

from .conftest import one_error_line, train


@pytest.fixture
def folders(tmp_path):
    ref = np.zeros((8, 8, 4), np.uint8)
    ref[2:5, 2:5, 1:3] = 1
    write_nifti(tmp_path / "pred" / "a.nii.gz", ref)
    write_nifti(tmp_path / "ref" / "a.nii.gz", ref)
    return ["evaluate-folder", str(tmp_path / "pred"), str(tmp_path / "ref")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--nsd-tolerance", "2"], "--nsd-tolerance: only used with 'nsd' in --metrics"),
        (
            ["--metrics", "dice", "--nsd-tolerance", "2"],
            "--nsd-tolerance: only used with 'nsd' in --metrics",
        ),
        (
            ["--metrics", "dice", "recall", "--missing", "nan"],
            "--missing: only used with a distance (hd, hd95, assd) in --metrics",
        ),
        (["--connectivity", "6"], "--connectivity: only used with --lesion"),
        (["--lesion-f1", "isles"], "--lesion-f1: only used with --lesion"),
    ],
)
def test_evaluate_folder_refuses_options_it_would_ignore(folders, capsys, options, message):
    assert main([*folders, *options]) == 1
    assert one_error_line(capsys) == f"boundaryloss evaluate-folder: error: {message}"


@pytest.mark.parametrize(
    "options",
    [
        ["--metrics", "dice", "nsd", "--nsd-tolerance", "2"],
        ["--metrics", "dice", "hd", "--missing", "nan"],
        ["--missing", "diagonal"],  # the default metrics have hd95 and assd
        ["--lesion", "--connectivity", "26", "--lesion-f1", "isles"],
    ],
)
def test_the_same_options_where_they_are_used(folders, options):
    assert main([*folders, *options]) == 0


def test_train_refuses_overwrite_with_resume(tmp_path, capsys):
    assert train(tmp_path, "run") == 0
    before = sorted(p.name for p in (tmp_path / "run").iterdir())
    capsys.readouterr()
    assert train(tmp_path, "run", "--resume", "--overwrite", "train.epochs=2") == 1
    assert one_error_line(capsys) == (
        "boundaryloss train: error: --overwrite: only used without --resume (a resumed run "
        "continues in place)"
    )
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == before
