"""2D image-folder readers: DRIVE, STARE and CHASE_DB1 layouts, label decoding, errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import ndimage

from boundaryloss.data import Case, ImageFolderDataset, chase_db1, drive, red_channel_fov, stare
from boundaryloss.data.io import write_image_2d

from .layouts import SHAPE_2D, binary_255, rgb, write_chase_db1, write_drive, write_stare


def _folder(tmp_path, labels: dict[str, np.ndarray], images: dict[str, np.ndarray] | None = None):
    """images/<id>.png + labels/<id>.png; returns the two folders."""
    rng = np.random.default_rng(0)
    for case_id, label in labels.items():
        image = rgb(rng, label.shape[:2]) if images is None else images[case_id]
        write_image_2d(tmp_path / "images" / f"{case_id}.png", image)
        write_image_2d(tmp_path / "labels" / f"{case_id}.png", label)
    return tmp_path / "images", tmp_path / "labels"


# --- ready-made layouts ---------------------------------------------------------------------


def test_drive_training(tmp_path):
    written = write_drive(tmp_path, "training")
    source = drive(tmp_path)
    assert source.case_ids == ("21", "22", "23") and len(source) == 3
    case = source[0]
    assert isinstance(case, Case) and case.case_id == "21"
    assert case.image.shape == (3, *SHAPE_2D) and case.image.dtype == np.float32
    np.testing.assert_allclose(case.image, np.moveaxis(written["21"]["image"], -1, 0) / 255.0)
    assert case.label.dtype == np.int64
    np.testing.assert_array_equal(case.label, written["21"]["label"] // 255)
    assert case.fov.dtype == bool
    np.testing.assert_array_equal(case.fov, written["21"]["mask"] > 0)
    assert case.spacing == (1.0, 1.0) and case.spacing_unit == "px"
    assert [p.name for p in case.source] == [
        "21_training.tif",
        "21_manual1.gif",
        "21_training_mask.gif",
    ]
    assert case.meta["dataset"] == "DRIVE"


def test_drive_test_split_both_observers(tmp_path):
    write_drive(tmp_path, "test", ids=("01", "02"))
    first, second = drive(tmp_path, "test"), drive(tmp_path, "test", observer=2)
    assert first.case_ids == second.case_ids == ("01", "02")
    assert first.load("02").source[1].name == "02_manual1.gif"
    assert second.load("02").source[1].name == "02_manual2.gif"
    assert set(np.unique(second[1].label)) <= {0, 1}
    for path in (tmp_path / "test" / "2nd_manual").iterdir():
        path.unlink()
    (tmp_path / "test" / "2nd_manual").rmdir()
    unlabelled = drive(tmp_path, "test", observer=2)
    assert unlabelled[0].label is None and unlabelled[0].fov is not None


def test_stare_layouts(tmp_path):
    for flat in (False, True):
        root = tmp_path / ("flat" if flat else "nested")
        written = write_stare(root, flat=flat)
        source = stare(root)
        assert source.case_ids == ("im0001", "im0002", "im0044")
        for case in source:
            np.testing.assert_array_equal(case.label, written[case.case_id]["label"] // 255)
            assert case.image.shape == (3, *SHAPE_2D) and case.fov.dtype == bool
            assert case.spacing_unit == "px"
        assert [p.name for p in source.files("im0044")[:2]] == ["im0044.ppm", "im0044.ah.ppm.gz"]


def test_stare_fov_threshold_and_skip_unlabelled(tmp_path):
    write_stare(tmp_path)
    write_image_2d(tmp_path / "stare-images" / "im0100.ppm", rgb(np.random.default_rng(5)))
    with pytest.raises(ValueError, match=r"im0100\.ppm: no label file 'im0100\.ah\.ppm'"):
        stare(tmp_path)
    source = stare(tmp_path, fov_threshold=None, on_missing_label="skip")
    assert len(source) == 3 and source[0].fov is None


def write_stare_fundus(root) -> tuple[np.ndarray, np.ndarray]:
    """``stare-images/im0001.ppm`` as STARE photographs look: a bright disc (cut by the
    top border) on a noisy dark background, with a bright speck outside and a dark
    lesion inside. Returns the RGB image and the disc."""
    rng = np.random.default_rng(11)
    shape = (40, 48)
    rows, cols = np.indices(shape)
    disc = (rows - 18) ** 2 + (cols - 24) ** 2 <= 20**2
    image = rng.integers(0, 16, (*shape, 3)).astype(np.uint8)  # red <= 15 outside
    image[disc] = (160, 80, 40)
    image[36:38, 1:4, 0] = 90  # a speck above the threshold, outside the aperture
    image[16:19, 22:25] = (8, 4, 2)  # a lesion below the threshold, inside
    label = np.zeros(shape, np.uint8)
    label[18, 10:30] = 255
    write_image_2d(root / "stare-images" / "im0001.ppm", image)
    write_image_2d(root / "labels-ah" / "im0001.ah.ppm", np.repeat(label[..., None], 3, -1))
    return image, disc


def test_stare_derives_a_solid_eroded_fov(tmp_path):
    image, disc = write_stare_fundus(tmp_path)
    fov = stare(tmp_path).load("im0001").fov
    # The disc less every pixel within city-block distance 2 of the background; the
    # image border is not background (the disc is cut there, not rimmed).
    distance = ndimage.distance_transform_cdt(np.pad(disc, 3, constant_values=True), "taxicab")
    np.testing.assert_array_equal(fov, distance[3:-3, 3:-3] > 2)
    assert fov[0].any() and fov[17, 23]  # the cut top row is kept, the lesion filled
    # The plain threshold (CHASE_DB1's FOV) keeps the speck and leaves the lesion out.
    plain = red_channel_fov(20)(image.transpose(2, 0, 1) / 255.0)
    assert plain[36, 2] and not plain[17, 23] and not fov[36, 2]


def test_red_channel_fov_erosion_needs_a_solid_region():
    with pytest.raises(ValueError, match=r"erosion=2 needs solid=True"):
        red_channel_fov(20, erosion=2)


def test_chase_db1_flat_layout(tmp_path):
    rng = np.random.default_rng(6)
    for case_id in ("Image_01L", "Image_01R"):
        write_image_2d(tmp_path / f"{case_id}.jpg", rgb(rng))
        write_image_2d(tmp_path / f"{case_id}_1stHO.png", binary_255(rng))
        write_image_2d(tmp_path / f"{case_id}_2ndHO.png", binary_255(rng))
    source = chase_db1(tmp_path, observer="2ndHO")
    assert source.case_ids == ("Image_01L", "Image_01R")
    assert source[1].source[1].name == "Image_01R_2ndHO.png"
    assert source[1].spacing_unit == "px"
    with pytest.raises(ValueError, match="observer"):
        chase_db1(tmp_path, observer="3rdHO")


def test_chase_db1_conventional_splits(tmp_path):
    written = write_chase_db1(tmp_path)
    everything, training, test = (chase_db1(tmp_path, split=s) for s in ("all", "training", "test"))
    assert everything.case_ids == tuple(sorted(written)) and len(everything) == 28
    assert training.case_ids == tuple(f"Image_{c:02d}{e}" for c in range(1, 11) for e in "LR")
    assert test.case_ids == tuple(f"Image_{c:02d}{e}" for c in range(11, 15) for e in "LR")
    case = test.load("Image_14R")
    np.testing.assert_array_equal(case.label, written["Image_14R"]["label"] // 255)
    assert case.fov is not None and case.meta["split"] == "test"
    with pytest.raises(ValueError, match="split must be one of"):
        chase_db1(tmp_path, split="validation")


def test_chase_db1_without_the_test_children(tmp_path):
    write_chase_db1(tmp_path, children=range(1, 11))
    with pytest.raises(ValueError, match=r"images: no CHASE_DB1 test images; .* children 11-14"):
        chase_db1(tmp_path, split="test")
    assert len(chase_db1(tmp_path, split="training")) == 20


def test_chase_db1_real(shared_data):
    source = chase_db1(shared_data / "chase_db1")
    assert len(source) == 20 and source.case_ids[:2] == ("Image_01L", "Image_01R")
    for index in (0, 7, 19):
        case = source[index]
        assert case.image.shape == (3, 960, 999) and case.image.dtype == np.float32
        assert 0.0 <= case.image.min() and case.image.max() <= 1.0
        assert case.label.shape == (960, 999) and case.label.dtype == np.int64
        assert set(np.unique(case.label)) == {0, 1}
        assert case.fov.dtype == bool and 0.5 < case.fov.mean() < 0.85
        # vessels are ~7 % of the image and ~10 % of the field of view (data README)
        assert 0.04 < case.label.mean() < 0.12
        assert case.label[case.fov].mean() > case.label.mean()
        assert case.spacing == (1.0, 1.0)


# --- label and image decoding ---------------------------------------------------------------


def test_class_index_labels_and_grey_images(tmp_path):
    rng = np.random.default_rng(7)
    label = rng.integers(0, 3, SHAPE_2D).astype(np.uint8)
    grey = rng.integers(0, 256, SHAPE_2D, dtype=np.uint8)
    images, labels = _folder(tmp_path, {"a": label}, images={"a": grey})
    case = ImageFolderDataset(images, labels)[0]
    assert case.image.shape == (1, *SHAPE_2D)
    np.testing.assert_allclose(case.image[0], grey / 255.0)
    np.testing.assert_array_equal(case.label, label)
    with pytest.raises(ValueError, match=r"a\.png: label values \{0, 1, 2\}.*\[0, 2\)"):
        ImageFolderDataset(images, labels, num_classes=2)[0]


def test_sixteen_bit_image_scaled(tmp_path):
    image = (np.arange(np.prod(SHAPE_2D)).reshape(SHAPE_2D) * 100).astype(np.uint16)
    images, labels = _folder(tmp_path, {"a": binary_255(np.random.default_rng(0))}, {"a": image})
    np.testing.assert_allclose(ImageFolderDataset(images, labels)[0].image[0], image / 65535.0)


def test_explicit_label_values(tmp_path):
    stored = np.zeros(SHAPE_2D, np.uint8)
    stored[:5], stored[5:10] = 128, 255
    images, labels = _folder(tmp_path, {"a": stored})
    case = ImageFolderDataset(images, labels, label_values={0: 0, 128: 1, 255: 2})[0]
    assert (
        np.bincount(case.label.ravel()).tolist()
        == [stored.size - 10 * SHAPE_2D[1]] + [5 * SHAPE_2D[1]] * 2
    )
    with pytest.raises(ValueError, match=r"a\.png: label values \{128\}.*not in label_values"):
        ImageFolderDataset(images, labels, label_values={0: 0, 255: 1})[0]


def test_unexpected_label_values_name_file_and_values(tmp_path):
    stored = binary_255(np.random.default_rng(0))
    stored[3, 3] = 100  # e.g. a JPEG-compressed label
    images, labels = _folder(tmp_path, {"a": stored})
    with pytest.raises(ValueError, match=r"labels/a\.png: label values \{0, 100, 255\}"):
        ImageFolderDataset(images, labels)[0]


# --- errors ---------------------------------------------------------------------------------


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    with pytest.raises(ValueError, match=r"images: no image files matching \['\{id\}\.png'\]"):
        ImageFolderDataset(tmp_path / "images", tmp_path / "labels")
    with pytest.raises(ValueError, match=r"nowhere: labels folder not found"):
        ImageFolderDataset(tmp_path / "images", tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"DRIVE[/\\]training[/\\]images: images folder not found"):
        drive(tmp_path / "DRIVE")


def test_missing_label_names_the_image(tmp_path):
    images, labels = _folder(tmp_path, {"a": binary_255(np.random.default_rng(0))})
    write_image_2d(images / "b.png", rgb(np.random.default_rng(1)))
    with pytest.raises(ValueError, match=r"images/b\.png: no label file 'b\.png' in .*labels"):
        ImageFolderDataset(images, labels)
    assert ImageFolderDataset(images, labels, on_missing_label="skip").case_ids == ("a",)
    source = ImageFolderDataset(images, labels, on_missing_label="unlabelled")
    assert source.load("b").label is None and source.load("a").label is not None


def test_missing_fov_mask_names_the_image(tmp_path):
    write_drive(tmp_path)
    (tmp_path / "training" / "mask" / "22_training_mask.gif").unlink()
    with pytest.raises(ValueError, match=r"22_training\.tif: no field-of-view mask"):
        drive(tmp_path)


def test_shape_mismatch_names_both_files(tmp_path):
    write_drive(tmp_path)
    bad = binary_255(np.random.default_rng(0), shape=(SHAPE_2D[0] + 1, SHAPE_2D[1]))
    write_image_2d(tmp_path / "training" / "1st_manual" / "22_manual1.gif", bad)
    source = drive(tmp_path)  # lazy: only reading case 22 fails
    assert source[0].case_id == "21"
    with pytest.raises(
        ValueError, match=r"22_manual1\.gif: label shape \(25, 20\).*22_training\.tif"
    ):
        source.load("22")
    write_image_2d(tmp_path / "training" / "mask" / "23_training_mask.gif", bad)
    with pytest.raises(ValueError, match=r"23_training_mask\.gif: .*shape.*23_training\.tif"):
        source[2]


def test_corrupt_files_named(tmp_path):
    write_drive(tmp_path)
    (tmp_path / "training" / "images" / "21_training.tif").write_bytes(b"not a tiff at all")
    truncated = tmp_path / "training" / "1st_manual" / "22_manual1.gif"
    truncated.write_bytes(truncated.read_bytes()[:40])
    source = drive(tmp_path)
    with pytest.raises(ValueError, match=r"21_training\.tif: cannot read image"):
        source[0]
    with pytest.raises(ValueError, match=r"22_manual1\.gif: cannot read image"):
        source[1]


def test_bad_mask_values_and_colour_labels(tmp_path):
    write_drive(tmp_path)
    grey = np.full(SHAPE_2D, 7, np.uint8)
    write_image_2d(tmp_path / "training" / "mask" / "21_training_mask.gif", grey)
    with pytest.raises(ValueError, match=r"21_training_mask\.gif: mask values \{7\}"):
        drive(tmp_path)[0]
    images, labels = _folder(tmp_path / "colour", {"a": rgb(np.random.default_rng(0))})
    with pytest.raises(ValueError, match=r"a\.png: label has colour channels that differ"):
        ImageFolderDataset(images, labels)[0]


def test_spacing_unit_pixels_unless_given(tmp_path):
    images, labels = _folder(tmp_path, {"a": binary_255(np.random.default_rng(0))})
    assert ImageFolderDataset(images, labels)[0].spacing_unit == "px"
    known = ImageFolderDataset(images, labels, spacing=(0.02, 0.02), spacing_unit="mm")[0]
    assert known.spacing == (0.02, 0.02) and known.spacing_unit == "mm"
    with pytest.raises(ValueError, match=r"spacing_unit must be one of \('mm', 'px'\), got 'um'"):
        ImageFolderDataset(images, labels, spacing_unit="um")


def test_bad_arguments(tmp_path):
    images, labels = _folder(tmp_path, {"a": binary_255(np.random.default_rng(0))})
    with pytest.raises(ValueError, match=re.escape("'{id}'")):
        ImageFolderDataset(images, labels, image_pattern="image.png")
    with pytest.raises(ValueError, match="on_missing_label"):
        ImageFolderDataset(images, labels, on_missing_label="ignore")
    with pytest.raises(ValueError, match="not both"):
        ImageFolderDataset(images, labels, fov=images, fov_pattern="{id}.png", fov_from_image=len)
    with pytest.raises(ValueError, match="split"):
        drive(tmp_path, split="validation")


def test_sequence_protocol(tmp_path):
    write_drive(tmp_path)
    source = drive(tmp_path)
    assert [case.case_id for case in source] == list(source.case_ids)
    assert source[np.int64(-1)].case_id == "23"
    with pytest.raises(KeyError, match="99"):
        source.load("99")
    with pytest.raises(IndexError):
        source[3]
    assert "3 cases" in repr(source)


def test_chase_db1_real_copy_has_no_test_children(shared_data):
    # The shared copy holds children 01-10 only: the whole conventional training set.
    assert len(chase_db1(shared_data / "chase_db1", split="training")) == 20
    with pytest.raises(ValueError, match=r"no CHASE_DB1 test images"):
        chase_db1(shared_data / "chase_db1", split="test")


def test_images_and_labels_in_one_folder(tmp_path):
    """``a_mask.png`` beside ``a.png`` is a's label, not an image of its own."""
    rng = np.random.default_rng(3)
    for case_id in ("a", "b"):
        write_image_2d(tmp_path / f"{case_id}.png", rgb(rng, SHAPE_2D))
        write_image_2d(tmp_path / f"{case_id}_mask.png", binary_255(rng, SHAPE_2D))
    for missing in ("error", "background"):
        source = ImageFolderDataset(
            tmp_path, tmp_path, label_pattern="{id}_mask.png", on_missing_label=missing
        )
        assert source.case_ids == ("a", "b")
    with pytest.raises(ValueError, match="same file name pattern"):
        ImageFolderDataset(tmp_path, tmp_path)


def test_misnamed_labels_are_not_read_as_lesion_free(tmp_path):
    """With missing_label='background' an image whose label is there under another
    spelling (letter case, extension) is an error naming the file, not a lesion-free
    image; labels of other images (another split sharing the folder), a README and an
    image with no label at all are fine."""
    rng = np.random.default_rng(4)
    images, labels = tmp_path / "images", tmp_path / "labels"
    for case_id in ("IDRiD_01", "IDRiD_02", "IDRiD_03"):
        write_image_2d(images / f"{case_id}.png", rgb(rng, SHAPE_2D))
    write_image_2d(labels / "IDRiD_01_EX.TIF", binary_255(rng, SHAPE_2D))  # case differs
    write_image_2d(labels / "IDRiD_02_EX.tif", binary_255(rng, SHAPE_2D))
    write_image_2d(labels / "IDRiD_55_EX.tif", binary_255(rng, SHAPE_2D))  # a test image's
    (labels / "README.txt").write_text("not a label")
    kwargs = dict(label_pattern="{id}_EX.tif", id_regex=r"IDRiD_\d+", on_missing_label="background")
    message = (
        "IDRiD_01_EX.TIF: looks like the label of IDRiD_01.png but is not named 'IDRiD_01_EX.tif'"
    )
    if not (labels / "IDRiD_01_EX.tif").is_file():  # a case-insensitive file system pairs it
        with pytest.raises(ValueError, match=re.escape(message)):
            ImageFolderDataset(images, labels, **kwargs)
    (labels / "IDRiD_01_EX.TIF").rename(labels / "IDRiD_01_EX.png")  # another extension
    with pytest.raises(ValueError, match=re.escape("IDRiD_01_EX.png: looks like the label of")):
        ImageFolderDataset(images, labels, **kwargs)
    (labels / "IDRiD_01_EX.png").rename(labels / "IDRiD_01_EX.tif")
    source = ImageFolderDataset(images, labels, **kwargs)
    assert source.case_ids == ("IDRiD_01", "IDRiD_02", "IDRiD_03")
    assert source[0].label.any() and source[1].label.any() and not source[2].label.any()
    # A labels folder none of whose files pairs: every image would be lesion-free.
    for name in ("IDRiD_01_EX.tif", "IDRiD_02_EX.tif"):
        (labels / name).rename(labels / name.replace("IDRiD_", "idrid-"))
    with pytest.raises(ValueError, match=r"labels: none of its 4 file\(s\) .* is the label of"):
        ImageFolderDataset(images, labels, **kwargs)


def test_a_label_under_another_spelling_of_its_id_is_not_lost(tmp_path):
    """``IDRiD_1_EX.tif`` beside the image ``IDRiD_01.png`` (no leading zero) is an error
    with missing_label='background', not a lesion-free image; a label of an id no image
    has otherwise (another split's) is left alone."""
    rng = np.random.default_rng(5)
    images, labels = tmp_path / "images", tmp_path / "labels"
    for case_id in ("IDRiD_01", "IDRiD_02"):
        write_image_2d(images / f"{case_id}.png", rgb(rng, SHAPE_2D))
    write_image_2d(labels / "IDRiD_1_EX.tif", binary_255(rng, SHAPE_2D))
    write_image_2d(labels / "IDRiD_02_EX.tif", binary_255(rng, SHAPE_2D))
    write_image_2d(labels / "IDRiD_55_EX.tif", binary_255(rng, SHAPE_2D))
    kwargs = dict(label_pattern="{id}_EX.tif", on_missing_label="background")
    message = (
        f"{labels / 'IDRiD_1_EX.tif'}: looks like the label of IDRiD_01.png but its id is "
        "'IDRiD_1', not the image's"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        ImageFolderDataset(images, labels, **kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):  # whatever the id regex
        ImageFolderDataset(images, labels, id_regex=r"IDRiD_\d+", **kwargs)
    (labels / "IDRiD_1_EX.tif").rename(labels / "IDRiD_01_EX.tif")
    source = ImageFolderDataset(images, labels, **kwargs)
    assert source[0].label.any() and source[1].label.any()
    # Ids that only look alike once separators are dropped are not near-spellings.
    from boundaryloss.data.folders import _loose_id

    assert _loose_id("IDRiD_1") == _loose_id("idrid-01") != _loose_id("IDRiD_11")
    assert _loose_id("case1_2") != _loose_id("case12") and _loose_id("1_12") != _loose_id("11_2")
    # Under the other rules a missing label is an error or a skip already.
    (labels / "IDRiD_01_EX.tif").rename(labels / "IDRiD_1_EX.tif")
    skipped = ImageFolderDataset(
        images, labels, label_pattern="{id}_EX.tif", on_missing_label="skip"
    )
    assert skipped.case_ids == ("IDRiD_02",)


@pytest.mark.parametrize("suffix", [".jpg", ".JPEG"])
def test_jpeg_labels_are_refused_under_the_nonzero_rule(tmp_path, suffix):
    """JPEG compression leaves small non-zero values around a mask's edges, which the
    nonzero rule would read as lesion: refused, naming the file."""
    from PIL import Image

    rng = np.random.default_rng(6)
    images, labels = tmp_path / "images", tmp_path / "labels"
    write_image_2d(images / "a.png", rgb(rng, SHAPE_2D))
    mask = np.zeros(SHAPE_2D, np.uint8)
    mask[4:9, 5:11] = 255
    labels.mkdir()
    Image.fromarray(mask).save(labels / f"a_mask{suffix}", format="JPEG", quality=75)
    stored = np.asarray(Image.open(labels / f"a_mask{suffix}"))
    assert np.count_nonzero(stored) > np.count_nonzero(mask)  # what would become lesion
    with pytest.raises(ValueError, match=re.escape(f"{labels / f'a_mask{suffix}'}: a JPEG label")):
        ImageFolderDataset(
            images, labels, label_pattern=f"{{id}}_mask{suffix}", label_rule="nonzero"
        )
    Image.fromarray(mask).save(labels / "a_mask.png")
    source = ImageFolderDataset(images, labels, label_pattern="{id}_mask.png", label_rule="nonzero")
    assert np.count_nonzero(source[0].label) == np.count_nonzero(mask)


def test_id_regex_and_fov_threshold_errors(tmp_path):
    images, labels = _folder(tmp_path, {"a": np.zeros(SHAPE_2D, np.uint8)})
    with pytest.raises(ValueError, match=r"id_regex: '\[' is not a regular expression"):
        ImageFolderDataset(images, labels, id_regex="[")
    with pytest.raises(ValueError, match="names a group 'id'"):
        ImageFolderDataset(images, labels, id_regex="(?P<id>a)")
    assert ImageFolderDataset(images, labels, id_regex="(?P<name>a)").case_ids == ("a",)
    with pytest.raises(ValueError, match="fov_threshold: 300 is not an 8-bit red value"):
        red_channel_fov(300)
