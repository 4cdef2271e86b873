"""File io: NIfTI and 2D round trips, channel-first float reading, atomic writes, errors."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from boundaryloss.data.io import (
    atomic_path,
    read_grey_2d,
    read_image_2d,
    read_image_channels,
    read_mask_2d,
    read_nifti,
    spacing_unit_of,
    write_image_2d,
    write_nifti,
    write_png,
    write_text_atomically,
)

from .layouts import affine


def _only(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- NIfTI ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Nifti1Image", "Nifti2Image"])
def test_nifti_written_with_a_template_header(tmp_path, kind):
    """Labels written with an input's header: its codes and units stay, its NIfTI version
    too; its intensity scaling and display range go."""
    import nibabel as nib

    matrix = affine(spacing=(0.7, 0.8, 2.5))
    source = getattr(nib, kind)(np.arange(60, dtype=np.int16).reshape(3, 4, 5), None)
    source.set_qform(matrix, code=1)
    source.set_sform(matrix, code=4)
    source.header.set_xyzt_units("mm", "sec")
    source.header.set_slope_inter(0.5, -3.0)
    source.header["cal_max"] = 900.0
    nib.save(source, str(tmp_path / "image.nii"))
    template = nib.load(str(tmp_path / "image.nii"))
    labels = (np.arange(60).reshape(3, 4, 5) % 3).astype(np.uint8)
    write_nifti(tmp_path / "labels.nii.gz", labels, template.affine, header=template.header)
    written = nib.load(str(tmp_path / "labels.nii.gz"))
    assert type(written).__name__ == kind
    np.testing.assert_array_equal(np.asarray(written.dataobj), labels)
    assert np.asarray(written.dataobj).dtype == np.uint8
    assert (written.header["qform_code"], written.header["sform_code"]) == (1, 4)
    assert written.header.get_xyzt_units() == ("mm", "sec")
    assert written.header["cal_max"] == 0
    np.testing.assert_allclose(written.affine, matrix)


def test_nifti_2d_spacing_gets_1mm_along_the_third_axis(tmp_path):
    write_nifti(tmp_path / "x.nii", np.zeros((3, 4), np.uint8), spacing=(0.5, 0.25))
    data, spacing, matrix = read_nifti(tmp_path / "x.nii")
    assert data.shape == (3, 4) and spacing == (0.5, 0.25)
    np.testing.assert_allclose(matrix, np.diag([0.5, 0.25, 1.0, 1.0]))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_nifti_round_trip_keeps_affine_spacing_dtype(tmp_path, dtype):
    rng = np.random.default_rng(0)
    data = (rng.random((7, 5, 4)) * 100).astype(dtype)
    matrix = affine(spacing=(0.7, 0.8, 2.5))
    matrix[:3, :3] = matrix[:3, :3] @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])  # rotated
    write_nifti(tmp_path / "x.nii.gz", data, matrix)
    read, spacing, read_affine = read_nifti(tmp_path / "x.nii.gz")
    assert read.dtype == dtype
    np.testing.assert_array_equal(read, data)
    np.testing.assert_allclose(spacing, (0.8, 0.7, 2.5), rtol=1e-6)  # zooms of rotated axes
    np.testing.assert_allclose(read_affine, matrix, atol=1e-6)


def test_nifti_4d_and_spacing_only(tmp_path):
    data = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    write_nifti(tmp_path / "x.nii", data, spacing=(1.5, 1.5, 3.0))
    read, spacing, matrix = read_nifti(tmp_path / "x.nii")
    assert read.shape == (2, 3, 4, 2) and spacing == (1.5, 1.5, 3.0)
    np.testing.assert_allclose(matrix, np.diag([1.5, 1.5, 3.0, 1.0]))


def test_nifti_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"missing\.nii\.gz: file not found"):
        read_nifti(tmp_path / "missing.nii.gz")
    (tmp_path / "bad.nii.gz").write_bytes(gzip.compress(b"\x00" * 100))
    with pytest.raises(ValueError, match=r"bad\.nii\.gz: cannot read NIfTI"):
        read_nifti(tmp_path / "bad.nii.gz")


# --- 2D images ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif", ".gif", ".pgm", ".bmp"])
def test_grey_round_trip(tmp_path, suffix):
    data = np.random.default_rng(1).integers(0, 256, (9, 7), dtype=np.uint8)
    if suffix == ".gif":
        data = (data > 127).astype(np.uint8) * 255  # GIF: a palette, used here for labels
    write_image_2d(tmp_path / f"x{suffix}", data)
    np.testing.assert_array_equal(read_image_2d(tmp_path / f"x{suffix}"), data)
    np.testing.assert_allclose(read_image_channels(tmp_path / f"x{suffix}"), data[None] / 255.0)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".ppm"])
def test_rgb_round_trip_channel_first(tmp_path, suffix):
    data = np.random.default_rng(2).integers(0, 256, (9, 7, 3), dtype=np.uint8)
    write_image_2d(tmp_path / f"x{suffix}", data)
    np.testing.assert_array_equal(read_image_2d(tmp_path / f"x{suffix}"), data)
    channels = read_image_channels(tmp_path / f"x{suffix}")
    assert channels.shape == (3, 9, 7) and channels.dtype == np.float32
    np.testing.assert_allclose(channels, np.moveaxis(data, -1, 0) / 255.0)


def test_png_writer_16_bit_bool_and_lossy_jpeg(tmp_path):
    wide = np.arange(63, dtype=np.uint16).reshape(9, 7) * 1000
    write_png(tmp_path / "wide.png", wide)
    np.testing.assert_array_equal(read_image_2d(tmp_path / "wide.png"), wide)
    np.testing.assert_allclose(read_image_channels(tmp_path / "wide.png")[0], wide / 65535.0)
    mask = np.eye(5, dtype=bool)
    write_png(tmp_path / "mask.png", mask)
    np.testing.assert_array_equal(read_mask_2d(tmp_path / "mask.png"), mask)
    write_image_2d(tmp_path / "photo.jpg", np.full((8, 8, 3), 128, np.uint8))
    assert read_image_channels(tmp_path / "photo.jpg").shape == (3, 8, 8)


def test_channels_of_palette_alpha_and_bilevel_images(tmp_path):
    from PIL import Image

    colour = np.zeros((6, 6, 3), np.uint8)
    colour[:3, :, 0] = 255
    Image.fromarray(colour).convert("P").save(tmp_path / "colour.gif")
    assert read_image_channels(tmp_path / "colour.gif").shape == (3, 6, 6)
    Image.fromarray(np.dstack([colour, np.full((6, 6), 9, np.uint8)])).save(tmp_path / "a.png")
    rgb = np.moveaxis(colour, -1, 0) / 255
    np.testing.assert_allclose(read_image_channels(tmp_path / "a.png"), rgb)
    Image.fromarray(np.eye(6, dtype=bool)).convert("1").save(tmp_path / "bilevel.png")
    assert set(np.unique(read_image_2d(tmp_path / "bilevel.png"))) == {0, 255}
    np.testing.assert_array_equal(read_image_channels(tmp_path / "bilevel.png")[0], np.eye(6))


def test_gzipped_image(tmp_path):
    data = np.random.default_rng(3).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    write_image_2d(tmp_path / "im0001.ppm", data)
    (tmp_path / "im0001.ppm.gz").write_bytes(gzip.compress((tmp_path / "im0001.ppm").read_bytes()))
    np.testing.assert_array_equal(read_image_2d(tmp_path / "im0001.ppm.gz"), data)


def test_image_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"none\.png: file not found"):
        read_image_2d(tmp_path / "none.png")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG junk")
    with pytest.raises(ValueError, match=r"junk\.png: cannot read image"):
        read_image_channels(tmp_path / "junk.png")
    (tmp_path / "junk.ppm.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match=r"junk\.ppm\.gz: cannot read image"):
        read_image_2d(tmp_path / "junk.ppm.gz")
    write_image_2d(tmp_path / "colour.png", np.arange(27, dtype=np.uint8).reshape(3, 3, 3))
    with pytest.raises(ValueError, match=r"colour\.png: label has colour channels that differ"):
        read_grey_2d(tmp_path / "colour.png")
    write_png(tmp_path / "grey.png", np.full((3, 3), 40, np.uint8))
    with pytest.raises(ValueError, match=r"grey\.png: mask values \{40\}"):
        read_mask_2d(tmp_path / "grey.png")
    with pytest.raises(ValueError, match=r"x\.xyz: unknown image suffix"):
        write_image_2d(tmp_path / "x.xyz", np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"x\.png: expected a \(H, W\) grey"):
        write_png(tmp_path / "x.png", np.zeros((3, 3, 2), np.uint8))


# --- atomic writes --------------------------------------------------------------------------


def test_atomic_writes_leave_no_temporaries(tmp_path):
    write_text_atomically(tmp_path / "a.json", "{}")
    write_png(tmp_path / "b.png", np.zeros((3, 3), np.uint8))
    write_nifti(tmp_path / "c.nii.gz", np.zeros((3, 3, 3), np.uint8))
    assert _only(tmp_path) == ["a.json", "b.png", "c.nii.gz"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and _only(tmp_path) == ["out.txt"]

    write_png(tmp_path / "img.png", np.full((3, 3), 7, np.uint8))
    with pytest.raises(TypeError):  # Pillow cannot write float RGB: fails mid-write
        write_png(tmp_path / "img.png", np.zeros((3, 3, 3), np.float64))
    np.testing.assert_array_equal(read_image_2d(tmp_path / "img.png"), np.full((3, 3), 7))
    write_nifti(tmp_path / "v.nii.gz", np.ones((2, 2, 2), np.int16))
    import nibabel

    def fail_half_way(image, filename):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(nibabel, "save", fail_half_way)
    with pytest.raises(OSError, match="disk full"):
        write_nifti(tmp_path / "v.nii.gz", np.zeros((2, 2, 2), np.int16))
    monkeypatch.undo()
    np.testing.assert_array_equal(read_nifti(tmp_path / "v.nii.gz")[0], np.ones((2, 2, 2)))
    assert _only(tmp_path) == ["img.png", "out.txt", "v.nii.gz"]


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("case_001.nii.gz", "mm"),
        ("case_001.nii", "mm"),
        ("CASE.NII.GZ", "mm"),
        ("21_training.tif", "px"),
        ("21_manual1.gif", "px"),
        ("im0001.ppm.gz", "px"),  # STARE's compressed images
        ("photo.JPG", "px"),
    ],
)
def test_a_files_spacing_unit_is_decided_by_its_type(name, unit):
    assert spacing_unit_of(name) == unit
    assert spacing_unit_of(Path("folder") / name) == unit
