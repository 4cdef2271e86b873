"""MSD / nnU-Net raw-layout reader: 4D and per-channel files, both label styles, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from boundaryloss.data import DecathlonDataset, read_dataset_json
from boundaryloss.data.io import write_image_2d, write_nifti

from .layouts import (
    SHAPE_2D,
    affine,
    write_dataset_json,
    write_msd_4d,
    write_nnunet,
    write_nnunet_2d,
)


def test_hippocampus_real(shared_data):
    source = DecathlonDataset(shared_data / "hippocampus")
    assert len(source) == 200 and source.case_ids[0] == "hippocampus_001"
    assert source.channels == ("MRI",) and source.num_classes == 3
    assert source.label_names == {0: "background", 1: "Anterior", 2: "Posterior"}
    # 001 is stored as uint8, labels 003 and 243 as float32 (data README)
    for case_id in ("hippocampus_001", "hippocampus_003", "hippocampus_243"):
        case = source.load(case_id)
        assert case.image.dtype == np.float32 and case.image.shape[0] == 1
        assert all(24 <= n <= 64 for n in case.spatial_shape)
        assert case.label.dtype == np.int64 and case.label.shape == case.spatial_shape
        assert set(np.unique(case.label)) == {0, 1, 2}
        assert case.spacing == (1.0, 1.0, 1.0)
        assert case.affine.shape == (4, 4)
        assert case.meta["channels"] == ("MRI",)
        assert [p.parent.name for p in case.source] == ["imagesTr", "labelsTr"]
    assert source.load("hippocampus_001").image.max() == 139.0  # uint8 data, not rescaled


def test_msd_4d_channels_last(tmp_path):
    written = write_msd_4d(tmp_path)
    source = DecathlonDataset(tmp_path)
    assert source.case_ids == ("case_001", "case_002")
    assert source.channels == ("FLAIR", "T1w") and source.label_values == {0, 1, 2}
    case = source[1]
    stored = written["case_002"]
    assert case.image.shape == (2, 10, 12, 8) and case.image.dtype == np.float32
    np.testing.assert_array_equal(case.image[1], stored["image"][..., 1])
    np.testing.assert_array_equal(case.label, stored["label"])
    np.testing.assert_allclose(case.spacing, (0.9, 0.8, 2.0), rtol=1e-6)
    assert case.spacing_unit == "mm"  # the NIfTI header's zooms
    np.testing.assert_allclose(case.affine, affine())


def test_nnunet_channel_files_and_v2_labels(tmp_path):
    written = write_nnunet(tmp_path, test_ids=("brain_09",))
    source = DecathlonDataset(tmp_path)
    assert source.case_ids == ("brain_01", "brain_02")
    case = source.load("brain_02")
    assert case.image.shape == (2, 9, 7, 6)
    np.testing.assert_array_equal(case.image[1], written["brain_02"]["channels"][1])
    np.testing.assert_array_equal(case.label, written["brain_02"]["label"])  # float32 on disk
    assert case.label.dtype == np.int64 and case.spacing_unit == "mm"
    assert source.label_names == {0: "background", 1: "left", 2: "right"}
    assert [p.name for p in case.source] == [
        "brain_02_0000.nii.gz",
        "brain_02_0001.nii.gz",
        "brain_02.nii.gz",
    ]
    test = DecathlonDataset(tmp_path, split="test")
    assert test.case_ids == ("brain_09",) and test[0].label is None


def test_test_split_with_labels(tmp_path):
    written = write_nnunet(tmp_path, test_ids=("brain_08", "brain_09"), test_labels=True)
    test = DecathlonDataset(tmp_path, split="test")
    assert test.case_ids == ("brain_08", "brain_09")
    assert test.labels_dir == tmp_path / "labelsTs"
    case = test.load("brain_09")
    np.testing.assert_array_equal(case.image[0], written["brain_09"]["channels"][0])
    np.testing.assert_array_equal(case.label, written["brain_09"]["label"])
    assert [p.parent.name for p in case.source] == ["imagesTs", "imagesTs", "labelsTs"]
    (tmp_path / "labelsTs" / "brain_08.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"brain_08_0000\.nii\.gz: no label file .*labelsTs"):
        DecathlonDataset(tmp_path, split="test")


def test_region_labels_and_no_dataset_json(tmp_path):
    write_nnunet(tmp_path)
    write_dataset_json(
        tmp_path,
        channel_names={"0": "T1", "1": "T2"},
        labels={"background": 0, "whole": [1, 2], "core": 2},
    )
    assert DecathlonDataset(tmp_path).label_values == {0, 1, 2}
    (tmp_path / "dataset.json").unlink()
    source = DecathlonDataset(tmp_path)
    assert source.channels is None and source.label_values is None
    assert source[0].image.shape[0] == 2


def test_hidden_files_ignored(tmp_path):
    write_msd_4d(tmp_path)
    (tmp_path / "imagesTr" / "._case_001.nii.gz").write_bytes(b"\x00macOS resource fork")
    assert DecathlonDataset(tmp_path).case_ids == ("case_001", "case_002")


def test_nnunet_2d_png_with_masks(tmp_path):
    for rgb_file in (False, True):
        root = tmp_path / str(rgb_file)
        written = write_nnunet_2d(root, rgb_file=rgb_file)
        case = DecathlonDataset(root).load("02")
        assert case.image.shape == (3, *SHAPE_2D) and case.spacing == (1.0, 1.0)
        assert case.spacing_unit == "px"  # PNG files carry no physical pixel size
        np.testing.assert_allclose(case.image, np.moveaxis(written["02"]["image"], -1, 0) / 255)
        np.testing.assert_array_equal(case.label, written["02"]["label"])
        np.testing.assert_array_equal(case.fov, written["02"]["mask"] > 0)
        assert case.affine is None


# --- errors ---------------------------------------------------------------------------------


def test_label_shape_mismatch_names_both(tmp_path):
    write_msd_4d(tmp_path)
    bad = np.zeros((10, 12, 9), np.uint8)
    write_nifti(tmp_path / "labelsTr" / "case_002.nii.gz", bad, affine())
    source = DecathlonDataset(tmp_path)
    assert source[0].case_id == "case_001"
    with pytest.raises(ValueError, match=r"labelsTr/case_002\.nii\.gz: label shape .*images"):
        source[1]


def test_affine_mismatch_names_both(tmp_path):
    written = write_msd_4d(tmp_path)
    moved = affine(origin=(10.0, -5.0, 3.5))
    write_nifti(tmp_path / "labelsTr" / "case_001.nii.gz", written["case_001"]["label"], moved)
    with pytest.raises(ValueError, match=r"case_001\.nii\.gz: affine differs from .*case_001"):
        DecathlonDataset(tmp_path)[0]
    nearly = affine(origin=(10.0, -5.0, 3.0 + 1e-5))  # float noise is tolerated
    write_nifti(tmp_path / "labelsTr" / "case_001.nii.gz", written["case_001"]["label"], nearly)
    DecathlonDataset(tmp_path)[0]


def test_channel_affine_mismatch(tmp_path):
    written = write_nnunet(tmp_path)
    write_nifti(
        tmp_path / "imagesTr" / "brain_01_0001.nii.gz",
        written["brain_01"]["channels"][1],
        affine(spacing=(1, 1, 1), origin=(0, 0, 1)),
    )
    with pytest.raises(ValueError, match=r"brain_01_0001\.nii\.gz: affine differs .*brain_01_0000"):
        DecathlonDataset(tmp_path)[0]


def test_label_value_outside_dataset_json(tmp_path):
    written = write_msd_4d(tmp_path)
    label = written["case_002"]["label"].copy()
    label[0, 0, 0] = 3
    write_nifti(tmp_path / "labelsTr" / "case_002.nii.gz", label, affine())
    with pytest.raises(ValueError, match=r"case_002\.nii\.gz: label values \[3\] are outside"):
        DecathlonDataset(tmp_path).load("case_002")


def test_non_integral_float_label(tmp_path):
    written = write_nnunet(tmp_path)
    label = written["brain_01"]["label"] + 0.5
    write_nifti(tmp_path / "labelsTr" / "brain_01.nii.gz", label)
    with pytest.raises(ValueError, match=r"brain_01\.nii\.gz: label holds non-integral"):
        DecathlonDataset(tmp_path)[0]


def test_missing_label_and_channel_files(tmp_path):
    write_nnunet(tmp_path / "a")
    (tmp_path / "a" / "labelsTr" / "brain_02.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"brain_02_0000\.nii\.gz: no label file .*brain_02\.nii"):
        DecathlonDataset(tmp_path / "a")
    write_nnunet(tmp_path / "b")
    (tmp_path / "b" / "imagesTr" / "brain_01_0001.nii.gz").unlink()
    with pytest.raises(ValueError, match=r"brain_01_0001\.nii\.gz: channel file missing"):
        DecathlonDataset(tmp_path / "b")


def test_channel_count_differs_from_dataset_json(tmp_path):
    write_msd_4d(tmp_path)
    write_dataset_json(tmp_path, modality={"0": "FLAIR", "1": "T1w", "2": "T2w"})
    with pytest.raises(ValueError, match=r"case_001\.nii\.gz: 2 channel\(s\).*lists 3"):
        DecathlonDataset(tmp_path)[0]


def test_empty_missing_and_unreadable(tmp_path):
    write_dataset_json(tmp_path, labels={"0": "background", "1": "x"})
    with pytest.raises(ValueError, match=r"imagesTr: images folder not found"):
        DecathlonDataset(tmp_path)
    (tmp_path / "imagesTr").mkdir()
    (tmp_path / "labelsTr").mkdir()
    with pytest.raises(ValueError, match=r"imagesTr: no image files ending in '\.nii\.gz'"):
        DecathlonDataset(tmp_path)
    (tmp_path / "imagesTr" / "x.nii.gz").write_bytes(b"garbage")
    (tmp_path / "labelsTr" / "x.nii.gz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"imagesTr/x\.nii\.gz: cannot read NIfTI"):
        DecathlonDataset(tmp_path)[0]


def test_bad_dataset_json(tmp_path):
    (tmp_path / "dataset.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"dataset\.json: cannot read dataset\.json"):
        read_dataset_json(tmp_path / "dataset.json")
    for fields, message in (
        ({"labels": {"background": "0", "x": 1.5}}, "must map to an int"),
        ({"labels": {"zero": "background"}}, "is not a class number"),
        ({"modality": {"1": "T1"}}, "channel numbers must be 0..N-1"),
        ({"file_ending": ".mha"}, "file_ending '.mha' is not supported"),
    ):
        (tmp_path / "dataset.json").write_text(json.dumps(fields))
        with pytest.raises(ValueError, match=rf"dataset\.json: .*{message}"):
            read_dataset_json(tmp_path / "dataset.json")


def test_2d_label_and_mask_errors(tmp_path):
    write_nnunet_2d(tmp_path)
    write_image_2d(tmp_path / "labelsTr" / "01.png", np.full(SHAPE_2D, 255, np.uint8))
    with pytest.raises(ValueError, match=r"labelsTr/01\.png: label values \[255\]"):
        DecathlonDataset(tmp_path)[0]
    (tmp_path / "masksTr" / "02.png").unlink()
    with pytest.raises(ValueError, match=r"02_0000\.png: no field-of-view mask"):
        DecathlonDataset(tmp_path)


def test_reads_what_prepare_writes(tmp_path):
    """The raw DRIVE reader and the prepared (nnU-Net 2D) copy give the same cases."""
    prepare = pytest.importorskip("boundaryloss.data.prepare")
    from boundaryloss.data import drive

    from .layouts import write_drive

    write_drive(tmp_path / "DRIVE", "training")
    write_drive(tmp_path / "DRIVE", "test", ids=("01", "02"))
    prepare.prepare_dataset("drive", tmp_path / "DRIVE", tmp_path / "prepared")
    for split, raw in (
        ("train", drive(tmp_path / "DRIVE")),
        ("test", drive(tmp_path / "DRIVE", "test")),
    ):
        prepared = DecathlonDataset(tmp_path / "prepared", split=split)
        assert prepared.case_ids == raw.case_ids
        for ours, theirs in zip(prepared, raw, strict=True):
            np.testing.assert_array_equal(ours.image, theirs.image)
            np.testing.assert_array_equal(ours.label, theirs.label)
            np.testing.assert_array_equal(ours.fov, theirs.fov)
    second = DecathlonDataset(tmp_path / "prepared", split="test", label_set="2nd_manual")
    np.testing.assert_array_equal(second[0].label, drive(tmp_path / "DRIVE", "test", 2)[0].label)
