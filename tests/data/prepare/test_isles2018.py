from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.prepare import prepare_dataset

from .helpers import listing, load, load_json, single_value
from .layouts import AFFINE, SHAPE, channel_value, isles_series_file, make_isles2018, save_nifti


@pytest.fixture
def src(tmp_path):
    return make_isles2018(tmp_path / "ISLES2018")


def test_writes_five_channels_in_order_with_labels(src, tmp_path):
    dst = tmp_path / "out"
    result = prepare_dataset("isles2018", src, dst)
    assert (result.num_training, result.num_test) == (2, 1)
    assert listing(dst) == [
        ".boundaryloss.json",
        "dataset.json",
        "imagesTr",
        "imagesTs",
        "labelsTr",
    ]
    assert listing(dst / "imagesTr") == [
        f"case_{c}_{i:04d}.nii.gz" for c in (1, 2) for i in range(5)
    ]
    assert listing(dst / "imagesTs") == [f"case_1_{i:04d}.nii.gz" for i in range(5)]
    for case in (1, 2):
        for channel in range(5):
            path = dst / "imagesTr" / f"case_{case}_{channel:04d}.nii.gz"
            assert single_value(path) == channel_value(case, channel)
    ct, ct_image = load(dst / "imagesTr" / "case_1_0000.nii.gz")
    assert ct.dtype == np.int16 and ct.shape == SHAPE
    np.testing.assert_allclose(ct_image.affine, AFFINE)
    assert ct_image.header.get_zooms() == pytest.approx((0.9, 0.8, 5.0))
    label, label_image = load(dst / "labelsTr" / "case_1.nii.gz")
    assert label.dtype == np.uint8 and set(np.unique(label)) == {0, 1}
    np.testing.assert_allclose(label_image.affine, AFFINE)


def test_dataset_json(src, tmp_path):
    prepare_dataset("isles2018", src, tmp_path / "out")
    meta = load_json(tmp_path / "out")
    assert meta["name"] == "ISLES2018"
    assert meta["channel_names"] == {"0": "CT", "1": "CBF", "2": "CBV", "3": "MTT", "4": "Tmax"}
    assert meta["modality"] == meta["channel_names"]
    assert meta["labels"] == {"background": 0, "core": 1}
    assert (meta["numTraining"], meta["numTest"], meta["file_ending"]) == (2, 1, ".nii.gz")
    assert meta["training"][0] == {
        "image": "./imagesTr/case_1.nii.gz",
        "label": "./labelsTr/case_1.nii.gz",
    }
    assert meta["test"] == ["./imagesTs/case_1.nii.gz"]
    assert meta["source"]["dataset"] == "isles2018"
    assert meta["case_info"]["test"]["case_1"]["source"] == "TESTING/case_1"


def test_training_only_download(src, tmp_path):
    import shutil

    shutil.rmtree(src / "TESTING")
    result = prepare_dataset("isles2018", src, tmp_path / "out")
    assert (result.num_training, result.num_test) == (2, 0)
    assert not (tmp_path / "out" / "imagesTs").exists()


def test_missing_training_folder(tmp_path):
    (tmp_path / "src" / "case_1").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"src: no TRAINING folder"):
        prepare_dataset("isles2018", tmp_path / "src", tmp_path / "out")


def test_no_case_folders(tmp_path):
    (tmp_path / "src" / "TRAINING").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"TRAINING: no case_\* folders"):
        prepare_dataset("isles2018", tmp_path / "src", tmp_path / "out")


def test_missing_modality(src, tmp_path):
    import shutil

    shutil.rmtree(isles_series_file(src, "TRAINING/case_2", "CT_CBV").parent)
    with pytest.raises(ValueError, match=r"case_2: missing SMIR\.Brain\.XX\.O\.<CT_CBV>"):
        prepare_dataset("isles2018", src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_lesion_in_training(src, tmp_path):
    import shutil

    shutil.rmtree(isles_series_file(src, "TRAINING/case_1", "OT").parent)
    with pytest.raises(ValueError, match=r"case_1: missing the SMIR\.Brain\.XX\.O\.OT"):
        prepare_dataset("isles2018", src, tmp_path / "out")


def test_shape_mismatch_names_the_file(src, tmp_path):
    path = isles_series_file(src, "TRAINING/case_2", "CT_MTT")
    save_nifti(path, np.zeros((8, 9, 4), np.float32))
    with pytest.raises(ValueError, match=r"CT_MTT.*shape \(8, 9, 4\) does not match"):
        prepare_dataset("isles2018", src, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["ISLES2018"]  # no temporary left


def test_affine_mismatch_names_the_file(src, tmp_path):
    path = isles_series_file(src, "TRAINING/case_1", "CT_Tmax")
    shifted = AFFINE.copy()
    shifted[0, 3] += 2.0
    save_nifti(path, np.zeros(SHAPE, np.float32), shifted)
    with pytest.raises(
        ValueError, match=r"CT_Tmax.*: affine \[\[-0.9, 0.0, 0.0, 92.0\].* does not match"
    ):
        prepare_dataset("isles2018", src, tmp_path / "out")


def test_label_values_outside_the_set(src, tmp_path):
    path = isles_series_file(src, "TRAINING/case_2", "OT")
    save_nifti(path, np.full(SHAPE, 2, np.uint8))
    with pytest.raises(ValueError, match=r"OT.*unexpected label values \[2\]; expected .*\[0, 1\]"):
        prepare_dataset("isles2018", src, tmp_path / "out")
