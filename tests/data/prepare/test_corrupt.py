"""Corrupt and truncated source files: every one is decoded, named, and nothing is written."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from boundaryloss.data.prepare import prepare_dataset

from .helpers import listing
from .layouts import (
    KITS_AFFINE,
    isles_series_file,
    make_drive,
    make_isles2018,
    make_kits19,
    save_nifti,
)


@pytest.fixture
def kits(tmp_path):
    return make_kits19(tmp_path / "kits19")


def imaging(src, number: int = 1):
    return src / "data" / f"case_{number:05d}" / "imaging.nii.gz"


def segmentation(src, number: int = 1):
    return src / "data" / f"case_{number:05d}" / "segmentation.nii.gz"


#: Large enough that a cut gzip stream still holds the whole header.
BIG = (48, 40, 32)


def noisy_case(src, number: int) -> None:
    """Rewrite a KiTS19 case with random voxels of shape :data:`BIG` (a small constant
    volume compresses to a few bytes, so any cut would fall inside its header)."""
    rng = np.random.default_rng(number)
    save_nifti(imaging(src, number), rng.integers(-1000, 3000, BIG).astype(np.int16), KITS_AFFINE)
    if segmentation(src, number).is_file():
        label = rng.integers(0, 3, BIG).astype(np.uint8)
        save_nifti(segmentation(src, number), label, KITS_AFFINE)


def truncate(path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def expect_nothing_written(src, dst, match: str, overwrite: bool = False) -> None:
    """Preparing KiTS19 from ``src`` fails with ``match`` and leaves ``dst``'s folder as it was."""
    before = listing(dst.parent)
    with pytest.raises(ValueError, match=match):
        prepare_dataset("kits19", src, dst, overwrite)
    assert listing(dst.parent) == before  # no partial destination, no temporaries


def test_truncated_gzip_image_is_named(kits, tmp_path):
    noisy_case(kits, 1)
    truncate(imaging(kits))
    expect_nothing_written(
        kits,
        tmp_path / "out",
        r"case_00001/imaging\.nii\.gz: corrupt or truncated gzip data",
    )


def test_truncated_label_is_named(kits, tmp_path):
    noisy_case(kits, 0)
    truncate(segmentation(kits, 0))
    expect_nothing_written(
        kits, tmp_path / "out", r"case_00000/segmentation\.nii\.gz: corrupt or truncated"
    )


def test_bad_crc_in_the_gzip_trailer(kits, tmp_path):
    # The voxels decode; only the trailer's checksum tells the file is damaged.
    path = imaging(kits, 210)
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF
    path.write_bytes(bytes(data))
    assert np.asanyarray(nib.load(str(path)).dataobj).shape == (8, 9, 5)
    expect_nothing_written(kits, tmp_path / "out", r"case_00210/imaging\.nii\.gz: corrupt")


def test_complete_gzip_stream_of_a_short_file(kits, tmp_path):
    # A well-formed gzip stream whose content stops before the header's voxels end.
    noisy_case(kits, 1)
    path = imaging(kits)
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: len(raw) - 40]))
    expect_nothing_written(
        kits,
        tmp_path / "out",
        r"imaging\.nii\.gz: truncated NIfTI file: \d+ bytes of data, its header needs \d+",
    )


def test_truncated_file_with_overwrite_keeps_the_old_destination(kits, tmp_path):
    dst = tmp_path / "out"
    prepare_dataset("kits19", kits, dst)
    (dst / "keep.txt").write_text("mine")
    before = listing(dst)
    noisy_case(kits, 210)
    truncate(imaging(kits, 210))
    expect_nothing_written(kits, dst, r"imaging\.nii\.gz: corrupt", overwrite=True)
    assert listing(dst) == before


def test_truncated_uncompressed_nifti(tmp_path):
    src = make_isles2018(tmp_path / "isles2018")
    path = isles_series_file(src, "TRAINING/case_2", "CT_CBV")
    truncate(path, keep=0.9)
    with pytest.raises(ValueError, match=r"CT_CBV\.\d+\.nii: "):
        prepare_dataset("isles2018", src, tmp_path / "out")
    assert listing(tmp_path) == ["isles2018"]


@pytest.mark.parametrize(
    "relative", ["training/images/22_training.tif", "test/2nd_manual/01_manual2.gif"]
)
def test_truncated_2d_files(tmp_path, relative):
    src = make_drive(tmp_path / "DRIVE")
    truncate(src / relative, keep=0.5)
    with pytest.raises(ValueError, match=rf"{relative.split('/')[-1]}: cannot read image"):
        prepare_dataset("drive", src, tmp_path / "out")
    assert listing(tmp_path) == ["DRIVE"]


def test_intact_files_are_copied_byte_for_byte(kits, tmp_path):
    save_nifti(imaging(kits), np.arange(360, dtype=np.int16).reshape(8, 9, 5), KITS_AFFINE)
    prepare_dataset("kits19", kits, tmp_path / "out")
    written = tmp_path / "out" / "imagesTr" / "case_00001_0000.nii.gz"
    assert written.read_bytes() == imaging(kits).read_bytes()
