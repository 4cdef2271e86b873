"""BraTS 2018: brain tumour sub-region segmentation from four MRI sequences.

Download layout (``MICCAI_BraTS_2018_Data_Training``)::

    SRC/HGG/Brats18_2013_2_1/Brats18_2013_2_1_flair.nii.gz
                             Brats18_2013_2_1_t1.nii.gz
                             Brats18_2013_2_1_t1ce.nii.gz
                             Brats18_2013_2_1_t2.nii.gz
                             Brats18_2013_2_1_seg.nii.gz
    SRC/LGG/Brats18_2013_0_1/...

Output channels follow the Medical Segmentation Decathlon's Task01_BrainTumour order:
0 FLAIR, 1 T1w, 2 T1gd (``t1ce``), 3 T2w (nnU-Net's own BraTS conversions use t1, t1ce,
t2, flair instead). Labels keep the challenge's values 0 background, 1 necrotic and
non-enhancing tumour core, 2 peritumoral edema, 4 GD-enhancing tumour: label 3 is not
used, so tools needing consecutive labels (nnU-Net) want 4 remapped to 3 first. The
grade (HGG/LGG) is recorded per case under ``case_info``.
"""

from __future__ import annotations

from pathlib import Path

from ._common import DatasetPreparer, SourceCase, relative_to, require_file, sorted_dirs

#: File suffix -> output channel name, in channel order.
_CHANNELS = {"flair": "FLAIR", "t1": "T1w", "t1ce": "T1gd", "t2": "T2w"}
_GRADES = ("HGG", "LGG")


def find_cases(src: Path) -> list[SourceCase]:
    grades = [grade for grade in _GRADES if (src / grade).is_dir()]
    if not grades:
        raise ValueError(
            f"{src}: no HGG or LGG folder (expected SRC/HGG/Brats18_<id>/Brats18_<id>_flair.nii.gz)"
        )
    cases = []
    for grade in grades:
        case_dirs = sorted_dirs(src / grade, r"Brats18_.+")
        if not case_dirs:
            raise ValueError(f"{src / grade}: no Brats18_* folders")
        for case_dir in case_dirs:
            case_id = case_dir.name
            channels = tuple(
                require_file(case_dir / f"{case_id}_{suffix}.nii.gz", case_id, f"{suffix} image")
                for suffix in _CHANNELS
            )
            label = require_file(case_dir / f"{case_id}_seg.nii.gz", case_id, "seg label")
            cases.append(
                SourceCase(
                    case_id=case_id,
                    split="training",
                    channels=channels,
                    label=label,
                    meta={"source": relative_to(case_dir, src), "grade": grade},
                )
            )
    return cases


PREPARER = DatasetPreparer(
    name="brats2018",
    title="BraTS2018",
    description="Glioma sub-region segmentation from FLAIR, T1, T1gd and T2 brain MRI.",
    reference="BraTS 2018 challenge, https://www.med.upenn.edu/sbia/brats2018.html",
    licence="see the challenge's data usage agreement (CBICA)",
    channel_names=tuple(_CHANNELS.values()),
    labels={
        "background": 0,
        "necrotic_non_enhancing_tumor_core": 1,
        "peritumoral_edema": 2,
        "enhancing_tumor": 4,
    },
    label_values={0: 0, 1: 1, 2: 2, 4: 4},
    find_cases=find_cases,
    layout="SRC/{HGG,LGG}/<id>/<id>_{flair,t1,t1ce,t2,seg}.nii.gz",
    notes=(
        "channels in MSD Task01 order: flair, t1, t1ce, t2",
        "labels keep the challenge values 0, 1, 2, 4 (no 3); remap 4 -> 3 for tools "
        "needing consecutive labels",
        "grade (HGG/LGG) recorded in case_info",
    ),
)
