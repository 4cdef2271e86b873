from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from boundaryloss.data.io import read_image_2d
from boundaryloss.data.prepare import prepare_dataset

from .helpers import listing, load_json
from .layouts import drive_fov, drive_rgb, drive_vessels, make_drive, save_gif


@pytest.fixture
def src(tmp_path):
    return make_drive(tmp_path / "DRIVE")


def test_per_channel_pngs_labels_and_masks(src, tmp_path):
    dst = tmp_path / "out"
    result = prepare_dataset("drive", src, dst)
    assert (result.num_training, result.num_test) == (2, 2)
    assert listing(dst) == [
        ".boundaryloss.json", "dataset.json", "imagesTr", "imagesTs", "labelsTr", "labelsTs",
        "labelsTs_2nd_manual", "masksTr", "masksTs",
    ]  # fmt: skip
    assert listing(dst / "imagesTr") == [f"{n}_{c:04d}.png" for n in (21, 22) for c in range(3)]
    assert listing(dst / "masksTs") == ["01.png", "02.png"]
    for channel in range(3):
        grey = read_image_2d(dst / "imagesTr" / f"21_{channel:04d}.png")
        assert grey.dtype == np.uint8 and grey.ndim == 2
        np.testing.assert_array_equal(grey, drive_rgb(21)[..., channel])
    label = read_image_2d(dst / "labelsTr" / "22.png")
    np.testing.assert_array_equal(label, drive_vessels(22) // 255)
    second = read_image_2d(dst / "labelsTs_2nd_manual" / "01.png")
    np.testing.assert_array_equal(second, drive_vessels(2) // 255)
    np.testing.assert_array_equal(read_image_2d(dst / "masksTr" / "21.png"), drive_fov() // 255)


def test_dataset_json(src, tmp_path):
    prepare_dataset("drive", src, tmp_path / "out")
    meta = load_json(tmp_path / "out")
    assert meta["file_ending"] == ".png"
    assert meta["channel_names"] == {"0": "R", "1": "G", "2": "B"}
    assert meta["labels"] == {"background": 0, "vessel": 1}
    assert meta["training"][0] == {
        "image": "./imagesTr/21.png",
        "label": "./labelsTr/21.png",
        "mask": "./masksTr/21.png",
    }
    assert meta["test"] == ["./imagesTs/01.png", "./imagesTs/02.png"]


def test_label_with_grey_values_is_rejected(src, tmp_path):
    label = drive_vessels(21)
    label[0, 0] = 128
    save_gif(src / "training" / "1st_manual" / "21_manual1.gif", label)
    with pytest.raises(ValueError, match=r"21_manual1.gif: unexpected label values \[128\]"):
        prepare_dataset("drive", src, tmp_path / "out")


def test_missing_mask(src, tmp_path):
    (src / "test" / "mask" / "02_test_mask.gif").unlink()
    with pytest.raises(ValueError, match=r"case 02: missing FOV mask .*02_test_mask.gif"):
        prepare_dataset("drive", src, tmp_path / "out")


def test_label_of_other_size(src, tmp_path):
    save_gif(src / "training" / "1st_manual" / "22_manual1.gif", np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match=r"22_manual1.gif: shape \(5, 5\) does not match"):
        prepare_dataset("drive", src, tmp_path / "out")


@pytest.mark.parametrize(
    "palette",
    [
        [4, 2, 4, 252, 254, 252],  # the official download's: near-grey, not exactly grey
        [3, 3, 3, 253, 253, 253],  # a grey variant: read by the palette colour, not 3/253
    ],
)
def test_official_palette_2nd_manual_is_prepared(src, tmp_path, palette):
    # The official download's test/2nd_manual/*.gif: mode P, indices 0/1, two entries.
    vessels = drive_vessels(2) > 0
    for number in ("01", "02"):
        image = Image.fromarray(vessels.astype(np.uint8), mode="P")
        image.putpalette(palette)
        image.save(src / "test" / "2nd_manual" / f"{number}_manual2.gif")
    prepare_dataset("drive", src, tmp_path / "out")
    for number in ("01", "02"):
        second = read_image_2d(tmp_path / "out" / "labelsTs_2nd_manual" / f"{number}.png")
        np.testing.assert_array_equal(second, vessels.astype(np.uint8))


def test_bilevel_fov_mask_is_prepared(src, tmp_path):
    Image.fromarray(drive_fov() > 0).convert("1").save(
        src / "training" / "mask" / "21_training_mask.gif"
    )
    prepare_dataset("drive", src, tmp_path / "out")
    np.testing.assert_array_equal(
        read_image_2d(tmp_path / "out" / "masksTr" / "21.png"), drive_fov() // 255
    )
