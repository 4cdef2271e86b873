"""ACDC 2017: cardiac cine-MRI segmentation at end-diastole and end-systole.

Download layout (``database/`` of the release)::

    SRC/training/patient001/Info.cfg               (ED: 1, ES: 12, Group: DCM, Height,
                                                    NbFrame, Weight)
                            patient001_4d.nii.gz   (whole cycle, not used)
                            patient001_frame01.nii.gz
                            patient001_frame01_gt.nii.gz
                            patient001_frame12.nii.gz
                            patient001_frame12_gt.nii.gz
    SRC/testing/patient101/...                     (optional; _gt files optional)

Each patient gives two cases, ``patient001_ED`` and ``patient001_ES``: the frames named
by ``Info.cfg`` with their ``_gt`` references. The frame numbers and the ``Info.cfg``
fields are recorded per case under ``case_info`` in ``dataset.json``. One channel
(cine MRI); labels 0 background, 1 right ventricle, 2 myocardium, 3 left ventricle.
"""

from __future__ import annotations

from pathlib import Path

from ._common import DatasetPreparer, SourceCase, relative_to, require_file, sorted_dirs

_PHASES = ("ED", "ES")
_NUMERIC = {"Height": float, "Weight": float, "NbFrame": int}


def read_info(path: Path) -> dict[str, object]:
    """Parse an ACDC ``Info.cfg`` (``key: value`` lines) with ED/ES as frame numbers."""
    if not path.is_file():
        raise ValueError(f"{path}: file not found (expected the patient's Info.cfg)")
    info: dict[str, object] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"{path}:{number}: expected 'key: value', got {line!r}")
        info[key.strip()] = value.strip()
    for phase in _PHASES:
        if phase not in info:
            raise ValueError(f"{path}: no '{phase}: <frame>' line")
        try:
            info[phase] = int(str(info[phase]))
        except ValueError:
            raise ValueError(f"{path}: {phase} frame {info[phase]!r} is not an integer") from None
    for key, kind in _NUMERIC.items():
        if key in info:
            try:
                info[key] = kind(str(info[key]))
            except ValueError:
                pass  # keep the text; these fields are informative only
    return info


def find_cases(src: Path) -> list[SourceCase]:
    training = src / "training"
    if not training.is_dir():
        raise ValueError(f"{src}: no training folder (expected SRC/training/patientNNN/Info.cfg)")
    cases = []
    for split, folder in (("training", training), ("test", src / "testing")):
        if split == "test" and not folder.is_dir():
            continue
        patients = sorted_dirs(folder, r"patient\d+")
        if not patients:
            raise ValueError(f"{folder}: no patientNNN folders")
        for patient_dir in patients:
            patient = patient_dir.name
            info = read_info(patient_dir / "Info.cfg")
            for phase in _PHASES:
                frame = info[phase]
                case_id = f"{patient}_{phase}"
                stem = f"{patient}_frame{frame:02d}"
                image = require_file(patient_dir / f"{stem}.nii.gz", case_id, f"{phase} frame")
                label = patient_dir / f"{stem}_gt.nii.gz"
                if split == "training":
                    require_file(label, case_id, f"{phase} reference")
                meta = {
                    "source": relative_to(patient_dir, src),
                    "patient": patient,
                    "phase": phase,
                    "frame": frame,
                    **{k.lower(): v for k, v in info.items() if k not in _PHASES},
                }
                cases.append(
                    SourceCase(
                        case_id=case_id,
                        split=split,
                        channels=(image,),
                        label=label if label.is_file() else None,
                        meta=meta,
                    )
                )
    return cases


PREPARER = DatasetPreparer(
    name="acdc2017",
    title="ACDC2017",
    description="Cardiac cine-MRI segmentation of RV, myocardium and LV at ED and ES.",
    reference="Automated Cardiac Diagnosis Challenge (MICCAI 2017), "
    "https://www.creatis.insa-lyon.fr/Challenge/acdc/",
    licence="see the challenge's terms of use (CREATIS)",
    channel_names=("cineMRI",),
    labels={"background": 0, "RV": 1, "MYO": 2, "LV": 3},
    label_values={0: 0, 1: 1, 2: 2, 3: 3},
    find_cases=find_cases,
    layout="SRC/training/patientNNN/{Info.cfg,patientNNN_frameXX[_gt].nii.gz} [+ SRC/testing]",
    notes=(
        "two cases per patient, <patient>_ED and <patient>_ES, from the frames named in "
        "Info.cfg; frame numbers and Info.cfg fields under case_info",
        "patientNNN_4d.nii.gz is not used",
        "testing/ patients go to imagesTs (labelsTs where _gt files exist)",
    ),
)
