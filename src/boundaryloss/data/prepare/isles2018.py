"""ISLES 2018: ischemic stroke core segmentation from CT perfusion.

Download layout (``ISLES2018_Training.zip`` and, optionally, ``ISLES2018_Testing.zip``
unpacked side by side)::

    SRC/TRAINING/case_1/SMIR.Brain.XX.O.CT.345562/SMIR.Brain.XX.O.CT.345562.nii
                        SMIR.Brain.XX.O.CT_4DPWI.345561/...   (raw 4D perfusion, not used)
                        SMIR.Brain.XX.O.CT_CBF.345563/...
                        SMIR.Brain.XX.O.CT_CBV.345564/...
                        SMIR.Brain.XX.O.CT_MTT.345565/...
                        SMIR.Brain.XX.O.CT_Tmax.345567/...
                        SMIR.Brain.XX.O.OT.345566/...         (core lesion, training only)
    SRC/TESTING/case_1/...                                     (same, without OT)

Every series sits in a folder named like its file, with a number unique to the series.
Output channels: 0 CT (Hounsfield units), 1 CBF, 2 CBV, 3 MTT, 4 Tmax; labels 0
background, 1 core. Case ids are the challenge's (``case_1``); training and test ids
overlap, which is harmless since they go to ``imagesTr`` and ``imagesTs``.
"""

from __future__ import annotations

import re
from pathlib import Path

from ._common import (
    DatasetPreparer,
    SourceCase,
    relative_to,
    sorted_dirs,
)

#: Series name in the folder/file names -> output channel name, in channel order.
_CHANNELS = {"CT": "CT", "CT_CBF": "CBF", "CT_CBV": "CBV", "CT_MTT": "MTT", "CT_Tmax": "Tmax"}
_LABEL = "OT"
_SERIES = re.compile(r"SMIR\.Brain\.XX\.O\.(?P<series>[A-Za-z0-9_]+)\.(?P<number>\d+)")


def _series_files(case_dir: Path) -> dict[str, Path]:
    """Series name -> its ``.nii`` file, for every ``SMIR.Brain.XX.O.*`` folder of a case."""
    found: dict[str, Path] = {}
    for folder in case_dir.iterdir():
        match = _SERIES.fullmatch(folder.name)
        if not folder.is_dir() or match is None:
            continue
        series = match["series"]
        if series in found:
            raise ValueError(
                f"{case_dir}: two {series} series ({found[series].parent.name}, {folder.name})"
            )
        candidates = [folder / f"{folder.name}.nii", folder / f"{folder.name}.nii.gz"]
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            raise ValueError(f"{folder}: missing {folder.name}.nii")
        found[series] = file
    return found


def find_cases(src: Path) -> list[SourceCase]:
    training = src / "TRAINING"
    if not training.is_dir():
        raise ValueError(
            f"{src}: no TRAINING folder (expected SRC/TRAINING/case_N/SMIR.Brain.XX.O.CT.N/...)"
        )
    cases: list[SourceCase] = []
    for split, folder in (("training", training), ("test", src / "TESTING")):
        if split == "test" and not folder.is_dir():
            continue
        case_dirs = sorted_dirs(folder, r"case_\d+")
        if not case_dirs:
            raise ValueError(f"{folder}: no case_* folders")
        for case_dir in case_dirs:
            series = _series_files(case_dir)
            missing = [name for name in _CHANNELS if name not in series]
            if missing:
                raise ValueError(
                    f"{case_dir}: missing SMIR.Brain.XX.O.<{'|'.join(missing)}>.N series "
                    f"(found {sorted(series) or 'none'})"
                )
            label = series.get(_LABEL)
            if split == "training" and label is None:
                raise ValueError(f"{case_dir}: missing the SMIR.Brain.XX.O.OT.N lesion series")
            cases.append(
                SourceCase(
                    case_id=case_dir.name,
                    split=split,
                    channels=tuple(series[name] for name in _CHANNELS),
                    label=label,
                    meta={"source": relative_to(case_dir, src)},
                )
            )
    return cases


PREPARER = DatasetPreparer(
    name="isles2018",
    title="ISLES2018",
    description="Ischemic stroke lesion (core) segmentation from CT perfusion maps.",
    reference="ISLES 2018 challenge, http://www.isles-challenge.org/ (SMIR)",
    licence="see the challenge's terms of use (SMIR)",
    channel_names=tuple(_CHANNELS.values()),
    labels={"background": 0, "core": 1},
    label_values={0: 0, 1: 1},
    find_cases=find_cases,
    layout="SRC/TRAINING/case_N/SMIR.Brain.XX.O.<CT|CT_CBF|...|OT>.N/*.nii [+ SRC/TESTING]",
    notes=(
        "channels: CT, CBF, CBV, MTT, Tmax from the SMIR.Brain.XX.O.<series>.N folders; "
        "CT_4DPWI (raw perfusion) is not used",
        ".nii files are re-saved as .nii.gz with their own headers",
        "TESTING cases (no OT) go to imagesTs",
    ),
)
