from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.prepare import prepare_dataset

from .helpers import listing, load, load_json, single_value
from .layouts import BRATS_AFFINE, BRATS_CASES, SHAPE, channel_value, make_brats2018, save_nifti


@pytest.fixture
def src(tmp_path):
    return make_brats2018(tmp_path / "MICCAI_BraTS_2018_Data_Training")


def test_four_channels_flair_t1_t1ce_t2_and_labels_0124(src, tmp_path):
    dst = tmp_path / "out"
    result = prepare_dataset("brats2018", src, dst)
    assert (result.num_training, result.num_test) == (3, 0)
    assert listing(dst / "labelsTr") == sorted(f"{case}.nii.gz" for _, case in BRATS_CASES)
    for number, (_, case) in enumerate(BRATS_CASES, start=1):
        for channel in range(4):
            path = dst / "imagesTr" / f"{case}_{channel:04d}.nii.gz"
            assert single_value(path) == channel_value(number, channel)
    label, image = load(dst / "labelsTr" / "Brats18_2013_2_1.nii.gz")
    assert label.dtype == np.uint8 and set(np.unique(label)) == {0, 1, 2, 4}
    np.testing.assert_allclose(image.affine, BRATS_AFFINE)
    meta = load_json(dst)
    assert meta["channel_names"] == {"0": "FLAIR", "1": "T1w", "2": "T1gd", "3": "T2w"}
    assert sorted(meta["labels"].values()) == [0, 1, 2, 4]
    assert meta["case_info"]["training"]["Brats18_TCIA09_141_1"]["grade"] == "LGG"


def test_hgg_only(src, tmp_path):
    import shutil

    shutil.rmtree(src / "LGG")
    assert prepare_dataset("brats2018", src, tmp_path / "out").num_training == 2


def test_label_3_is_rejected(src, tmp_path):
    path = src / "HGG" / "Brats18_CBICA_AAB_1" / "Brats18_CBICA_AAB_1_seg.nii.gz"
    save_nifti(path, np.full(SHAPE, 3, np.uint8), BRATS_AFFINE)
    with pytest.raises(ValueError, match=r"AAB_1_seg.nii.gz: unexpected label values \[3\]"):
        prepare_dataset("brats2018", src, tmp_path / "out")


def test_missing_t1ce(src, tmp_path):
    (src / "LGG" / "Brats18_TCIA09_141_1" / "Brats18_TCIA09_141_1_t1ce.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"case Brats18_TCIA09_141_1: missing t1ce image"):
        prepare_dataset("brats2018", src, tmp_path / "out")


def test_no_grade_folders(tmp_path):
    (tmp_path / "brats" / "Brats18_2013_2_1").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"brats: no HGG or LGG folder"):
        prepare_dataset("brats2018", tmp_path / "brats", tmp_path / "out")
