from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.prepare import prepare_dataset

from .helpers import listing, load, load_json
from .layouts import KITS_AFFINE, SHAPE, make_kits19, save_nifti


@pytest.fixture
def src(tmp_path):
    return make_kits19(tmp_path / "kits19")


def test_training_and_test_cases_keep_the_zyx_affine(src, tmp_path):
    dst = tmp_path / "out"
    result = prepare_dataset("kits19", src, dst)
    assert (result.num_training, result.num_test) == (2, 1)
    assert listing(dst / "imagesTr") == ["case_00000_0000.nii.gz", "case_00001_0000.nii.gz"]
    assert listing(dst / "imagesTs") == ["case_00210_0000.nii.gz"]
    assert listing(dst / "labelsTr") == ["case_00000.nii.gz", "case_00001.nii.gz"]
    # The image is a byte copy of imaging.nii.gz.
    original = (src / "data" / "case_00001" / "imaging.nii.gz").read_bytes()
    assert (dst / "imagesTr" / "case_00001_0000.nii.gz").read_bytes() == original
    for path in (
        dst / "imagesTr" / "case_00000_0000.nii.gz",
        dst / "labelsTr" / "case_00000.nii.gz",
    ):
        data, image = load(path)
        assert data.shape == SHAPE
        np.testing.assert_allclose(image.affine, KITS_AFFINE)
        assert image.header.get_zooms() == pytest.approx((3.0, 0.78, 0.78))
    label, _ = load(dst / "labelsTr" / "case_00001.nii.gz")
    assert set(np.unique(label)) == {0, 1, 2}
    meta = load_json(dst)
    assert meta["labels"] == {"background": 0, "kidney": 1, "tumor": 2}
    assert meta["channel_names"] == {"0": "CT"}
    assert meta["test"] == ["./imagesTs/case_00210.nii.gz"]


def test_training_case_without_segmentation(src, tmp_path):
    (src / "data" / "case_00001" / "segmentation.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"case case_00001: missing segmentation.nii.gz"):
        prepare_dataset("kits19", src, tmp_path / "out")


def test_segmentation_with_other_affine(src, tmp_path):
    path = src / "data" / "case_00000" / "segmentation.nii.gz"
    save_nifti(path, np.zeros(SHAPE, np.uint8))  # the default, non-KiTS affine
    with pytest.raises(
        ValueError, match=r"case_00000/segmentation.nii.gz: affine .* does not match imaging.nii.gz"
    ):
        prepare_dataset("kits19", src, tmp_path / "out")


def test_no_data_folder(tmp_path):
    (tmp_path / "kits19" / "case_00000").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"kits19: no data folder"):
        prepare_dataset("kits19", tmp_path / "kits19", tmp_path / "out")
