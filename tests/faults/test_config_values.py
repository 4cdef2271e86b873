"""Configuration values and files are checked before a run starts; the one-line error
names the key or the file."""

from __future__ import annotations

import pytest

from boundaryloss.cli import main

from .conftest import one_error_line, train, write_msd


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


@pytest.mark.parametrize("where", ["synthetic", "msd"])
def test_labels_beyond_num_classes_are_refused_at_setup(tmp_path, capsys, where):
    # Used to fail at the first training step with the loss's message, naming no key.

    if where == "synthetic":
        extra = ["data.synthetic.num_classes=3"]
    else:
        root = write_msd(tmp_path / "data", [(20, 24, 4)] * 4, num_labels=3)
        extra = ["data.source=msd", f"data.root={root}", "data.val_fraction=0.25"]
    assert train(tmp_path / "out", "run", "data.num_classes=2", *extra) == 1
    line = one_error_line(capsys)
    assert "data.num_classes: 2, but" in line and "class(es) 2" in line
    assert not (tmp_path / "out").exists()
