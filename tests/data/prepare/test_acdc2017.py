from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data.prepare import prepare_dataset

from .helpers import listing, load, load_json, single_value
from .layouts import AFFINE, channel_value, make_acdc2017


@pytest.fixture
def src(tmp_path):
    return make_acdc2017(tmp_path / "ACDC" / "database")


def test_ed_and_es_cases(src, tmp_path):
    dst = tmp_path / "out"
    result = prepare_dataset("acdc2017", src, dst)
    assert (result.num_training, result.num_test) == (4, 2)
    assert listing(dst / "imagesTr") == [
        f"patient00{p}_{phase}_0000.nii.gz" for p in (1, 2) for phase in ("ED", "ES")
    ]
    assert listing(dst / "labelsTr") == [
        f"patient00{p}_{phase}.nii.gz" for p in (1, 2) for phase in ("ED", "ES")
    ]
    assert listing(dst / "imagesTs") == ["patient101_ED_0000.nii.gz", "patient101_ES_0000.nii.gz"]
    assert not (dst / "labelsTs").exists()
    # ED and ES frames are the ones Info.cfg names (the fixture's ES is +1).
    assert single_value(dst / "imagesTr" / "patient002_ED_0000.nii.gz") == channel_value(2, 0)
    assert single_value(dst / "imagesTr" / "patient002_ES_0000.nii.gz") == channel_value(2, 0) + 1
    image, header = load(dst / "imagesTr" / "patient001_ED_0000.nii.gz")
    assert image.dtype == np.int16
    np.testing.assert_allclose(header.affine, AFFINE)
    label, _ = load(dst / "labelsTr" / "patient001_ES.nii.gz")
    assert set(np.unique(label)) == {0, 1, 2, 3}


def test_frames_recorded_in_dataset_json(src, tmp_path):
    prepare_dataset("acdc2017", src, tmp_path / "out")
    meta = load_json(tmp_path / "out")
    assert meta["labels"] == {"background": 0, "RV": 1, "MYO": 2, "LV": 3}
    assert meta["channel_names"] == {"0": "cineMRI"}
    assert meta["case_info"]["training"]["patient001_ES"] == {
        "source": "training/patient001",
        "patient": "patient001",
        "phase": "ES",
        "frame": 3,
        "group": "DCM",
        "height": 184.0,
        "nbframe": 5,
        "weight": 95.0,
    }
    assert meta["case_info"]["test"]["patient101_ED"]["frame"] == 2


def test_info_without_es(src, tmp_path):
    (src / "training" / "patient002" / "Info.cfg").write_text("ED: 1\nGroup: NOR\n")
    with pytest.raises(ValueError, match=r"patient002/Info.cfg: no 'ES: <frame>' line"):
        prepare_dataset("acdc2017", src, tmp_path / "out")


def test_missing_frame_named_by_info(src, tmp_path):
    (src / "training" / "patient001" / "patient001_frame03.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"case patient001_ES: missing ES frame .*frame03.nii.gz"):
        prepare_dataset("acdc2017", src, tmp_path / "out")


def test_missing_training_folder(tmp_path):
    (tmp_path / "database" / "patient001").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"database: no training folder"):
        prepare_dataset("acdc2017", tmp_path / "database", tmp_path / "out")
