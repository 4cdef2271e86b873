"""Label and mask images in every Pillow mode the datasets ship, read by their meaning.

Each fixture is written with Pillow directly in the mode a dataset uses (not through
the project's writers), and the expected values are the mask that was drawn.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from PIL import Image

from boundaryloss.data import ImageFolderDataset, drive
from boundaryloss.data.io import read_grey_2d, read_mask_2d

#: A small vessel-like mask: True on the drawn pixels.
MASK = np.zeros((9, 11), dtype=bool)
MASK[2:7, 4] = True
MASK[4, 1:9] = True


def palette_image(indices: np.ndarray, palette: list[tuple[int, int, int]]) -> Image.Image:
    image = Image.fromarray(indices.astype(np.uint8), mode="P")
    image.putpalette([value for colour in palette for value in colour])
    return image


def drive_2nd_manual(path, mask: np.ndarray = MASK, swap: bool = False) -> None:
    """A GIF like DRIVE's ``test/2nd_manual``: mode P, indices 0/1, entries 3 and 253."""
    palette = [(3, 3, 3), (253, 253, 253)]
    indices = mask.astype(np.uint8)
    if swap:  # the same picture with the entries in the other order
        palette, indices = palette[::-1], 1 - indices
    palette_image(indices, palette).save(path)


def test_drive_palette_gif_reads_by_palette_colour(tmp_path):
    drive_2nd_manual(tmp_path / "01_manual2.gif")
    with Image.open(tmp_path / "01_manual2.gif") as stored:  # the fixture is what DRIVE ships
        assert stored.mode == "P"
        assert set(np.unique(np.asarray(stored)).tolist()) == {0, 1}
        assert set(np.unique(np.asarray(stored.convert("L"))).tolist()) == {3, 253}
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "01_manual2.gif"), MASK * 255)


def drive_official_2nd_manual(path, mask: np.ndarray = MASK) -> None:
    """A GIF written as DRIVE ships ``test/2nd_manual``: mode P, indices 0/1, and the
    near-grey (not exactly grey) entries (4, 2, 4) and (252, 254, 252)."""
    palette_image(mask.astype(np.uint8), [(4, 2, 4), (252, 254, 252)]).save(path)


def test_drive_official_near_grey_palette_is_a_binary_label(tmp_path):
    drive_official_2nd_manual(tmp_path / "01_manual2.gif")
    with Image.open(tmp_path / "01_manual2.gif") as stored:
        assert stored.mode == "P"
        assert set(np.unique(np.asarray(stored)).tolist()) == {0, 1}
        assert stored.getpalette("RGB")[:6] == [4, 2, 4, 252, 254, 252]
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "01_manual2.gif"), MASK * 255)
    np.testing.assert_array_equal(read_mask_2d(tmp_path / "01_manual2.gif"), MASK)


@pytest.mark.parametrize(
    ("colours", "bright"),
    [
        ([(0, 0, 0), (255, 0, 0)], 1),
        ([(255, 0, 0), (0, 0, 0)], 0),
        ([(10, 40, 200), (250, 250, 90)], 1),
    ],
)
def test_any_two_colour_palette_is_a_binary_label(tmp_path, colours, bright):
    # Whatever the two colours, the darker entry is background, the brighter the mask.
    indices = np.where(MASK, bright, 1 - bright)
    palette_image(indices, colours).save(tmp_path / "two.png")
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "two.png"), MASK * 255)


def test_palette_entry_order_does_not_change_the_label(tmp_path):
    drive_2nd_manual(tmp_path / "swapped.gif", swap=True)
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "swapped.gif"), MASK * 255)


@pytest.mark.parametrize("suffix", [".gif", ".png", ".tif"])
def test_bilevel_files(tmp_path, suffix):
    Image.fromarray(MASK).convert("1").save(tmp_path / f"mask{suffix}")
    np.testing.assert_array_equal(read_grey_2d(tmp_path / f"mask{suffix}"), MASK * 255)
    np.testing.assert_array_equal(read_mask_2d(tmp_path / f"mask{suffix}"), MASK)


def test_grey_png_0_255_and_class_indices(tmp_path):
    Image.fromarray(MASK.astype(np.uint8) * 255, mode="L").save(tmp_path / "grey.png")
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "grey.png"), MASK * 255)
    classes = np.arange(99).reshape(9, 11) % 3
    Image.fromarray(classes.astype(np.uint8), mode="L").save(tmp_path / "classes.png")
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "classes.png"), classes)


def test_grey_with_alpha_ignores_alpha(tmp_path):
    grey = MASK.astype(np.uint8) * 255
    Image.fromarray(np.dstack([grey, np.full_like(grey, 17)]), mode="LA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "a.png"), grey)


def test_stare_ppm_and_gzipped_ppm_labels(tmp_path):
    rgb = np.repeat((MASK.astype(np.uint8) * 255)[..., None], 3, axis=-1)
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "im0001.ah.ppm")
    raw = (tmp_path / "im0001.ah.ppm").read_bytes()
    (tmp_path / "im0002.ah.ppm.gz").write_bytes(gzip.compress(raw))
    for name in ("im0001.ah.ppm", "im0002.ah.ppm.gz"):
        np.testing.assert_array_equal(read_grey_2d(tmp_path / name), MASK * 255)


def test_chase_db1_bilevel_png(tmp_path):
    # CHASE_DB1's Image_NN{L,R}_1stHO.png are 1-bit PNGs (mode "1").
    Image.fromarray(MASK).save(tmp_path / "Image_01L_1stHO.png")
    with Image.open(tmp_path / "Image_01L_1stHO.png") as stored:
        assert stored.mode == "1"
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "Image_01L_1stHO.png"), MASK * 255)


def test_colour_palette_is_a_class_map(tmp_path):
    classes = (np.arange(99).reshape(9, 11) % 3).astype(np.uint8)
    voc = [(0, 0, 0), (128, 0, 0), (0, 128, 0)]
    palette_image(classes, voc).save(tmp_path / "classes.png")
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "classes.png"), classes)


def test_grey_palette_of_more_than_two_levels_keeps_the_levels(tmp_path):
    indices = (np.arange(99).reshape(9, 11) % 3).astype(np.uint8)
    palette_image(indices, [(0, 0, 0), (128, 128, 128), (255, 255, 255)]).save(tmp_path / "g.gif")
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "g.gif"), indices * 128 - (indices == 2))


def test_two_dark_grey_entries_are_not_snapped(tmp_path):
    # Levels 0 and 2 are class indices in a grey-ramp palette, not a bilevel mask.
    indices = MASK.astype(np.uint8)
    palette_image(indices, [(0, 0, 0), (2, 2, 2)]).save(tmp_path / "ramp.png")
    np.testing.assert_array_equal(read_grey_2d(tmp_path / "ramp.png"), MASK * 2)


def test_colour_labels_are_rejected_with_the_file_name(tmp_path):
    rgb = np.zeros((*MASK.shape, 3), np.uint8)
    rgb[MASK] = (255, 0, 0)
    Image.fromarray(rgb, mode="RGB").save(tmp_path / "red.png")
    with pytest.raises(ValueError, match=r"red\.png: label has colour channels that differ"):
        read_grey_2d(tmp_path / "red.png")


def test_drive_reader_reads_the_palette_2nd_manual(tmp_path):
    root = tmp_path / "DRIVE" / "test"
    for folder in ("images", "2nd_manual", "mask"):
        (root / folder).mkdir(parents=True)
    Image.fromarray(np.full((*MASK.shape, 3), 90, np.uint8)).save(root / "images" / "01_test.tif")
    drive_2nd_manual(root / "2nd_manual" / "01_manual2.gif")
    fov = np.ones(MASK.shape, np.uint8)
    palette_image(fov, [(0, 0, 0), (255, 255, 255)]).save(root / "mask" / "01_test_mask.gif")
    case = drive(tmp_path / "DRIVE", "test", observer=2)[0]
    np.testing.assert_array_equal(case.label, MASK.astype(np.int64))
    assert case.fov.all()


def test_folder_reader_palette_and_bilevel_give_the_same_cases(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for number, write in enumerate(
        (
            lambda p: drive_2nd_manual(p.with_suffix(".gif")),
            lambda p: Image.fromarray(MASK).save(p.with_suffix(".tif")),
            lambda p: Image.fromarray(MASK.astype(np.uint8) * 255).save(p.with_suffix(".png")),
        )
    ):
        Image.fromarray(np.zeros((*MASK.shape, 3), np.uint8)).save(
            tmp_path / "images" / f"{number}.png"
        )
        write(tmp_path / "labels" / f"{number}")
    source = ImageFolderDataset(
        tmp_path / "images",
        tmp_path / "labels",
        label_pattern=("{id}.gif", "{id}.tif", "{id}.png"),
    )
    for case in source:
        np.testing.assert_array_equal(case.label, MASK.astype(np.int64))


def test_read_image_2d_reads_palettes_as_their_colours(tmp_path):
    from boundaryloss.data.io import read_image_2d

    classes = (np.arange(99).reshape(9, 11) % 3).astype(np.uint8)
    voc = [(0, 0, 0), (128, 0, 0), (0, 128, 0)]
    palette_image(classes, voc).save(tmp_path / "classes.png")
    np.testing.assert_array_equal(read_image_2d(tmp_path / "classes.png"), np.array(voc)[classes])
    drive_2nd_manual(tmp_path / "drive.gif")  # grey palette: the stored grey levels
    np.testing.assert_array_equal(read_image_2d(tmp_path / "drive.gif"), np.where(MASK, 253, 3))
