"""Second round of hostile-user probes of the command line (after issues 9-14 merged).

Each test is one probe that failed on the merged main: data lost, a silent wrong
answer, or an error that was not one line naming the argument, file or value.
"""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.cli import main
from boundaryloss.data.io import write_image_2d

from .conftest import one_error_line, snapshot, train

# --- prepare ------------------------------------------------------------------------------


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


# --- predict ------------------------------------------------------------------------------


def _image(folder):
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32), np.uint8)
    write_image_2d(folder / "img.png", pixels)
    return folder / "img.png"


@pytest.mark.parametrize("name", ["labels.jpg", "labels.jpeg"])
def test_predict_refuses_a_lossy_label_format(trained, tmp_path, capsys, name):
    # JPEG compression changes label values at every edge: a silent corruption.
    image = _image(tmp_path / "in")
    assert main(["predict", str(trained), str(image), str(tmp_path / name)]) == 1
    line = one_error_line(capsys)
    assert f"output {tmp_path / name}" in line and "lossless" in line
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", ["labels.nii.gz", "labels.nii", "labels.txt"])
def test_predict_output_suffix_that_does_not_fit_a_2d_input(trained, tmp_path, capsys, name):
    # Used to fail with a message naming the hidden temporary file, not the output.
    image = _image(tmp_path / "in")
    assert main(["predict", str(trained), str(image), str(tmp_path / name)]) == 1
    line = one_error_line(capsys)
    assert f"output {tmp_path / name}:" in line and ".tmp-" not in line
    assert not list(tmp_path.glob(".*"))


# --- train --------------------------------------------------------------------------------


def _logged_seconds(run) -> float:
    import json

    lines = (run / "metrics.jsonl").read_text().splitlines()
    return sum(json.loads(line)["epoch_seconds"] for line in lines)


def test_resumed_run_reports_its_whole_training_time(tmp_path):
    # A finished run resumed with the same epochs trained nothing; its summary.json said
    # train_seconds ~1e-5 (this invocation only) instead of the run's training time.
    import json

    run = tmp_path / "run"
    assert train(tmp_path, "run", "train.epochs=2") == 0
    assert train(tmp_path, "run", "train.epochs=2", "--resume") == 0
    assert json.loads((run / "summary.json").read_text())["train_seconds"] >= _logged_seconds(run)
    assert train(tmp_path, "run", "train.epochs=3", "--resume") == 0
    assert json.loads((run / "summary.json").read_text())["train_seconds"] >= _logged_seconds(run)


def test_a_dataset_root_with_synthetic_data_is_refused(tmp_path, capsys):
    # data.root was silently ignored: the run trained on synthetic data, not on the root.
    assert train(tmp_path / "out", "run", f"data.root={tmp_path}") == 1
    assert "data.root:" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("override", "key"),
    [
        # silently accepted: a negative weight maximises the loss; "banana" is truthy
        ("loss.terms=[{name: gdl, weight: -1}]", "loss.terms[0].weight"),
        (
            "loss.terms=[{name: boundary, kwargs: {include_background: banana}}]",
            "loss.terms[0].kwargs.include_background",
        ),
        ("loss.terms=[{name: gdl, kwargs: {smooth_nr: abc}}]", "loss.terms[0].kwargs.smooth_nr"),
        ("inference.overlap=2", "inference.overlap"),
        # numpy's message named no key
        ("train.seed=-1", "train.seed"),
        ("data.split_seed=4294967296", "data.split_seed"),
    ],
)
def test_more_nonsense_values_are_refused_naming_their_key(tmp_path, capsys, override, key):
    assert train(tmp_path / "out", "run", override) == 1
    assert f"error: {key}:" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_a_binary_config_file_is_named(tmp_path, capsys):
    # The message was "'utf-8' codec can't decode byte 0x8b ...", naming no file.
    config = tmp_path / "scan.nii.gz"
    config.write_bytes(b"\x1f\x8b\x08\x00binary")
    assert main(["train", "--config", str(config)]) == 1
    assert f"{config}: not a text (UTF-8) file" in one_error_line(capsys)


# --- evaluate -----------------------------------------------------------------------------


def test_evaluate_data_of_a_synthetic_run_is_refused(trained, tmp_path, capsys):
    # --data was silently ignored: the synthetic cases were scored and reported as if
    # they came from the given root.
    run = trained.parent.parent
    before = snapshot(run)
    assert (
        main(["evaluate", str(run), "--data", str(tmp_path), "--output", str(tmp_path / "e")]) == 1
    )
    assert f"--data {tmp_path}:" in one_error_line(capsys)
    assert snapshot(run) == before and not (tmp_path / "e").exists()


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


# --- compare / demo -----------------------------------------------------------------------


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


@pytest.mark.parametrize("where", ["synthetic", "msd"])
def test_labels_beyond_num_classes_are_refused_at_setup(tmp_path, capsys, where):
    # Used to fail at the first training step with the loss's message, naming no key.
    from .conftest import write_msd

    if where == "synthetic":
        extra = ["data.synthetic.num_classes=3"]
    else:
        root = write_msd(tmp_path / "data", [(20, 24, 4)] * 4, num_labels=3)
        extra = ["data.source=msd", f"data.root={root}", "data.val_fraction=0.25"]
    assert train(tmp_path / "out", "run", "data.num_classes=2", *extra) == 1
    line = one_error_line(capsys)
    assert "data.num_classes: 2, but" in line and "class(es) 2" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("split", ["Tr", "Ts"])
def test_a_label_without_its_image_is_not_skipped_silently(tmp_path, split):
    # A labelsTs (or labelsTr) file whose image is missing was left out: the test split
    # scored fewer cases than the dataset holds, and nothing said so.
    import shutil

    from boundaryloss.data import DecathlonDataset

    from .conftest import write_msd

    root = write_msd(tmp_path / "data", [(12, 12, 4)] * 2)
    if split == "Ts":
        shutil.copytree(root / "imagesTr", root / "imagesTs")
        shutil.copytree(root / "labelsTr", root / "labelsTs")
    (root / f"imagesT{split[1]}" / "case_001.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"case_001\.nii\.gz: label without an image"):
        DecathlonDataset(root, split="train" if split == "Tr" else "test")


def test_predict_refuses_an_image_with_nan_before_writing(trained, tmp_path, capsys):
    # A NaN voxel made the normalised image all-NaN and the label map silently blank.
    from boundaryloss.data.io import write_nifti

    scans = tmp_path / "scans"
    scans.mkdir()
    rng = np.random.default_rng(2)
    write_nifti(scans / "a.nii.gz", rng.random((20, 24, 3)).astype(np.float32))
    broken = rng.random((20, 24, 3)).astype(np.float32)
    broken[3, 4, 1] = np.nan
    write_nifti(scans / "b.nii.gz", broken)
    out = tmp_path / "out"
    assert main(["predict", str(trained), str(scans), str(out)]) == 1
    assert f"{scans / 'b.nii.gz'}: the image holds 1 NaN" in one_error_line(capsys)
    assert not out.exists()


def test_an_empty_checkpoint_says_so(tmp_path, capsys):
    # The message was "empty.pt: cannot read checkpoint ()".
    (tmp_path / "empty.pt").write_bytes(b"")
    image = _image(tmp_path / "in")
    argv = ["predict", str(tmp_path / "empty.pt"), str(image), str(tmp_path / "out.png")]
    assert main(argv) == 1
    assert "empty.pt: cannot read checkpoint (the file is empty)" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("in_channels=x", "stored model does not build (model.kwargs.in_channels:"),
        ("in_channels", "checkpoint has no 'in_channels' entry"),
    ],
)
def test_a_damaged_checkpoint_is_named(trained, tmp_path, capsys, change, message):
    # The message named a config key but not the checkpoint file (or was a bare KeyError).
    import torch

    state = torch.load(trained, weights_only=True)
    key, _, value = change.partition("=")
    if value:
        state[key] = value
    else:
        del state[key]
    damaged = tmp_path / "damaged.pt"
    torch.save(state, damaged)
    image = _image(tmp_path / "in")
    assert main(["predict", str(damaged), str(image), str(tmp_path / "out.png")]) == 1
    assert f"{damaged}: {message}" in one_error_line(capsys)


def test_predict_names_the_files_of_a_folder_it_skips(trained, tmp_path, capsys):
    # A folder of .nii.gz and .mha scans gave labels for the NIfTI ones only, silently.
    image = _image(tmp_path / "in")
    (image.parent / "scan.mha").write_bytes(b"not read")
    assert main(["predict", str(trained), str(image.parent), str(tmp_path / "out")]) == 0
    assert "skipping 1 file(s) that are not NIfTI or 2D images: scan.mha" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".boundaryloss-files.json",
        "img.png",
    ]
