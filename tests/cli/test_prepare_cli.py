"""``boundaryloss prepare``: exit codes and messages."""

from __future__ import annotations

import json

from boundaryloss.cli import main
from tests.data.prepare.layouts import make_acdc2017, make_drive, make_kits19


def test_success(tmp_path, capsys):
    src = make_acdc2017(tmp_path / "database")
    assert main(["prepare", "acdc2017", str(src), str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == (
        f"acdc2017: 4 training + 2 test cases written to {tmp_path / 'out'}"
    )
    assert captured.err.splitlines()[0] == "[1/6] patient001_ED (training)"
    assert len(captured.err.splitlines()) == 6
    assert json.loads((tmp_path / "out" / "dataset.json").read_text())["numTraining"] == 4


def test_quiet(tmp_path, capsys):
    src = make_drive(tmp_path / "DRIVE")
    assert main(["prepare", "drive", str(src), str(tmp_path / "out"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "drive: 2 training + 2 test cases written to" in captured.out


def test_unknown_dataset_lists_the_valid_ones(tmp_path, capsys):
    assert main(["prepare", "isles2017", str(tmp_path), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "boundaryloss prepare: error: unknown dataset 'isles2017'; expected one of: "
        "isles2018, isles2022, wmh2017, acdc2017, kits19, brats2018, drive"
    )


def test_non_empty_destination_without_overwrite(tmp_path, capsys):
    src = make_acdc2017(tmp_path / "database")
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "notes.txt").write_text("keep me")
    assert main(["prepare", "acdc2017", str(src), str(dst)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{dst}: destination is not empty (pass --overwrite to replace it)" in err
    assert [p.name for p in dst.iterdir()] == ["notes.txt"]
    assert (dst / "notes.txt").read_text() == "keep me"


def test_overwrite(tmp_path, capsys):
    src = make_acdc2017(tmp_path / "database")
    dst = tmp_path / "out"
    assert main(["prepare", "acdc2017", str(src), str(dst)]) == 0
    (dst / "notes.txt").write_text("old")  # a prepared dataset is replaced as a whole
    assert main(["prepare", "acdc2017", str(src), str(dst), "--overwrite"]) == 0
    assert not (dst / "notes.txt").exists()
    assert (dst / "dataset.json").is_file()


def test_bad_layout_names_the_path(tmp_path, capsys):
    src = tmp_path / "downloads" / "ISLES"
    (src / "TRAINING").mkdir(parents=True)
    assert main(["prepare", "isles2018", str(src), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"boundaryloss prepare: error: {src / 'TRAINING'}: no case_* folders"
    assert not (tmp_path / "out").exists()


def test_missing_source(tmp_path, capsys):
    assert main(["prepare", "kits19", str(tmp_path / "nope"), str(tmp_path / "out")]) == 1
    assert f"{tmp_path / 'nope'}: source folder not found" in capsys.readouterr().err


def test_truncated_file_is_one_line_and_nothing_is_written(tmp_path, capsys):
    from tests.data.prepare.test_corrupt import imaging, noisy_case, truncate

    src = make_kits19(tmp_path / "kits19")
    noisy_case(src, 1)
    truncate(imaging(src, 1))
    assert main(["prepare", "kits19", str(src), str(tmp_path / "out"), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"boundaryloss prepare: error: {imaging(src, 1)}: corrupt or truncated")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kits19"]
