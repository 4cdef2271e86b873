"""IDRiD's official segmentation layout: lesion types, missing masks, test split, FOV."""

from __future__ import annotations

import numpy as np
import pytest

from boundaryloss.data import idrid
from boundaryloss.data.io import write_image_2d

from .layouts import SHAPE_2D, write_idrid


def test_reads_the_official_layout_with_red_masks(tmp_path):
    written = write_idrid(tmp_path)
    cases = idrid(tmp_path, "EX")
    assert cases.case_ids == ("IDRiD_01", "IDRiD_02", "IDRiD_03")
    case = cases.load("IDRiD_02")
    assert case.image.shape == (3, *SHAPE_2D) and case.image.dtype == np.float32
    assert case.label.dtype == np.int64
    np.testing.assert_array_equal(case.label, written["IDRiD_02"]["EX"].astype(np.int64))
    assert case.spacing_unit == "px"
    assert case.meta == {"dataset": "IDRiD", "lesion": "EX", "split": "training"}
    assert case.source[1].name == "IDRiD_02_EX.tif"


def test_grey_masks_and_the_segmentation_folder_as_root(tmp_path):
    written = write_idrid(tmp_path, red=False)
    cases = idrid(tmp_path / "A. Segmentation", "MA")
    np.testing.assert_array_equal(cases.load("IDRiD_03").label, written["IDRiD_03"]["MA"])


def test_a_missing_mask_is_no_lesion(tmp_path):
    write_idrid(tmp_path)
    case = idrid(tmp_path, "MA").load("IDRiD_02")
    assert case.label.shape == SHAPE_2D and not case.label.any()
    assert len(case.source) == 1  # the image only


def test_field_of_view_is_the_bright_disc(tmp_path):
    written = write_idrid(tmp_path)
    case = idrid(tmp_path, "EX").load("IDRiD_01")
    # JPEG blurs the border, so compare away from it: the black corners are outside,
    # the centre inside.
    image = written["IDRiD_01"]["image"]
    assert not case.fov[0, 0] and not case.fov[-1, -1] and case.fov[12, 10]
    assert abs(int(case.fov.sum()) - int((image[..., 0] > 20).sum())) <= 0.1 * case.fov.size


def test_test_split(tmp_path):
    write_idrid(tmp_path, split="b. Testing Set", ids=("IDRiD_55", "IDRiD_56"))
    write_idrid(tmp_path)
    assert idrid(tmp_path, "EX", "test").case_ids == ("IDRiD_55", "IDRiD_56")
    assert idrid(tmp_path, "EX").case_ids == ("IDRiD_01", "IDRiD_02", "IDRiD_03")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lesion": "XX"}, "IDRiD lesion must be one of"),
        ({"split": "val"}, "IDRiD split must be one of"),
        ({"lesion": "OD"}, "OD ground truths folder not found"),
        ({"split": "test"}, "test images folder not found"),
    ],
)
def test_errors_name_the_value_or_folder(tmp_path, kwargs, message):
    write_idrid(tmp_path)
    with pytest.raises(ValueError, match=message):
        idrid(tmp_path, **kwargs)


def test_not_an_idrid_folder(tmp_path):
    with pytest.raises(ValueError, match="not an IDRiD segmentation folder"):
        idrid(tmp_path)


def test_a_mask_of_another_shape_names_the_file(tmp_path):
    write_idrid(tmp_path)
    bad = (
        tmp_path
        / "A. Segmentation"
        / "2. All Segmentation Groundtruths"
        / "a. Training Set"
        / "3. Hard Exudates"
        / "IDRiD_01_EX.tif"
    )
    write_image_2d(bad, np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match=r"IDRiD_01_EX\.tif: label shape"):
        idrid(tmp_path, "EX").load("IDRiD_01")


# --- the shared real copy -------------------------------------------------------------------

#: The lesion share of the shared copy's images, as its README tabulates it (mean, and
#: the number of images with a mask): MA 0.17 % of 54, EX 1.2 % of 54, SE 26 images.
REAL = {"MA": (0.0017, 54), "EX": (0.012, 54), "SE": (None, 26), "HE": (0.012, 53)}


@pytest.mark.parametrize("lesion", sorted(REAL))
def test_real_idrid_matches_its_readme(shared_data, lesion):
    cases = idrid(shared_data / "idrid", lesion)
    assert len(cases) == 54
    shares, with_lesion = [], 0
    for case in cases:
        assert case.image.shape == (3, 512, 512) and case.label.shape == (512, 512)
        shares.append(case.label.mean())
        with_lesion += bool(case.label.any())
    mean, masks = REAL[lesion]
    assert with_lesion == masks
    if mean is not None:
        assert mean == pytest.approx(np.mean(shares), rel=0.05)


def test_real_idrid_lesions_lie_in_the_field_of_view(shared_data):
    for case in idrid(shared_data / "idrid", "EX"):
        assert 0.6 < case.fov.mean() < 0.85
        assert np.count_nonzero(case.label.astype(bool) & ~case.fov) <= 1


@pytest.mark.parametrize("lesion", ["EX", "SE"])
def test_the_folders_source_reads_the_real_copy_as_the_idrid_source(shared_data, lesion):
    """``data.source: folders`` pointed at the real IDRiD layout (patterns, the nonzero
    rule, masks missing for lesion-free images, the red-channel FOV) gives the cases of
    ``data.source: idrid``, pixel for pixel; SE has masks for 26 of the 54 images."""
    from boundaryloss.training.config import load_config
    from boundaryloss.training.data import build_cases

    folder = {"EX": "3. Hard Exudates", "SE": "4. Soft Exudates"}[lesion]
    segmentation = shared_data / "idrid" / "A. Segmentation"
    images = "1. Original Images/a. Training Set"
    labels = f"2. All Segmentation Groundtruths/a. Training Set/{folder}"
    config = load_config(
        None,
        [
            "data.source=folders",
            f"data.root={segmentation}",
            "data.num_classes=2",
            f"data.folders={{images: '{images}', labels: '{labels}', image_pattern: "
            f"'{{id}}.jpg', label_pattern: '{{id}}_{lesion}.tif', label_rule: nonzero, "
            "missing_label: background, fov_threshold: 20}",
        ],
    )
    folders = build_cases(config.data)
    official = idrid(shared_data / "idrid", lesion)
    assert folders.case_ids == official.case_ids and len(folders) == 54
    for ours, theirs in zip(folders, official, strict=True):
        assert np.array_equal(ours.image, theirs.image)
        assert np.array_equal(ours.label, theirs.label)
        assert np.array_equal(ours.fov, theirs.fov)
    assert sum(bool(case.label.any()) for case in folders) == REAL[lesion][1]
