"""WMH 2017: white matter hyperintensity segmentation from FLAIR and T1 MRI.

Download layout (the training release; the later full release nests the same under
``training/`` and ``test/``)::

    SRC/Utrecht/0/pre/FLAIR.nii.gz
                  pre/T1.nii.gz
                  wmh.nii.gz            (0 background, 1 WMH, 2 other pathology)
                  orig/...              (not used)
    SRC/Singapore/50/...
    SRC/Amsterdam/GE3T/100/...          (older copies have GE3T/ at the top level)

A case is any folder holding ``pre/FLAIR.nii.gz``, found at any depth; one under a
folder named ``test`` goes to ``imagesTs`` (its ``wmh.nii.gz``, when present, to
``labelsTs``). Output channels: 0 FLAIR, 1 T1 (the ``pre/`` versions, registered to
FLAIR). Label 2 ("other pathology", not scored by the challenge) becomes background, as
in the boundary-loss paper (Kervadec et al., 2019). Case ids are
``<site or scanner>_<id>`` (``Utrecht_0``, ``GE3T_100``).
"""

from __future__ import annotations

from pathlib import Path

from ._common import DatasetPreparer, SourceCase, natural_key, relative_to, require_file

_CHANNELS = ("FLAIR", "T1")
_LABEL = "wmh.nii.gz"


def find_cases(src: Path) -> list[SourceCase]:
    flairs = sorted(
        (path for path in src.rglob("pre/FLAIR.nii.gz") if path.is_file()),
        key=lambda p: tuple(natural_key(part) for part in p.relative_to(src).parts),
    )
    if not flairs:
        raise ValueError(
            f"{src}: no <site>/<id>/pre/FLAIR.nii.gz found "
            "(expected e.g. SRC/Utrecht/0/pre/FLAIR.nii.gz)"
        )
    cases = []
    for flair in flairs:
        case_dir = flair.parent.parent
        case_id = f"{case_dir.parent.name}_{case_dir.name}"
        parts = [part.lower() for part in case_dir.relative_to(src).parts[:-1]]
        split = "test" if "test" in parts else "training"
        t1 = require_file(case_dir / "pre" / "T1.nii.gz", case_id, "T1 image")
        label = case_dir / _LABEL
        if split == "training":
            require_file(label, case_id, "label wmh.nii.gz")
        cases.append(
            SourceCase(
                case_id=case_id,
                split=split,
                channels=(flair, t1),
                label=label if label.is_file() else None,
                meta={"source": relative_to(case_dir, src), "site": case_dir.parent.name},
            )
        )
    return cases


PREPARER = DatasetPreparer(
    name="wmh2017",
    title="WMH2017",
    description="White matter hyperintensity segmentation from FLAIR and T1 brain MRI.",
    reference="MICCAI 2017 WMH Segmentation Challenge, https://wmh.isi.uu.nl/",
    licence="CC BY-NC 4.0 (see the challenge's data release)",
    channel_names=_CHANNELS,
    labels={"background": 0, "wmh": 1},
    label_values={0: 0, 1: 1, 2: 0},
    find_cases=find_cases,
    layout="SRC/<Utrecht|Singapore|Amsterdam/GE3T>/<id>/{pre/FLAIR,pre/T1,wmh}.nii.gz",
    notes=(
        "channels: pre/FLAIR.nii.gz, pre/T1.nii.gz",
        "label 2 (other pathology) mapped to background, as in the boundary-loss paper",
        "cases under a folder named 'test' go to imagesTs/labelsTs",
    ),
)
