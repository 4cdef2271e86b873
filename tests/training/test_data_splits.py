"""``build_cases(config, "test")``: each data source's test split, or a clear error."""

from __future__ import annotations

import pytest

from boundaryloss.config import ConfigError
from boundaryloss.training.config import load_config
from boundaryloss.training.data import build_cases
from tests.data.layouts import (
    write_chase_db1,
    write_drive,
    write_nnunet,
    write_nnunet_2d,
    write_stare,
)


def data_config(*overrides: str):
    return load_config(None, list(overrides)).data


def test_msd_test_split_reads_images_ts_and_labels_ts(tmp_path):
    write_nnunet(tmp_path, test_ids=("brain_08", "brain_09"), test_labels=True)
    config = data_config("data.source=msd", f"data.root={tmp_path}", "data.max_cases=1")
    assert list(build_cases(config).case_ids) == ["brain_01"]  # max_cases: training only
    test = build_cases(config, "test")
    assert test.case_ids == ("brain_08", "brain_09")
    assert test[0].label is not None and test[0].source[-1].parent.name == "labelsTs"


def test_prepared_2d_test_split_has_its_fov_masks(tmp_path):
    write_nnunet_2d(tmp_path)
    (tmp_path / "imagesTr").rename(tmp_path / "imagesTs")
    (tmp_path / "labelsTr").rename(tmp_path / "labelsTs")
    (tmp_path / "masksTr").rename(tmp_path / "masksTs")
    test = build_cases(data_config("data.source=msd", f"data.root={tmp_path}"), "test")
    assert test.case_ids == ("01", "02") and test[0].fov is not None


def test_drive_test_split(tmp_path):
    write_drive(tmp_path, "training")
    write_drive(tmp_path, "test", ids=("01", "02"))
    config = data_config("data.source=drive", f"data.root={tmp_path}")
    assert build_cases(config).case_ids == ("21", "22", "23")
    test = build_cases(config, "test")
    assert test.case_ids == ("01", "02")
    case = test[1]
    assert case.fov is not None and case.source[1].name == "02_manual1.gif"


def test_chase_db1_test_split_is_the_last_eight_images(tmp_path):
    write_chase_db1(tmp_path)
    config = data_config("data.source=chase_db1", f"data.root={tmp_path}")
    train, test = build_cases(config), build_cases(config, "test")
    assert len(train) == 20 and len(test) == 8
    assert not set(train.case_ids) & set(test.case_ids)
    assert test.case_ids[0] == "Image_11L" and test.case_ids[-1] == "Image_14R"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("data.source=stare", "data.root=ROOT"), r"data\.source: STARE defines no test split"),
        ((), r"data\.source: synthetic data has no test split"),
    ],
)
def test_sources_without_a_test_split(tmp_path, overrides, message):
    write_stare(tmp_path)
    config = data_config(*(o.replace("ROOT", str(tmp_path)) for o in overrides))
    with pytest.raises(ConfigError, match=message):
        build_cases(config, "test")
