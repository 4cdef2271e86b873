"""``boundaryloss nnunet-trainers-path`` and nnU-Net's lookup of the trainers through it."""

from __future__ import annotations

import importlib.util

import pytest

from boundaryloss.cli import main
from boundaryloss.nnunet import paths


def test_cli_prints_the_folder(capsys):
    if importlib.util.find_spec("nnunetv2") is None:
        pytest.skip("nnunetv2 is not installed (extra boundaryloss[nnunet])")
    assert main(["nnunet-trainers-path"]) == 0
    out = capsys.readouterr().out
    assert out == f"{paths.TRAINERS_FOLDER}\n"
    assert paths.TRAINERS_FOLDER.is_dir()


def test_cli_without_nnunetv2_is_one_line(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nnunetv2" else real(name, *a)
    )
    assert main(["nnunet-trainers-path"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "boundaryloss nnunet-trainers-path: error: No module named 'nnunetv2': the nnU-Net "
        'integration needs the nnunet extra: pip install "boundaryloss[nnunet]"\n'
    )


def test_nnunet_finds_every_trainer_by_name(monkeypatch):
    """nnU-Net's own lookup over the printed folder returns our classes, by name."""
    pytest.importorskip("nnunetv2", reason="nnunetv2 is not installed (boundaryloss[nnunet])")
    from nnunetv2.utilities.find_class_by_name import recursive_find_python_class

    from boundaryloss.nnunet import trainers

    folder = str(paths.trainers_path())
    for trainer in trainers.TRAINERS:
        # nnU-Net's arguments for nnUNet_extTrainer folders (utilities/find_objects.py)
        found = recursive_find_python_class(
            folder,
            trainer.__name__,
            None,
            base_folder=folder,
            cleanup_imports_from_base_folder=True,
        )
        assert found is trainer
    missing = recursive_find_python_class(
        folder, "nnUNetTrainerNoSuchThing", None, cleanup_imports_from_base_folder=True
    )
    assert missing is None
