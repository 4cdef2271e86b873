"""``predict`` writes label maps that hold the labels: lossless formats that fit the
input, no label map of an image with NaN, and the files of a folder it skips named."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.cli import main

from .conftest import one_error_line, png_image


@pytest.mark.parametrize("name", ["labels.jpg", "labels.jpeg"])
def test_predict_refuses_a_lossy_label_format(trained, tmp_path, capsys, name):
    # JPEG compression changes label values at every edge: a silent corruption.
    image = png_image(tmp_path / "in")
    assert main(["predict", str(trained), str(image), str(tmp_path / name)]) == 1
    line = one_error_line(capsys)
    assert f"output {tmp_path / name}" in line and "lossless" in line
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", ["labels.nii.gz", "labels.nii", "labels.txt"])
def test_predict_output_suffix_that_does_not_fit_a_2d_input(trained, tmp_path, capsys, name):
    # Used to fail with a message naming the hidden temporary file, not the output.
    image = png_image(tmp_path / "in")
    assert main(["predict", str(trained), str(image), str(tmp_path / name)]) == 1
    line = one_error_line(capsys)
    assert f"output {tmp_path / name}:" in line and ".tmp-" not in line
    assert not list(tmp_path.glob(".*"))


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


def test_predict_names_the_files_of_a_folder_it_skips(trained, tmp_path, capsys):
    # A folder of .nii.gz and .mha scans gave labels for the NIfTI ones only, silently.
    image = png_image(tmp_path / "in")
    (image.parent / "scan.mha").write_bytes(b"not read")
    assert main(["predict", str(trained), str(image.parent), str(tmp_path / "out")]) == 0
    assert "skipping 1 file(s) that are not NIfTI or 2D images: scan.mha" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".boundaryloss-files.json",
        "img.png",
    ]
