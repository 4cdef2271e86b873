from __future__ import annotations

import shutil

import numpy as np
import pytest

from boundaryloss.data.prepare import prepare_dataset

from .helpers import listing, load, load_json, single_value
from .layouts import AFFINE, SHAPE, WMH_CASES, channel_value, make_wmh2017, save_nifti

CASE_IDS = {"Utrecht_0": 1, "Singapore_50": 2, "GE3T_100": 3}


@pytest.fixture
def src(tmp_path):
    return make_wmh2017(tmp_path / "WMH")


def test_flair_t1_channels_and_label_2_to_background(src, tmp_path):
    dst = tmp_path / "out"
    result = prepare_dataset("wmh2017", src, dst)
    assert (result.num_training, result.num_test) == (3, 0)
    assert listing(dst / "labelsTr") == sorted(f"{c}.nii.gz" for c in CASE_IDS)
    for case_id, number in CASE_IDS.items():
        for channel in range(2):  # pre/ versions, not orig/ (filled with -1)
            path = dst / "imagesTr" / f"{case_id}_{channel:04d}.nii.gz"
            assert single_value(path) == channel_value(number, channel)
        label, image = load(dst / "labelsTr" / f"{case_id}.nii.gz")
        assert label.dtype == np.uint8 and set(np.unique(label)) == {0, 1}
        assert np.all(label[2] == 0)  # the "other pathology" slab
        assert np.all(label[1, 1:-1, 1:-1] == 1)
        np.testing.assert_allclose(image.affine, AFFINE)


def test_dataset_json(src, tmp_path):
    prepare_dataset("wmh2017", src, tmp_path / "out")
    meta = load_json(tmp_path / "out")
    assert meta["channel_names"] == {"0": "FLAIR", "1": "T1"}
    assert meta["labels"] == {"background": 0, "wmh": 1}
    assert meta["source"]["label_mapping"] == {"0": 0, "1": 1, "2": 0}
    assert meta["case_info"]["training"]["GE3T_100"] == {
        "source": "Amsterdam/GE3T/100",
        "site": "GE3T",
    }


def test_test_folder_goes_to_imagests(tmp_path):
    src = tmp_path / "WMH"
    make_wmh2017(src / "training")
    case = src / "test" / "Utrecht" / "7"
    shutil.copytree(src / "training" / "Utrecht" / "0", case)
    (case / "wmh.nii.gz").unlink()
    result = prepare_dataset("wmh2017", src, tmp_path / "out")
    assert (result.num_training, result.num_test) == (3, 1)
    assert listing(tmp_path / "out" / "imagesTs") == [
        "Utrecht_7_0000.nii.gz",
        "Utrecht_7_0001.nii.gz",
    ]


def test_no_cases(tmp_path):
    (tmp_path / "WMH" / "Utrecht" / "0").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"WMH: no <site>/<id>/pre/FLAIR.nii.gz"):
        prepare_dataset("wmh2017", tmp_path / "WMH", tmp_path / "out")


def test_missing_t1(src, tmp_path):
    site, case = WMH_CASES[1]
    (src / site / case / "pre" / "T1.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"case Singapore_50: missing T1 image .*pre/T1.nii.gz"):
        prepare_dataset("wmh2017", src, tmp_path / "out")


def test_missing_label(src, tmp_path):
    (src / "Utrecht" / "0" / "wmh.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"case Utrecht_0: missing label wmh.nii.gz"):
        prepare_dataset("wmh2017", src, tmp_path / "out")


def test_non_integer_label(src, tmp_path):
    save_nifti(src / "Utrecht" / "0" / "wmh.nii.gz", np.full(SHAPE, 0.5, np.float32))
    with pytest.raises(ValueError, match=r"wmh.nii.gz: label holds non-integer values"):
        prepare_dataset("wmh2017", src, tmp_path / "out")
