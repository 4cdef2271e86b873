"""The destination rules every preparer shares: never clobber, replace only when complete."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.prepare import PREPARERS, find_cases, get_preparer, prepare_dataset

from .helpers import listing, load_json
from .layouts import BRATS_AFFINE, SHAPE, make_brats2018, make_kits19, save_nifti


@pytest.fixture
def src(tmp_path):
    return make_kits19(tmp_path / "kits19")


def test_registry():
    assert list(PREPARERS) == [
        "isles2018",
        "isles2022",
        "wmh2017",
        "acdc2017",
        "kits19",
        "brats2018",
        "drive",
    ]
    assert get_preparer("KiTS19") is PREPARERS["kits19"]
    with pytest.raises(ValueError, match=r"unknown dataset 'kits'; expected one of: isles2018, "):
        get_preparer("kits")


def test_find_cases_is_a_dry_run(src, tmp_path):
    cases = find_cases("kits19", src)
    assert [(c.case_id, c.split, c.label is not None) for c in cases] == [
        ("case_00000", "training", True),
        ("case_00001", "training", True),
        ("case_00210", "test", False),
    ]
    assert listing(tmp_path) == ["kits19"]


def test_missing_source(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere: source folder not found"):
        prepare_dataset("kits19", tmp_path / "nowhere", tmp_path / "out")


def test_existing_empty_destination_is_used(src, tmp_path):
    (tmp_path / "out").mkdir()
    prepare_dataset("kits19", src, tmp_path / "out")
    assert load_json(tmp_path / "out")["numTraining"] == 2


def test_non_empty_destination_is_refused_and_untouched(src, tmp_path):
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"out: destination is not empty .*--overwrite"):
        prepare_dataset("kits19", src, dst)
    assert listing(dst) == ["keep.txt"]


def test_destination_that_is_a_file(src, tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(FileExistsError, match=r"out: destination exists and is not a folder"):
        prepare_dataset("kits19", src, tmp_path / "out", overwrite=True)


def test_overwrite_replaces(src, tmp_path):
    dst = tmp_path / "out"
    prepare_dataset("kits19", src, dst)
    (dst / "stale.txt").write_text("old")
    prepare_dataset("kits19", src, dst, overwrite=True)
    assert listing(dst) == [
        ".boundaryloss.json",
        "dataset.json",
        "imagesTr",
        "imagesTs",
        "labelsTr",
    ]
    assert listing(tmp_path) == ["kits19", "out"]  # no temporaries left behind


def test_failure_with_overwrite_leaves_old_destination(tmp_path):
    src = make_brats2018(tmp_path / "brats")
    # The layout is fine; the last case's label only fails once its voxels are read.
    path = src / "LGG" / "Brats18_TCIA09_141_1" / "Brats18_TCIA09_141_1_seg.nii.gz"
    save_nifti(path, np.full(SHAPE, 7, np.uint8), BRATS_AFFINE)
    dst = tmp_path / "out"
    prepare_dataset("kits19", make_kits19(tmp_path / "kits19"), dst)
    before = sorted(str(p.relative_to(dst)) for p in dst.rglob("*"))
    with pytest.raises(ValueError, match=r"unexpected label values \[7\]"):
        prepare_dataset("brats2018", src, dst, overwrite=True)
    assert sorted(str(p.relative_to(dst)) for p in dst.rglob("*")) == before
    assert load_json(dst)["name"] == "KiTS19"
    assert listing(tmp_path) == ["brats", "kits19", "out"]


@pytest.mark.parametrize("inside", [False, True])
def test_destination_must_not_hold_the_source(src, tmp_path, inside):
    dst = tmp_path if inside else src
    with pytest.raises(
        ValueError, match=r"destination must not be the source folder or contain it"
    ):
        prepare_dataset("kits19", src, dst, overwrite=True)
    assert (src / "data" / "case_00000" / "imaging.nii.gz").is_file()


def test_progress_lines(src, tmp_path):
    lines = []
    prepare_dataset("kits19", src, tmp_path / "out", progress=lines.append)
    assert lines == [
        "[1/3] case_00000 (training)",
        "[2/3] case_00001 (training)",
        "[3/3] case_00210 (test)",
    ]
