"""Prediction writes labels in the input's format, with the input's geometry."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.cli import main
from boundaryloss.data.io import read_image_2d, read_nifti, write_image_2d, write_nifti
from boundaryloss.training.engine import Trainer
from boundaryloss.training.predict import Predictor, read_input


@pytest.fixture
def trained_2d(tiny_config):
    config = tiny_config("train.epochs=1")
    Trainer(config).fit()
    return config.run_dir / "checkpoints" / "last.pt"


def test_predict_nifti_keeps_affine_and_shape(trained_2d, tmp_path):
    volume = np.random.default_rng(3).random((20, 24, 6)).astype(np.float32)
    affine = np.array([[0.0, -0.8, 0, 12.5], [0.9, 0, 0, -3.0], [0, 0, 2.5, 40.0], [0, 0, 0, 1]])
    source = tmp_path / "input" / "case_7.nii.gz"
    write_nifti(source, volume, affine=affine)
    output = tmp_path / "out"
    assert main(["predict", str(trained_2d), str(source.parent), str(output)]) == 0
    labels, spacing, written_affine = read_nifti(output / "case_7.nii.gz")
    assert labels.shape == (20, 24, 6)
    np.testing.assert_allclose(written_affine, affine)
    np.testing.assert_allclose(spacing, (0.9, 0.8, 2.5), rtol=1e-6)
    assert set(np.unique(labels)) <= {0, 1}


def test_predict_png(trained_2d, tmp_path):
    image = (np.random.default_rng(0).random((30, 41)) * 255).astype(np.uint8)
    write_image_2d(tmp_path / "image.png", image)
    assert (
        main(
            ["predict", str(trained_2d), str(tmp_path / "image.png"), str(tmp_path / "labels.png")]
        )
        == 0
    )
    assert read_image_2d(tmp_path / "labels.png").shape == (30, 41)


def test_wrong_channels_and_bad_inputs(trained_2d, tmp_path, capsys):
    rgb = np.zeros((8, 8, 3), np.uint8)
    write_image_2d(tmp_path / "rgb.png", rgb)
    predictor = Predictor.from_checkpoint(trained_2d)
    with pytest.raises(ValueError, match=r"rgb.png: the model expects 1 image channel\(s\), got 3"):
        predictor.segment(read_input(tmp_path / "rgb.png"))
    assert main(["predict", str(trained_2d), str(tmp_path / "missing"), str(tmp_path / "o")]) == 1
    assert "input not found" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="unsupported file type"):
        read_input(tmp_path / "notes.txt")


def test_checkpoint_from_another_architecture(trained_2d, tmp_path, capsys):
    import torch

    state = torch.load(trained_2d, weights_only=False)
    state["config"]["model"]["kwargs"] = {"base_channels": 8, "depth": 2}
    torch.save(state, tmp_path / "other.pt")
    assert main(["predict", str(tmp_path / "other.pt"), str(tmp_path), str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert "checkpoint does not fit this model" in err and "\n" not in err
