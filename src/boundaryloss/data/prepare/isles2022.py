"""ISLES 2022: ischemic stroke lesion segmentation from DWI, ADC and FLAIR MRI (BIDS layout).

Download layouts (both BIDS; a case's files may sit directly in its session folder or in
BIDS's ``anat/`` and ``dwi/`` sub-folders, and the modality in a file name may be upper
or lower case)::

    SRC/sub-strokecase0001/ses-0001/dwi/sub-strokecase0001_ses-0001_dwi.nii.gz
                                    dwi/sub-strokecase0001_ses-0001_adc.nii.gz
                                    anat/sub-strokecase0001_ses-0001_FLAIR.nii.gz
    SRC/derivatives/sub-strokecase0001/ses-0001/sub-strokecase0001_ses-0001_msk.nii.gz
                                                sub-strokecase0001_ses-0001_snp.png

is the official ``ISLES-2022.zip`` (Zenodo); the challenge's evaluation repository ships
its sample case under ``SRC/rawdata/`` instead, with the three images side by side::

    SRC/rawdata/sub-strokecase0009/ses-0001/sub-strokecase0009_ses-0001_{dwi,adc,flair}.nii.gz
    SRC/derivatives/sub-strokecase0009/ses-0001/sub-strokecase0009_ses-0001_msk.nii.gz

The ``.json`` sidecars and the ``_snp.png`` snapshots are not used. Each subject has one
session; its id (``sub-strokecase0001``) is the case id.

Output channels: 0 DWI (b = 1000), 1 ADC, 2 FLAIR. DWI, ADC and the mask share one voxel
grid (checked); FLAIR has its own (e.g. 512x512x29 at 0.45x0.45x5 mm against DWI's
112x112x73 at 2 mm), so it is resampled into DWI's grid through the two affines
(trilinear, edge values extended half a voxel, 0 outside FLAIR's field of view: see
:func:`~boundaryloss.data.geometry.resample_into_grid`), or left out with ``--no-flair``
(``leave_out=("FLAIR",)``), when its files are neither looked for nor read. Every image
is written as float32 with DWI's header (affine, zooms, qform/sform codes); the label as
uint8 with the same header.
Labels: 0 background, 1 lesion (any non-zero mask value). A subject without a
``derivatives/<subject>`` folder has no mask and goes to ``imagesTs``, as nnU-Net keeps
unlabelled cases; a subject whose derivatives folder lacks the mask is refused, since that
is an incomplete download rather than a test case.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ._common import DatasetPreparer, SourceCase, relative_to, sorted_dirs

#: File name modality (lower case) -> output channel name, in channel order.
_CHANNELS = {"dwi": "DWI", "adc": "ADC", "flair": "FLAIR"}
#: Folders of a session that may hold its images (BIDS puts DWI/ADC in dwi/, FLAIR in anat/).
_IMAGE_FOLDERS = (".", "anat", "dwi")
_MASK = "msk"
_SUFFIXES = (".nii.gz", ".nii")


def _find_file(folders: list[Path], stem: str) -> Path | None:
    """The one file named ``<stem><.nii.gz|.nii>`` (any letter case) in ``folders``.

    Raises:
        ValueError: more than one such file.
    """
    wanted = {f"{stem}{suffix}".lower() for suffix in _SUFFIXES}
    found = [
        path
        for folder in folders
        if folder.is_dir()
        for path in sorted(folder.iterdir())
        if path.is_file() and path.name.lower() in wanted
    ]
    if len(found) > 1:
        raise ValueError(f"{stem}: {len(found)} files ({', '.join(map(str, found))}); expected one")
    return found[0] if found else None


def _session(subject_dir: Path) -> Path:
    sessions = sorted_dirs(subject_dir, r"ses-[A-Za-z0-9]+")
    if len(sessions) != 1:
        found = ", ".join(p.name for p in sessions) or "none"
        raise ValueError(f"{subject_dir}: expected one ses-* folder, found {found}")
    return sessions[0]


def find_cases(src: Path, with_flair: bool = True) -> list[SourceCase]:
    """The subjects of an ISLES 2022 download at ``src`` (see the module docstring).

    Args:
        src: the download's root (holding ``derivatives/`` and ``sub-*/`` or ``rawdata/``).
        with_flair: look for each subject's FLAIR too (the third channel).

    Raises:
        ValueError: no ``derivatives`` or ``sub-*`` folder, a subject without exactly one
            session, a missing or duplicated image, a derivatives folder without its
            mask, or one without its subject's images (each message names the folder or
            the expected file).
    """
    if not (src / "derivatives").is_dir():
        raise ValueError(
            f"{src}: no derivatives folder (expected the lesion masks in "
            "SRC/derivatives/sub-X/ses-N/sub-X_ses-N_msk.nii.gz)"
        )
    raw = src / "rawdata" if (src / "rawdata").is_dir() else src
    subjects = sorted_dirs(raw, r"sub-[A-Za-z0-9]+")
    if not subjects:
        raise ValueError(
            f"{raw}: no sub-* folders (expected SRC/sub-strokecaseNNNN/ses-0001/... or "
            "SRC/rawdata/sub-strokecaseNNNN/ses-0001/...)"
        )
    names = {subject.name for subject in subjects}
    orphans = [d.name for d in sorted_dirs(src / "derivatives", r"sub-[A-Za-z0-9]+")]
    orphans = [name for name in orphans if name not in names]
    if orphans:
        raise ValueError(
            f"{src / 'derivatives' / orphans[0]}: a lesion mask folder without its subject's "
            f"images in {raw} ({len(orphans)} such folder(s); an incomplete download?)"
        )
    modalities = [m for m in _CHANNELS if with_flair or m != "flair"]
    cases = []
    for subject_dir in subjects:
        subject = subject_dir.name
        session_dir = _session(subject_dir)
        stem = f"{subject}_{session_dir.name}"
        folders = [session_dir / folder for folder in _IMAGE_FOLDERS]
        channels = []
        for modality in modalities:
            path = _find_file(folders, f"{stem}_{modality}")
            if path is None:
                raise ValueError(
                    f"case {subject}: missing {_CHANNELS[modality]} image (expected "
                    f"{session_dir / f'{stem}_{modality}.nii.gz'}, or in its anat/ or dwi/)"
                )
            channels.append(path)
        mask_dir = src / "derivatives" / subject / session_dir.name
        label = None
        if (src / "derivatives" / subject).is_dir():
            label = _find_file([mask_dir], f"{stem}_{_MASK}")
            if label is None:
                raise ValueError(
                    f"case {subject}: missing lesion mask {mask_dir / f'{stem}_{_MASK}.nii.gz'} "
                    "(a subject without a mask has no derivatives folder at all)"
                )
        cases.append(
            SourceCase(
                case_id=subject,
                split="training" if label is not None else "test",
                channels=tuple(channels),
                label=label,
                meta={"source": relative_to(session_dir, src)},
            )
        )
    return cases


def _preparer(with_flair: bool) -> DatasetPreparer:
    if with_flair:
        flair_note = (
            "FLAIR resampled into DWI's voxel grid through the affines: trilinear, edge "
            "values extended half a voxel, 0 outside FLAIR's field of view"
        )
    else:
        flair_note = "FLAIR left out (--no-flair)"
    return DatasetPreparer(
        name="isles2022",
        title="ISLES2022",
        description="Ischemic stroke lesion segmentation from DWI, ADC and FLAIR brain MRI.",
        reference="ISLES 2022 challenge, https://isles22.grand-challenge.org/; Hernandez "
        "Petzsche et al., Scientific Data 9, 762 (2022)",
        licence="CC BY 4.0",
        channel_names=tuple(name for m, name in _CHANNELS.items() if with_flair or m != "flair"),
        labels={"background": 0, "lesion": 1},
        label_values={0: 0, 1: 1},
        find_cases=functools.partial(find_cases, with_flair=with_flair),
        layout="SRC/[rawdata/]sub-<id>/ses-<n>/[anat/|dwi/]sub-<id>_ses-<n>_{dwi,adc,flair}"
        ".nii.gz + SRC/derivatives/sub-<id>/ses-<n>/sub-<id>_ses-<n>_msk.nii.gz",
        notes=(
            "channels: DWI, ADC" + (", FLAIR" if with_flair else ""),
            flair_note,
            "images stored as float32 with DWI's header (affine, zooms, qform/sform codes), "
            "the label as uint8 with the same header",
            "mask binarised: any non-zero value -> 1",
            "subjects without derivatives/<subject> (no mask) go to imagesTs",
        ),
        image_dtype="float32",
        resampled_channels=("FLAIR",) if with_flair else (),
        binary_labels=True,
        optional_channels={"FLAIR": functools.partial(_preparer, False)} if with_flair else {},
    )


PREPARER = _preparer(with_flair=True)
