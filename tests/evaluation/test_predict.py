"""Prediction writes labels in the input's format, with the input's geometry."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from boundaryloss.cli import main
from boundaryloss.data.case import Case
from boundaryloss.data.io import read_image_2d, read_nifti, write_image_2d, write_nifti
from boundaryloss.evaluation.predict import Predictor, read_input
from boundaryloss.evaluation.probability_maps import read_probabilities
from boundaryloss.training.engine import Trainer
from tests.tiny_runs import TINY_PATCHES


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


def test_read_input_spacing_unit(tmp_path):
    write_nifti(tmp_path / "scan.nii.gz", np.zeros((6, 5, 4), np.float32), spacing=(0.7, 0.7, 3))
    write_image_2d(tmp_path / "photo.png", np.zeros((6, 5), np.uint8))
    scan, photo = read_input(tmp_path / "scan.nii.gz"), read_input(tmp_path / "photo.png")
    assert scan.spacing_unit == "mm" and scan.spacing == pytest.approx((0.7, 0.7, 3.0))
    assert photo.spacing_unit == "px" and photo.spacing == (1.0, 1.0)


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


def _itk_style_nifti(path, data, affine):
    """A NIfTI file as ITK-based tools (nnU-Net's SimpleITKIO) write it: qform and sform
    both set (code 1), units in mm, a description, an intensity display range."""
    image = nib.Nifti1Image(data, None)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm", "sec")
    image.header["descrip"] = b"2D slice"
    image.header["cal_max"] = 800.0
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))


@pytest.mark.parametrize("stored", [(30, 41), (30, 41, 1)])
def test_predict_2d_nifti_keeps_shape_affine_and_header(tiny_config, tmp_path, stored):
    """nnU-Net 2D datasets: one (X, Y) or (X, Y, 1) NIfTI per image. The labels are those of
    the 2D image (a model that slices volumes along axis 0 must not slice it), written
    with the input's shape, affine and header."""
    config = tiny_config("train.epochs=1", "data.slice_axis=0")
    Trainer(config).fit()
    checkpoint = config.run_dir / "checkpoints" / "last.pt"
    pixels = (np.random.default_rng(5).random((30, 41)) * 600).astype(np.float32)
    affine = np.array(
        [[0.0, -0.7, 0.0, 80.0], [0.6, 0.0, 0.0, -20.0], [0.0, 0.0, 3.0, 11.0], [0, 0, 0, 1.0]]
    )
    source = tmp_path / "imagesTs" / "slice_012_0000.nii.gz"
    _itk_style_nifti(source, pixels.reshape(stored), affine)
    output = tmp_path / "predictions"
    assert main(["predict", str(checkpoint), str(source.parent), str(output)]) == 0
    written = nib.load(str(output / "slice_012_0000.nii.gz"))
    labels = np.asarray(written.dataobj)
    assert labels.shape == stored and labels.dtype == np.uint8
    expected = Predictor.from_checkpoint(checkpoint).segment(
        Case("slice", pixels[None], None, (0.6, 0.7), spacing_unit="mm")
    )
    np.testing.assert_array_equal(labels.reshape(30, 41), expected)
    np.testing.assert_allclose(written.affine, affine, atol=1e-6)
    header, original = written.header, nib.load(str(source)).header
    for key in ("qform_code", "sform_code", "descrip", "xyzt_units"):
        assert header[key] == original[key], key
    np.testing.assert_allclose(header.get_qform(), original.get_qform(), atol=1e-6)
    np.testing.assert_allclose(header.get_zooms(), original.get_zooms())
    assert header["cal_max"] == 0  # the input's intensity range says nothing of labels
    assert sorted(p.name for p in source.parent.iterdir()) == ["slice_012_0000.nii.gz"]


def test_2d_nifti_to_a_3d_model_is_one_line(tiny_config, tmp_path, capsys):
    config = tiny_config(*TINY_PATCHES[3], "train.epochs=1", name="run3d")
    Trainer(config).fit()
    checkpoint = config.run_dir / "checkpoints" / "last.pt"
    capsys.readouterr()  # the training's epoch line
    for stored in ((16, 16), (16, 16, 1)):
        source = tmp_path / "in" / "slice.nii.gz"
        write_nifti(source, np.zeros(stored, np.float32), spacing=(0.8, 0.8))
        assert main(["predict", str(checkpoint), str(source), str(tmp_path / "o.nii.gz")]) == 1
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "Traceback" not in err
        assert (
            f"{source}: the model is 3D and segments volumes; this is a 2D image of shape " in err
        )
        assert err.endswith(f"{stored}")
        assert not (tmp_path / "o.nii.gz").exists()


# --- --probabilities ----------------------------------------------------------------------


def test_probabilities_beside_nifti_labels_keep_geometry(trained_2d, tmp_path, capsys):
    volume = np.random.default_rng(4).random((20, 24, 3)).astype(np.float32)
    affine = np.array([[0.0, -0.8, 0, 12.5], [0.9, 0, 0, -3.0], [0, 0, 2.5, 40.0], [0, 0, 0, 1]])
    source = tmp_path / "input" / "case_7.nii.gz"
    write_nifti(source, volume, affine=affine)
    output = tmp_path / "out"
    args = ["predict", str(trained_2d), str(source.parent), str(output), "--probabilities"]
    assert main(args) == 0
    assert "1 label map(s) and 1 probability map(s) written" in capsys.readouterr().out
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith(".")) == [
        "case_7.nii.gz",
        "case_7.probabilities.nii.gz",
    ]
    written = nib.load(str(output / "case_7.probabilities.nii.gz"))
    stored = np.asarray(written.dataobj)
    assert stored.shape == (20, 24, 3, 2) and stored.dtype == np.float32
    np.testing.assert_allclose(written.affine, affine)
    expected = Predictor.from_checkpoint(trained_2d).probabilities(read_input(source))
    np.testing.assert_array_equal(np.moveaxis(stored, -1, 0), expected)
    np.testing.assert_allclose(stored.sum(-1), 1.0, atol=1e-5)
    labels = np.asarray(nib.load(str(output / "case_7.nii.gz")).dataobj)
    np.testing.assert_array_equal(labels, stored.argmax(-1))


@pytest.mark.parametrize("stored", [(30, 41), (30, 41, 1)])
def test_probabilities_of_a_2d_nifti_add_a_class_axis_to_its_stored_shape(
    trained_2d, tmp_path, stored
):
    pixels = np.random.default_rng(6).random((30, 41)).astype(np.float32)
    source = tmp_path / "in" / "slice.nii"
    write_nifti(source, pixels.reshape(stored), spacing=(0.6, 0.7))
    output = tmp_path / "labels.nii"  # a single input to a file name: .nii stays .nii
    assert main(["predict", str(trained_2d), str(source), str(output), "--probabilities"]) == 0
    probabilities = read_probabilities(tmp_path / "labels.probabilities.nii")[0]
    assert probabilities.shape == (2, *stored)
    labels = np.asarray(nib.load(str(output)).dataobj)
    np.testing.assert_array_equal(labels, probabilities.argmax(0))


def test_probabilities_of_a_png_are_an_npz(trained_2d, tmp_path):
    image = (np.random.default_rng(0).random((30, 41)) * 255).astype(np.uint8)
    write_image_2d(tmp_path / "in" / "image.png", image)
    output = tmp_path / "out"
    assert (
        main(["predict", str(trained_2d), str(tmp_path / "in"), str(output), "--probabilities"])
        == 0
    )
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith(".")) == [
        "image.png",
        "image.probabilities.npz",
    ]
    with np.load(output / "image.probabilities.npz") as archive:
        assert archive.files == ["probabilities"]
        probabilities = archive["probabilities"]
    assert probabilities.shape == (2, 30, 41) and probabilities.dtype == np.float32
    expected = Predictor.from_checkpoint(trained_2d).probabilities(
        read_input(tmp_path / "in" / "image.png")
    )
    np.testing.assert_array_equal(probabilities, expected)
    np.testing.assert_array_equal(read_image_2d(output / "image.png"), probabilities.argmax(0))


def test_without_probabilities_only_labels_are_written(trained_2d, tmp_path):
    write_image_2d(tmp_path / "in" / "image.png", np.zeros((30, 41), np.uint8))
    assert main(["predict", str(trained_2d), str(tmp_path / "in"), str(tmp_path / "out")]) == 0
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name[0] != "."] == ["image.png"]


def test_evaluate_folder_scores_what_predict_probabilities_wrote(trained_2d, tmp_path):
    """The output folder of ``predict --probabilities`` (label and probability maps side
    by side) is evaluated as it is: the label maps scored, the AUPR of the pooled
    probabilities reported."""
    from sklearn.metrics import average_precision_score

    from boundaryloss.evaluation.evaluate_folder import evaluate_folder

    rng = np.random.default_rng(2)
    scores, truth = [], []
    predictor = Predictor.from_checkpoint(trained_2d)
    for name in ("a", "b"):
        write_image_2d(
            tmp_path / "in" / f"{name}.png", (rng.random((30, 41)) * 255).astype(np.uint8)
        )
        reference = (rng.random((30, 41)) < 0.2).astype(np.uint8)
        write_image_2d(tmp_path / "ref" / f"{name}.png", reference)
        scores.append(predictor.probabilities(read_input(tmp_path / "in" / f"{name}.png"))[1])
        truth.append(reference == 1)
    args = ["predict", str(trained_2d), str(tmp_path / "in"), str(tmp_path / "out")]
    assert main([*args, "--probabilities"]) == 0
    result = evaluate_folder(tmp_path / "out", tmp_path / "ref")
    assert result.summary["probabilities"] is True
    expected = average_precision_score(np.concatenate(truth, None), np.concatenate(scores, None))
    assert result.summary["pixel_level"][1]["aupr"] == pytest.approx(expected, rel=1e-12)
    assert [c.pred.name for c in result.cases] == ["a.png", "b.png"]
