"""IDRiD (Indian Diabetic Retinopathy Image Dataset), segmentation part, as it unpacks.

The official layout (Porwal et al., Data 3(3), 25, 2018), folder names with their
spaces and dots::

    A. Segmentation/
      1. Original Images/{a. Training Set, b. Testing Set}/IDRiD_NN.jpg
      2. All Segmentation Groundtruths/{a. Training Set, b. Testing Set}/
        1. Microaneurysms/IDRiD_NN_MA.tif
        2. Haemorrhages/IDRiD_NN_HE.tif
        3. Hard Exudates/IDRiD_NN_EX.tif
        4. Soft Exudates/IDRiD_NN_SE.tif
        5. Optic Disc/IDRiD_NN_OD.tif

The training set has 54 images (IDRiD_01-54), the test set 27 (IDRiD_55-81), at
4288x2848. A missing mask means the image has no lesion of that type (the official
set omits haemorrhage masks of 1 training image and soft-exudate masks of 28).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from .._validation import check_one_of
from .folders import ImageFolderDataset, red_channel_fov

#: Lesion type (as in the mask file names) -> the official ground-truth folder.
IDRID_LESIONS: dict[str, str] = {
    "MA": "1. Microaneurysms",
    "HE": "2. Haemorrhages",
    "EX": "3. Hard Exudates",
    "SE": "4. Soft Exudates",
    "OD": "5. Optic Disc",
}
#: Split name -> the official set folder.
IDRID_SPLITS: dict[str, str] = {"training": "a. Training Set", "test": "b. Testing Set"}
#: The segmentation part's top folder, and its image and ground-truth folders.
IDRID_SEGMENTATION = "A. Segmentation"
IDRID_IMAGES = "1. Original Images"
IDRID_GROUNDTRUTHS = "2. All Segmentation Groundtruths"
#: The field of view: the red channel above this 8-bit value, as for CHASE_DB1 (the
#: fundus is bright in red; the camera's border is black), the largest region with its
#: holes filled.
IDRID_FOV_THRESHOLD = 20


def idrid_segmentation_root(root: str | os.PathLike) -> Path:
    """The ``A. Segmentation`` folder for ``root``: that folder itself or its parent.

    Raises:
        ValueError: neither ``root`` nor ``root/A. Segmentation`` holds the official
            image and ground-truth folders (the message names what is missing).
    """
    root = Path(root).expanduser()
    for candidate in (root / IDRID_SEGMENTATION, root):
        if (candidate / IDRID_IMAGES).is_dir() and (candidate / IDRID_GROUNDTRUTHS).is_dir():
            return candidate
    raise ValueError(
        f"{root}: not an IDRiD segmentation folder; expected '{IDRID_SEGMENTATION}/"
        f"{IDRID_IMAGES}' and '{IDRID_SEGMENTATION}/{IDRID_GROUNDTRUTHS}' (as the official "
        "download unpacks) in it, or those two folders directly"
    )


def idrid_has_split(root: str | os.PathLike, split: str) -> bool:
    """Whether the IDRiD copy at ``root`` holds the images of ``split``."""
    check_one_of(split, IDRID_SPLITS, "IDRiD split")
    return (idrid_segmentation_root(root) / IDRID_IMAGES / IDRID_SPLITS[split]).is_dir()


def idrid(
    root: str | os.PathLike,
    lesion: Literal["MA", "HE", "EX", "SE", "OD"] = "EX",
    split: Literal["training", "test"] = "training",
    fov_threshold: int = IDRID_FOV_THRESHOLD,
) -> ImageFolderDataset:
    """IDRiD's segmentation images with one lesion type's masks, as binary labels.

    Convention:
        ``image`` is the RGB photograph, float32 ``(3, H, W)`` in [0, 1]; ``label`` is
        int64 ``(H, W)``, 1 where the lesion mask is non-zero (any colour channel: the
        official TIFs and re-saved copies store lesions as 1, 255 or red pixels), and
        all 0 when the image has no mask of that type (no such lesion). ``fov`` is the
        red channel above ``fov_threshold``, the largest region with its holes filled
        (:func:`~boundaryloss.data.red_channel_fov`). Spacing is (1, 1) px: the files
        carry no physical pixel size. Case ids are ``"IDRiD_NN"``.

    Args:
        root: the folder holding ``A. Segmentation`` (or that folder itself).
        lesion: ``"MA"`` microaneurysms, ``"HE"`` haemorrhages, ``"EX"`` hard exudates,
            ``"SE"`` soft exudates or ``"OD"`` the optic disc.
        split: ``"training"`` (``a. Training Set``) or ``"test"`` (``b. Testing Set``).
        fov_threshold: the 8-bit red value above which a pixel is in the field of view.

    Raises:
        ValueError: unknown lesion or split; the layout, the split's image folder or the
            lesion's ground-truth folder is missing (named); or as
            :class:`~boundaryloss.data.ImageFolderDataset` when a case is read.

    Example:
        >>> cases = idrid("../shared/data/idrid", "EX")  # doctest: +SKIP
        >>> cases[0].image.shape, cases[0].label.max()  # doctest: +SKIP
        ((3, 512, 512), 1)
    """
    check_one_of(lesion, IDRID_LESIONS, "IDRiD lesion")
    check_one_of(split, IDRID_SPLITS, "IDRiD split")
    base = idrid_segmentation_root(root)
    images = base / IDRID_IMAGES / IDRID_SPLITS[split]
    labels = base / IDRID_GROUNDTRUTHS / IDRID_SPLITS[split] / IDRID_LESIONS[lesion]
    for folder, what in ((images, "images"), (labels, f"{lesion} ground truths")):
        if not folder.is_dir():
            raise ValueError(f"{folder}: IDRiD {split} {what} folder not found")
    return ImageFolderDataset(
        images,
        labels,
        image_pattern=("{id}.jpg", "{id}.JPG", "{id}.jpeg", "{id}.png", "{id}.tif"),
        label_pattern=(f"{{id}}_{lesion}.tif", f"{{id}}_{lesion}.tiff", f"{{id}}_{lesion}.png"),
        fov_from_image=red_channel_fov(fov_threshold, solid=True),
        id_regex=r"IDRiD_\d+",
        on_missing_label="background",
        label_rule="nonzero",
        meta={"dataset": "IDRiD", "lesion": lesion, "split": split},
    )
