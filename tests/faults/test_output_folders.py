"""A command's output never lands on the user's files: not in the source folder of
``prepare``, not among the files of a folder given to ``evaluate --output`` or
``compare --output``, not over a file."""

from __future__ import annotations

from boundaryloss.cli import main

from .conftest import one_error_line, snapshot


def test_prepare_overwrite_into_a_folder_of_the_source_is_refused(tmp_path, capsys):
    # `prepare drive SRC SRC/training --overwrite` used to replace the download's own
    # training folder (images, manual labels, masks) with the prepared dataset.
    from tests.data.prepare.layouts import make_drive

    src = make_drive(tmp_path / "DRIVE")
    before = snapshot(src)
    argv = ["prepare", "drive", str(src), str(src / "training"), "--overwrite", "--quiet"]
    assert main(argv) == 1
    assert "inside the source folder" in one_error_line(capsys)
    assert snapshot(src) == before


def test_prepare_into_a_new_folder_inside_the_source_still_works(tmp_path):
    from tests.data.prepare.layouts import make_drive

    src = make_drive(tmp_path / "DRIVE")
    assert main(["prepare", "drive", str(src), str(src / "prepared"), "--quiet"]) == 0
    assert (src / "prepared" / "dataset.json").is_file()


def test_evaluate_into_a_folder_of_the_users_files_is_refused(trained, tmp_path, capsys):
    # `evaluate RUN --output FOLDER` replaced the user's summary.json in FOLDER; pointed
    # at RUN/checkpoints it wrote its tables among the checkpoints.
    run = trained.parent.parent
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.json").write_text("my summary")
    (mine / "notes.txt").write_text("my notes")
    for output in (mine, run / "checkpoints"):
        before = snapshot(output)
        assert main(["evaluate", str(run), "--output", str(output)]) == 1
        assert f"output {output}: holds files an evaluation did not write" in one_error_line(capsys)
        assert snapshot(output) == before


def test_evaluate_output_that_is_a_file_is_refused_before_scoring(trained, tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    run = trained.parent.parent
    assert main(["evaluate", str(run), "--output", str(tmp_path / "file")]) == 1
    captured = capsys.readouterr().err
    assert "[1/" not in captured  # nothing was scored
    assert f"output {tmp_path / 'file'}: exists and is not a folder" in captured
    assert (tmp_path / "file").read_text() == "mine"


def test_compare_into_a_folder_of_the_users_files_is_refused(tmp_path, capsys):
    # `compare --output FOLDER` (and `demo --output`) replaced the user's report.md and
    # cases.csv in FOLDER with its own.
    import yaml

    from tests.experiments.conftest import tiny_experiment

    path = tmp_path / "experiment.yaml"
    path.write_text(yaml.safe_dump(tiny_experiment(output_dir=str(tmp_path))))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.md").write_text("my notes")
    (mine / "cases.csv").write_text("my table")
    (mine / "scan.nii.gz").write_bytes(b"my scan")
    before = snapshot(mine)
    assert main(["compare", "--config", str(path), "--output", str(mine)]) == 1
    line = one_error_line(capsys)
    assert f"output {mine}:" in line and "scan.nii.gz" in line
    assert snapshot(mine) == before and sorted(p.name for p in mine.iterdir()) == sorted(before)
