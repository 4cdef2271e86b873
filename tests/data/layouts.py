"""Tiny datasets written in the layouts the readers support, through the io writers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from boundaryloss.data.io import write_image_2d, write_nifti

SHAPE_2D = (24, 20)


def rgb(rng: np.random.Generator, shape=SHAPE_2D) -> np.ndarray:
    return rng.integers(0, 256, (*shape, 3), dtype=np.uint8)


def binary_255(rng: np.random.Generator, shape=SHAPE_2D, p: float = 0.2) -> np.ndarray:
    mask = rng.random(shape) < p
    mask[0, 0] = True  # never empty
    return mask.astype(np.uint8) * 255


def write_drive(root: Path, split: str = "training", ids=("21", "22", "23")) -> dict:
    """DRIVE: images/NN_<split>.tif, 1st_manual/NN_manual1.gif, mask/NN_<split>_mask.gif."""
    rng = np.random.default_rng(0)
    written = {}
    base = root / split
    for case_id in ids:
        image, label, mask = rgb(rng), binary_255(rng), binary_255(rng, p=0.7)
        write_image_2d(base / "images" / f"{case_id}_{split}.tif", image)
        write_image_2d(base / "1st_manual" / f"{case_id}_manual1.gif", label)
        write_image_2d(base / "mask" / f"{case_id}_{split}_mask.gif", mask)
        if split == "test":
            write_image_2d(base / "2nd_manual" / f"{case_id}_manual2.gif", binary_255(rng))
        written[case_id] = {"image": image, "label": label, "mask": mask}
    return written


def write_chase_db1(root: Path, children=range(1, 15), shape=SHAPE_2D) -> dict:
    """CHASE_DB1 as in the shared copy: images/Image_NN{L,R}.jpg and
    manual/Image_NN{L,R}_{1st,2nd}HO.png (1-bit PNGs), children 01-14 by default (28
    images, the full dataset)."""
    from PIL import Image

    rng = np.random.default_rng(7)
    (root / "manual").mkdir(parents=True, exist_ok=True)
    written = {}
    for child in children:
        for eye in "LR":
            case_id = f"Image_{child:02d}{eye}"
            image, label = rgb(rng, shape), binary_255(rng, shape)
            write_image_2d(root / "images" / f"{case_id}.jpg", image)
            for observer in ("1stHO", "2ndHO"):
                path = root / "manual" / f"{case_id}_{observer}.png"
                Image.fromarray(label > 0).save(path)  # mode "1", as the real files
            written[case_id] = {"image": image, "label": label}
    return written


def write_stare(root: Path, flat: bool = False) -> dict:
    """STARE: stare-images/im0001.ppm, labels-ah/im0001.ah.ppm (one .pgm, one gzipped)."""
    import gzip

    rng = np.random.default_rng(1)
    images = root if flat else root / "stare-images"
    labels = root if flat else root / "labels-ah"
    written = {}
    for number, label_suffix in ((1, ".ah.ppm"), (2, ".ah.pgm"), (44, ".ah.ppm.gz")):
        case_id = f"im{number:04d}"
        image, label = rgb(rng), binary_255(rng)
        write_image_2d(images / f"{case_id}.ppm", image)
        stored = np.repeat(label[..., None], 3, axis=-1) if ".ppm" in label_suffix else label
        if label_suffix.endswith(".gz"):
            plain = labels / f"{case_id}.ah.ppm"
            write_image_2d(plain, stored)
            (labels / f"{case_id}{label_suffix}").write_bytes(gzip.compress(plain.read_bytes()))
            plain.unlink()
        else:
            write_image_2d(labels / f"{case_id}{label_suffix}", stored)
        written[case_id] = {"image": image, "label": label}
    return written


def affine(spacing=(0.9, 0.8, 2.0), origin=(10.0, -5.0, 3.0)) -> np.ndarray:
    matrix = np.diag([*spacing, 1.0])
    matrix[:3, 3] = origin
    return matrix


def write_dataset_json(root: Path, **fields) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset.json").write_text(json.dumps({"name": "Fixture", **fields}))


def write_msd_4d(root: Path, ids=("case_001", "case_002"), shape=(10, 12, 8)) -> dict:
    """MSD: one 4D int16 file per case, channels last; MSD-style dataset.json labels."""
    rng = np.random.default_rng(2)
    write_dataset_json(
        root,
        modality={"0": "FLAIR", "1": "T1w"},
        labels={"0": "background", "1": "edema", "2": "tumour"},
        numTraining=len(ids),
        file_ending=".nii.gz",
    )
    written = {}
    for case_id in ids:
        image = rng.integers(-100, 1000, (*shape, 2)).astype(np.int16)
        label = rng.integers(0, 3, shape).astype(np.uint8)
        write_nifti(root / "imagesTr" / f"{case_id}.nii.gz", image, affine())
        write_nifti(root / "labelsTr" / f"{case_id}.nii.gz", label, affine())
        written[case_id] = {"image": image, "label": label}
    return written


def write_nnunet(
    root: Path,
    ids=("brain_01", "brain_02"),
    shape=(9, 7, 6),
    test_ids=(),
    test_labels: bool = False,
) -> dict:
    """nnU-Net v2: _0000/_0001 float32 channel files, float32 labels, v2-style labels;
    ``test_ids`` in imagesTs (with labelsTs when ``test_labels``)."""
    rng = np.random.default_rng(3)
    write_dataset_json(
        root,
        channel_names={"0": "T1", "1": "T2"},
        labels={"background": 0, "left": 1, "right": 2},
        numTraining=len(ids),
        file_ending=".nii.gz",
    )
    written = {}
    for folder, case_ids, labelled in (("Tr", ids, True), ("Ts", test_ids, test_labels)):
        for case_id in case_ids:
            channels = [rng.normal(size=shape).astype(np.float32) for _ in range(2)]
            for index, channel in enumerate(channels):
                write_nifti(root / f"images{folder}" / f"{case_id}_{index:04d}.nii.gz", channel)
            label = rng.integers(0, 3, shape).astype(np.float32)
            if labelled:
                write_nifti(root / f"labels{folder}" / f"{case_id}.nii.gz", label)
            written[case_id] = {"channels": channels, "label": label}
    return written


def write_nnunet_2d(root: Path, ids=("01", "02"), shape=SHAPE_2D, rgb_file: bool = False) -> dict:
    """nnU-Net v2 2D: imagesTr/<id>_000X.png grey channels (or one RGB _0000.png),
    labelsTr/<id>.png class indices, masksTr/<id>.png {0, 1}."""
    rng = np.random.default_rng(4)
    write_dataset_json(
        root,
        channel_names={"0": "R", "1": "G", "2": "B"},
        labels={"background": 0, "vessel": 1},
        file_ending=".png",
    )
    written = {}
    for case_id in ids:
        image, label = rgb(rng, shape), (rng.random(shape) < 0.2).astype(np.uint8)
        mask = (rng.random(shape) < 0.8).astype(np.uint8)
        if rgb_file:
            write_image_2d(root / "imagesTr" / f"{case_id}_0000.png", image)
        else:
            for index in range(3):
                write_image_2d(root / "imagesTr" / f"{case_id}_{index:04d}.png", image[..., index])
        write_image_2d(root / "labelsTr" / f"{case_id}.png", label)
        write_image_2d(root / "masksTr" / f"{case_id}.png", mask)
        written[case_id] = {"image": image, "label": label, "mask": mask}
    return written


def fundus(rng: np.random.Generator, shape=SHAPE_2D) -> np.ndarray:
    """An RGB photograph: a bright disc (red >= 60) on a black border (red 0)."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    disc = (rows - shape[0] / 2) ** 2 + (cols - shape[1] / 2) ** 2 <= (min(shape) / 2 - 1) ** 2
    image = rng.integers(60, 256, (*shape, 3), dtype=np.uint8)
    image[~disc] = 0
    return image


def write_idrid(
    root: Path,
    split: str = "a. Training Set",
    ids=("IDRiD_01", "IDRiD_02", "IDRiD_03"),
    lesions=("1. Microaneurysms/MA", "3. Hard Exudates/EX"),
    missing=(("IDRiD_02", "MA"),),
    red: bool = True,
) -> dict:
    """IDRiD's official segmentation layout under ``root/A. Segmentation``: JPEG images,
    TIF masks; a lesion mask is stored the official way, as red ``(255, 0, 0)`` pixels
    on black RGB (``red``), or as grey {0, 255}. ``missing`` (id, type) pairs get no mask
    file (no lesion). Returns ``{id: {"image", TYPE: bool mask or None}}``; images are
    PNG-exact only as JPEG allows, so tests compare masks, not image values."""
    rng = np.random.default_rng(1)
    base = root / "A. Segmentation"
    written = {}
    for case_id in ids:
        image = fundus(rng)
        write_image_2d(base / "1. Original Images" / split / f"{case_id}.jpg", image)
        written[case_id] = {"image": image}
        for folder_and_type in lesions:
            folder, kind = folder_and_type.split("/")
            mask = rng.random(SHAPE_2D) < 0.05
            mask[12, 10] = True  # never empty, inside the disc
            mask[0, 0] = False
            folder_path = base / "2. All Segmentation Groundtruths" / split / folder
            folder_path.mkdir(parents=True, exist_ok=True)
            if (case_id, kind) in missing:
                written[case_id][kind] = None
                continue
            if red:
                stored = np.zeros((*SHAPE_2D, 3), np.uint8)
                stored[mask, 0] = 255
            else:
                stored = mask.astype(np.uint8) * 255
            write_image_2d(folder_path / f"{case_id}_{kind}.tif", stored)
            written[case_id][kind] = mask
    return written
