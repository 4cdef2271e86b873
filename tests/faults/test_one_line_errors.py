"""Each mistake a user can make is one line naming the key, path or value; exit 1."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from boundaryloss.cli import main
from boundaryloss.data.io import write_nifti

from .conftest import one_error_line, train, write_msd


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("train.val_every=0", "train.val_every"),
        ("train.max_steps_per_epoch=0", "train.max_steps_per_epoch"),
        ("train.checkpoint_every_steps=-1", "train.checkpoint_every_steps"),
        ("optim.patience=-1", "optim.patience"),
        ("optim.lr=0", "optim.lr"),
        ("optim.factor=1.5", "optim.factor"),
        ("data.num_workers=-1", "data.num_workers"),
        ("data.num_classes=1", "data.num_classes"),
        ("data.val_fraction=1", "data.val_fraction"),
        ("model.kwargs={base_channels: 64, depth: 14}", "model.kwargs"),
        ("data.slice_axis=5", "data.slice_axis"),
        ("train.precision=banana", "train"),
        ("train.strategy=banana", "train"),
        ("data.synthetic.cases=1", "data"),
    ],
)
def test_nonsense_values_are_refused_before_anything_is_written(tmp_path, capsys, override, key):
    output = tmp_path / "out"
    assert train(output, "run", override) == 1
    assert f"error: {key}:" in one_error_line(capsys)
    assert not output.exists()


def test_output_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    assert train(tmp_path / "file", "run") == 1
    assert "output_dir:" in one_error_line(capsys)
    assert (tmp_path / "file").read_text() == "mine"


def test_a_network_too_deep_for_its_images(tmp_path, capsys):
    output = tmp_path / "out"
    # 3 training images, batches of 2: the last batch holds one image, whose one-pixel
    # bottleneck batch normalisation cannot normalise.
    tiny = ["model.kwargs={base_channels: 2, depth: 7}", "data.synthetic.cases=4"]
    assert train(output, "run", *tiny) == 1
    line = one_error_line(capsys)
    assert "model.kwargs" in line and "does not fit training samples of size [32, 32]" in line
    assert not output.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_accelerator_without_cuda(tmp_path, capsys):
    assert train(tmp_path, "run", "train.accelerator=cuda") == 1
    assert "train.accelerator: 'cuda' but CUDA is not available" in one_error_line(capsys)


@pytest.mark.parametrize("device", ["banana", "cuda:0", "cuda:99"])
def test_predict_device(trained, tmp_path, capsys, device):
    if device == "cuda:0" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    image = tmp_path / "a.nii.gz"
    write_nifti(image, np.zeros((8, 8, 2), dtype=np.float32))
    argv = ["predict", str(trained), str(image), str(tmp_path / "b.nii.gz"), "--device", device]
    assert main(argv) == 1
    assert f"device {device!r}" in one_error_line(capsys)


def test_batch_larger_than_the_training_set(tmp_path, capsys):
    # 6 synthetic cases, one for validation: 5 training samples.
    assert train(tmp_path / "runs", "run", "data.batch_size=9") == 1
    assert one_error_line(capsys) == (
        "boundaryloss train: error: data.batch_size: 9 is larger than the 5 training samples "
        "of an epoch; use at most 5 (or raise data.samples_per_epoch)"
    )
    assert not (tmp_path / "runs").exists()
    assert train(tmp_path / "runs", "run", "data.batch_size=9", "data.samples_per_epoch=9") == 0


def test_2d_training_on_3d_volumes_of_different_sizes(tmp_path, capsys):
    root = write_msd(tmp_path / "data", [(20, 24, 4), (18, 26, 4), (20, 24, 4), (22, 20, 4)])
    argv = ["data.source=msd", f"data.root={root}", "data.val_fraction=0.25"]
    assert train(tmp_path / "runs", "run", *argv, "data.batch_size=3") == 1
    line = one_error_line(capsys)
    assert "data.patch_size" in line and "different sizes" in line
    assert not (tmp_path / "runs").exists()  # found at set-up, before any write
    assert train(tmp_path / "runs", "run", *argv, "data.resize=[20, 24, 4]") == 0


def test_unwritable_output_of_train(unwritable, capsys):
    assert train(unwritable, "run") == 1
    assert str(unwritable.parent) in one_error_line(capsys)


def test_unwritable_output_of_evaluate(trained, unwritable, capsys):
    run = trained.parents[1]
    assert main(["evaluate", str(run), "--checkpoint", "last", "--output", str(unwritable)]) == 1
    assert str(unwritable.parent) in one_error_line(capsys)


def test_unwritable_output_of_predict(trained, tmp_path, unwritable, capsys):
    image = tmp_path / "a.nii.gz"
    write_nifti(image, np.zeros((8, 8, 2), dtype=np.float32))
    assert main(["predict", str(trained), str(image), str(unwritable / "a.nii.gz")]) == 1
    assert str(unwritable.parent) in one_error_line(capsys)


def test_unwritable_output_of_prepare(tmp_path, unwritable, capsys):
    from tests.data.prepare.layouts import make_drive

    src = make_drive(tmp_path / "DRIVE")
    assert main(["prepare", "drive", str(src), str(unwritable), "--quiet"]) == 1
    assert str(unwritable.parent) in one_error_line(capsys)


def test_evaluate_into_the_run_directory_is_refused(trained, capsys):
    run = trained.parents[1]
    summary = (run / "summary.json").read_bytes()
    assert main(["evaluate", str(run), "--checkpoint", "last", "--output", str(run)]) == 1
    assert "is a run directory" in one_error_line(capsys)
    assert (run / "summary.json").read_bytes() == summary


def test_more_classes_than_the_labels_have_is_said_and_not_averaged(tmp_path, capsys):
    root = write_msd(tmp_path / "data", [(20, 24, 4)] * 4, num_labels=2)
    argv = ["data.source=msd", f"data.root={root}", "data.val_fraction=0.25"]
    assert train(tmp_path / "runs", "run", *argv, "data.num_classes=3") == 0
    err = capsys.readouterr().err
    assert "data.num_classes is 3 but the labels never contain class(es) 2" in err

    row = json.loads((tmp_path / "runs" / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert "val_dice/2" in row  # reported per class...
    assert row["val_dice_mean"] == pytest.approx(row["val_dice/1"])  # ...not averaged
