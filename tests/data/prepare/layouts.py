"""Tiny synthetic copies of the challenge downloads, in their exact file layouts.

Every builder writes a few cases with small volumes into ``root`` and returns it. Each
image channel is filled with a distinct constant (:func:`channel_value`) so a test can
check the output channel order, and every label holds each of the challenge's values.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image

SHAPE = (8, 9, 5)
#: An oblique-free but non-trivial affine: anisotropic spacing, a flip and an origin.
AFFINE = np.array(
    [[-0.9, 0.0, 0.0, 90.0], [0.0, 0.8, 0.0, -120.0], [0.0, 0.0, 5.0, -30.0], [0, 0, 0, 1]]
)
#: KiTS19's affine: voxel axes (z, y, x), so the first column moves along world z.
KITS_AFFINE = np.array(
    [[0.0, 0.0, -0.78, 0.0], [0.0, -0.78, 0.0, 0.0], [-3.0, 0.0, 0.0, 0.0], [0, 0, 0, 1]]
)


def channel_value(case_number: int, channel: int) -> int:
    """The constant written to ``channel`` of case ``case_number``."""
    return 100 * case_number + 10 * (channel + 1)


def save_nifti(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(data, affine)
    image.header.set_data_dtype(data.dtype)
    image.header.set_qform(affine, code=1)
    image.header.set_sform(affine, code=1)
    nib.save(image, str(path))
    return path


def constant(value: float, dtype, shape=SHAPE) -> np.ndarray:
    return np.full(shape, value, dtype=dtype)


def label_with(values, dtype, shape=SHAPE) -> np.ndarray:
    """A label holding each of ``values`` (first one as background) in separate slabs."""
    label = np.full(shape, values[0], dtype=dtype)
    for index, value in enumerate(values[1:], start=1):
        label[index, 1:-1, 1:-1] = value
    return label


# --- ISLES 2018 ---------------------------------------------------------------------------

ISLES_SERIES = ("CT", "CT_CBF", "CT_CBV", "CT_MTT", "CT_Tmax")


def make_isles2018(root: Path, n_train: int = 2, n_test: int = 1) -> Path:
    """``TRAINING/case_N/SMIR.Brain.XX.O.<series>.<number>/<same>.nii`` (+ TESTING)."""
    number = 345560
    for folder, count in (("TRAINING", n_train), ("TESTING", n_test)):
        for case in range(1, count + 1):
            case_dir = root / folder / f"case_{case}"
            series = ["CT_4DPWI", *ISLES_SERIES] + (["OT"] if folder == "TRAINING" else [])
            for name in series:
                number += 1
                stem = f"SMIR.Brain.XX.O.{name}.{number}"
                if name == "CT_4DPWI":
                    data = np.zeros((*SHAPE, 3), dtype=np.int16)
                elif name == "OT":
                    data = label_with([0, 1], np.uint8)
                elif name == "CT":
                    data = constant(channel_value(case, 0), np.int16)
                else:
                    data = constant(channel_value(case, ISLES_SERIES.index(name)), np.float32)
                save_nifti(case_dir / stem / f"{stem}.nii", data)
    return root


def isles_series_file(root: Path, case_dir: str, series: str) -> Path:
    """The ``.nii`` file of one series of ``TRAINING/case_N`` (e.g. ``"CT_CBV"``)."""
    (folder,) = [p for p in (root / case_dir).iterdir() if p.name.split(".")[4] == series]
    return folder / f"{folder.name}.nii"


# --- ISLES 2022 ---------------------------------------------------------------------------

#: Subjects of the synthetic ISLES 2022 download; the last has no derivatives (a test case).
ISLES22_SUBJECTS = ("sub-strokecase0001", "sub-strokecase0002", "sub-strokecase0003")
#: The DWI grid's header codes, as in the real download (the mask has qform 0, sform 2).
ISLES22_DWI_CODES = (2, 1)
ISLES22_FLAIR_SHAPE = (16, 18, 7)


def isles22_flair_affine() -> np.ndarray:
    """FLAIR's own grid: rotated 10 degrees about z, 0.45 x 0.4 x 2.5 mm, centred in-plane
    on the DWI grid (:data:`AFFINE`, :data:`SHAPE`) and starting 1 mm above its first slice,
    so that some DWI voxels fall inside FLAIR's outermost voxel centres, some in the half
    voxel beyond them and some outside its field of view."""
    theta = np.deg2rad(10.0)
    rotation = np.array(
        [[np.cos(theta), -np.sin(theta), 0.0], [np.sin(theta), np.cos(theta), 0.0], [0, 0, 1]]
    )
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-0.45, 0.4, 2.5])
    centre = AFFINE[:3, :3] @ ((np.array(SHAPE) - 1) / 2) + AFFINE[:3, 3]
    flair_centre = (np.array(ISLES22_FLAIR_SHAPE) - 1) / 2
    affine[:3, 3] = centre - affine[:3, :3] @ flair_centre
    affine[2, 3] = AFFINE[2, 3] + 1.0
    return affine


def isles22_ramp(world: np.ndarray) -> np.ndarray:
    """The FLAIR intensity at world points ``(..., 3)`` in mm: linear, positive nearby."""
    return 1000.0 + 3.0 * world[..., 0] - 2.0 * world[..., 1] + 5.0 * world[..., 2]


def isles22_paths(root: Path, subject: str, layout: str) -> dict[str, Path]:
    """Where ``dwi``, ``adc``, ``flair`` and ``msk`` of ``subject`` lie in ``layout``:
    ``"zenodo"`` (``ISLES-2022.zip``: ``sub-X/ses-0001/{dwi,anat}/``, ``_FLAIR``) or
    ``"rawdata"`` (the evaluation repository: ``rawdata/sub-X/ses-0001/``, ``_flair``)."""
    stem = f"{subject}_ses-0001"
    mask = root / "derivatives" / subject / "ses-0001" / f"{stem}_msk.nii.gz"
    if layout == "zenodo":
        session = root / subject / "ses-0001"
        return {
            "dwi": session / "dwi" / f"{stem}_dwi.nii.gz",
            "adc": session / "dwi" / f"{stem}_adc.nii.gz",
            "flair": session / "anat" / f"{stem}_FLAIR.nii.gz",
            "msk": mask,
        }
    session = root / "rawdata" / subject / "ses-0001"
    paths = {m: session / f"{stem}_{m}.nii.gz" for m in ("dwi", "adc", "flair")}
    return {**paths, "msk": mask}


def isles22_images(number: int) -> dict[str, np.ndarray]:
    """The DWI and ADC (float64 noise), FLAIR (the world ramp) and mask of a subject."""
    rng = np.random.default_rng(number)
    flair_affine = isles22_flair_affine()
    indices = np.stack(np.indices(ISLES22_FLAIR_SHAPE), axis=-1).astype(np.float64)
    world = indices @ flair_affine[:3, :3].T + flair_affine[:3, 3]
    mask = np.zeros(SHAPE, dtype=np.uint16)
    mask[2:5, 3:6, 1 + number % 3] = 1
    return {
        "dwi": rng.uniform(-5.0, 1600.0, SHAPE),
        "adc": rng.uniform(-0.3, 4.8, SHAPE),
        "flair": isles22_ramp(world),
        "msk": mask,
    }


def save_isles22_dwi_grid(path: Path, data: np.ndarray, codes=ISLES22_DWI_CODES) -> Path:
    """``data`` on the DWI grid with the given (qform, sform) codes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(data, AFFINE)
    image.header.set_data_dtype(data.dtype)
    image.header.set_qform(AFFINE, code=codes[0])
    image.header.set_sform(AFFINE, code=codes[1])
    nib.save(image, str(path))
    return path


def make_isles2022(root: Path, layout: str = "zenodo") -> Path:
    """ISLES 2022 in its BIDS ``layout`` (see :func:`isles22_paths`), with the JSON
    sidecars, snapshots and top-level BIDS files; the last subject has no derivatives."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text('{"Name": "ISLES 2022", "BIDSVersion": ""}')
    (root / "participants.tsv").write_text("participant_id\n")
    for number, subject in enumerate(ISLES22_SUBJECTS, start=1):
        paths = isles22_paths(root, subject, layout)
        data = isles22_images(number)
        for modality in ("dwi", "adc"):
            save_isles22_dwi_grid(paths[modality], data[modality])
        save_nifti(paths["flair"], data["flair"], isles22_flair_affine())
        for modality in ("dwi", "adc", "flair"):
            paths[modality].with_name(paths[modality].name.replace(".nii.gz", ".json")).write_text(
                '{"MagneticFieldStrength": 3}'
            )
        if subject != ISLES22_SUBJECTS[-1]:
            save_isles22_dwi_grid(paths["msk"], data["msk"], codes=(0, 2))
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(
                paths["msk"].with_name(paths["msk"].name.replace("_msk.nii.gz", "_snp.png"))
            )
    return root


# --- WMH 2017 -----------------------------------------------------------------------------

WMH_CASES = (("Utrecht", "0"), ("Singapore", "50"), ("Amsterdam/GE3T", "100"))


def make_wmh2017(root: Path) -> Path:
    """``<site>/<id>/pre/{FLAIR,T1}.nii.gz``, ``<site>/<id>/wmh.nii.gz`` (0, 1, 2), ``orig/``."""
    for number, (site, case) in enumerate(WMH_CASES, start=1):
        case_dir = root / site / case
        save_nifti(
            case_dir / "pre" / "FLAIR.nii.gz", constant(channel_value(number, 0), np.float32)
        )
        save_nifti(case_dir / "pre" / "T1.nii.gz", constant(channel_value(number, 1), np.float32))
        save_nifti(case_dir / "orig" / "FLAIR.nii.gz", constant(-1, np.float32))
        save_nifti(case_dir / "wmh.nii.gz", label_with([0, 1, 2], np.float32))
    return root


# --- ACDC 2017 ----------------------------------------------------------------------------

ACDC_FRAMES = {"patient001": (1, 3), "patient002": (1, 4), "patient101": (2, 1)}


def make_acdc2017(root: Path) -> Path:
    """``training/patientNNN/`` with Info.cfg, the 4D file, ED/ES frames and ``_gt``."""
    for number, (patient, (ed, es)) in enumerate(ACDC_FRAMES.items(), start=1):
        split = "testing" if patient == "patient101" else "training"
        patient_dir = root / split / patient
        patient_dir.mkdir(parents=True)
        group = "" if split == "testing" else "Group: DCM\n"
        (patient_dir / "Info.cfg").write_text(
            f"ED: {ed}\nES: {es}\n{group}Height: 184.0\nNbFrame: 5\nWeight: 95.0\n"
        )
        save_nifti(patient_dir / f"{patient}_4d.nii.gz", np.zeros((*SHAPE, 5), np.int16))
        for phase, frame in (("ED", ed), ("ES", es)):
            value = channel_value(number, 0) + (0 if phase == "ED" else 1)
            save_nifti(
                patient_dir / f"{patient}_frame{frame:02d}.nii.gz", constant(value, np.int16)
            )
            if split == "training":
                save_nifti(
                    patient_dir / f"{patient}_frame{frame:02d}_gt.nii.gz",
                    label_with([0, 1, 2, 3], np.uint8),
                )
    return root


# --- KiTS19 -------------------------------------------------------------------------------


def make_kits19(root: Path) -> Path:
    """``data/case_NNNNN/imaging.nii.gz`` (+ ``segmentation.nii.gz`` below case 210)."""
    for number in (0, 1, 210):
        case_dir = root / "data" / f"case_{number:05d}"
        save_nifti(case_dir / "imaging.nii.gz", constant(number - 1000, np.int16), KITS_AFFINE)
        if number < 210:
            save_nifti(
                case_dir / "segmentation.nii.gz", label_with([0, 1, 2], np.uint8), KITS_AFFINE
            )
    return root


# --- BraTS 2018 ---------------------------------------------------------------------------

BRATS_CASES = (
    ("HGG", "Brats18_2013_2_1"),
    ("HGG", "Brats18_CBICA_AAB_1"),
    ("LGG", "Brats18_TCIA09_141_1"),
)
BRATS_AFFINE = np.array(
    [[-1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 239.0], [0.0, 0.0, 1.0, 0.0], [0, 0, 0, 1]]
)


def make_brats2018(root: Path) -> Path:
    """``{HGG,LGG}/<id>/<id>_{flair,t1,t1ce,t2,seg}.nii.gz`` with labels 0, 1, 2, 4."""
    for number, (grade, case) in enumerate(BRATS_CASES, start=1):
        case_dir = root / grade / case
        for channel, suffix in enumerate(("flair", "t1", "t1ce", "t2")):
            value = channel_value(number, channel)
            save_nifti(
                case_dir / f"{case}_{suffix}.nii.gz", constant(value, np.int16), BRATS_AFFINE
            )
        save_nifti(
            case_dir / f"{case}_seg.nii.gz", label_with([0, 1, 2, 4], np.uint8), BRATS_AFFINE
        )
    return root


# --- DRIVE --------------------------------------------------------------------------------

DRIVE_SHAPE = (12, 10)


def drive_rgb(number: int) -> np.ndarray:
    rgb = np.empty((*DRIVE_SHAPE, 3), dtype=np.uint8)
    for channel in range(3):
        rgb[..., channel] = channel_value(number % 2, channel)
    return rgb


def drive_vessels(number: int) -> np.ndarray:
    label = np.zeros(DRIVE_SHAPE, dtype=np.uint8)
    label[2 : 4 + number % 3, 3:7] = 255
    return label


def drive_fov() -> np.ndarray:
    mask = np.zeros(DRIVE_SHAPE, dtype=np.uint8)
    mask[1:-1, 1:-1] = 255
    return mask


def save_gif(path: Path, data: np.ndarray) -> None:
    """A palette GIF whose indices are 0, 1, ... and whose palette holds the grey values.

    Reading the raw indices would give 0/1; the grey values are the label's 0/255.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    greys = np.unique(data)
    image = Image.fromarray(np.searchsorted(greys, data).astype(np.uint8))  # "L"
    image.putpalette([int(g) for g in greys for _ in range(3)])  # becomes "P"
    image.save(path)


def make_drive(root: Path) -> Path:
    """``{training,test}/images/NN_<set>.tif``, ``1st_manual/NN_manual1.gif``, ``mask/``."""
    for split, numbers in (("training", (21, 22)), ("test", (1, 2))):
        for number in numbers:
            name = f"{number:02d}"
            folder = root / split
            (folder / "images").mkdir(parents=True, exist_ok=True)
            Image.fromarray(drive_rgb(number)).save(folder / "images" / f"{name}_{split}.tif")
            save_gif(folder / "1st_manual" / f"{name}_manual1.gif", drive_vessels(number))
            save_gif(folder / "mask" / f"{name}_{split}_mask.gif", drive_fov())
            if split == "test":
                save_gif(folder / "2nd_manual" / f"{name}_manual2.gif", drive_vessels(number + 1))
    return root


BUILDERS = {
    "isles2018": make_isles2018,
    "isles2022": make_isles2022,
    "wmh2017": make_wmh2017,
    "acdc2017": make_acdc2017,
    "kits19": make_kits19,
    "brats2018": make_brats2018,
    "drive": make_drive,
}
