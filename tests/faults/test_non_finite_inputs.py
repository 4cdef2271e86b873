"""NaN and infinity in inputs and outputs are refused where they enter, naming the file.

A NaN voxel in a training image used to be accepted at set-up; the run then stopped
with "network output became NaN", naming no file. A NaN voxel size in a NIfTI header
was reported as "spacing (nan, ...) differs from the reference (nan, ...)". A checkpoint
whose network gives NaN made ``predict`` write all-background label maps and exit 0.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import torch

from boundaryloss.cli import main
from boundaryloss.data.io import read_nifti, write_nifti

from .conftest import TINY, one_error_line, write_msd


def _nan_pixdim(path, value=np.nan) -> None:
    """Rewrite a NIfTI file with the first voxel size of its header set to ``value``."""
    image = nib.load(str(path))
    header = image.header.copy()
    header["pixdim"][1] = value
    nib.save(nib.Nifti1Image(np.asarray(image.dataobj), image.affine, header), str(path))


def test_a_training_image_with_a_nan_voxel_is_refused_at_setup(tmp_path, capsys):
    root = write_msd(tmp_path / "Task", [(16, 16, 4)] * 6)
    for path in sorted((root / "imagesTr").iterdir()):  # every case: a training one too
        image = np.asarray(nib.load(str(path)).dataobj).copy()
        image[3, 4, 1] = np.nan
        write_nifti(path, image)
    output = tmp_path / "out"
    source = ["data.source=msd", f"data.root={root}"]
    argv = ["train", f"output_dir={output}", "name=run", *TINY, *source]
    assert main(argv) == 1
    line = one_error_line(capsys)
    assert f"{root / 'imagesTr'}/case_00" in line
    assert "the image holds 1 NaN or infinite value(s) (channel(s) 0)" in line
    assert not output.exists()


def test_a_nan_voxel_size_is_refused_when_the_file_is_read(tmp_path):
    path = tmp_path / "scan.nii.gz"
    write_nifti(path, np.zeros((4, 4, 3), np.float32))
    _nan_pixdim(path)
    with pytest.raises(ValueError, match=r"scan\.nii\.gz: the header's voxel size \(pixdim\)"):
        read_nifti(path)


def test_evaluate_folder_names_the_nan_voxel_size_not_a_difference(tmp_path, capsys):
    label = np.zeros((8, 8, 4), np.uint8)
    label[2:5, 2:5, 1:3] = 1
    for folder in ("pred", "ref"):
        write_nifti(tmp_path / folder / "a.nii.gz", label)
        _nan_pixdim(tmp_path / folder / "a.nii.gz")
    args = [str(tmp_path / "pred"), str(tmp_path / "ref"), "--output", str(tmp_path / "s.csv")]
    assert main(["evaluate-folder", *args]) == 1
    line = one_error_line(capsys)
    assert "a.nii.gz: the header's voxel size (pixdim) (nan, 1.0, 1.0)" in line
    assert "differs" not in line
    assert not (tmp_path / "s.csv").exists()


def test_predict_refuses_an_input_with_a_nan_voxel_size(trained, tmp_path, capsys):
    scan = tmp_path / "scan.nii.gz"
    write_nifti(scan, np.random.default_rng(0).random((20, 24, 3)).astype(np.float32))
    _nan_pixdim(scan)
    out = tmp_path / "out.nii.gz"
    assert main(["predict", str(trained), str(scan), str(out)]) == 1
    assert f"{scan}: the header's voxel size (pixdim)" in one_error_line(capsys)
    assert not out.exists()


def test_predict_refuses_a_network_that_outputs_nan(trained, tmp_path, capsys):
    state = torch.load(trained, map_location="cpu", weights_only=True)
    state["model"] = {
        name: torch.full_like(value, float("nan")) if value.is_floating_point() else value
        for name, value in state["model"].items()
    }
    broken = tmp_path / "broken.pt"
    torch.save(state, broken)
    scan = tmp_path / "scan.nii.gz"
    write_nifti(scan, np.random.default_rng(0).random((20, 24, 3)).astype(np.float32))
    out = tmp_path / "out.nii.gz"
    assert main(["predict", str(broken), str(scan), str(out)]) == 1
    assert f"{scan}: the network output is NaN or infinite" in one_error_line(capsys)
    assert not out.exists()
