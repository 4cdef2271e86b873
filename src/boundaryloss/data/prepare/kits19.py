"""KiTS19: kidney and kidney tumour segmentation in contrast-enhanced CT.

Download layout (the ``kits19`` repository after ``get_imaging.py``)::

    SRC/data/case_00000/imaging.nii.gz
                        segmentation.nii.gz   (0 background, 1 kidney, 2 tumour)
    ...
    SRC/data/case_00210/imaging.nii.gz        (cases 210-299: test, no segmentation)

Cases 0-209 are training cases and must have ``segmentation.nii.gz``; cases 210 and up
go to ``imagesTs`` (with ``labelsTs`` if a segmentation is present). The volumes'
voxel axes are (z, y, x) and their affine says so: both are kept exactly as shipped
(images are byte copies), so spacing is ``header.get_zooms()`` in that axis order.
"""

from __future__ import annotations

from pathlib import Path

from ._common import DatasetPreparer, SourceCase, relative_to, require_file, sorted_dirs

#: First case id of the KiTS19 test set.
FIRST_TEST_CASE = 210


def find_cases(src: Path) -> list[SourceCase]:
    data = src / "data"
    if not data.is_dir():
        raise ValueError(f"{src}: no data folder (expected SRC/data/case_00000/imaging.nii.gz)")
    case_dirs = sorted_dirs(data, r"case_\d{5}")
    if not case_dirs:
        raise ValueError(f"{data}: no case_NNNNN folders")
    cases = []
    for case_dir in case_dirs:
        case_id = case_dir.name
        split = "test" if int(case_id.removeprefix("case_")) >= FIRST_TEST_CASE else "training"
        image = require_file(case_dir / "imaging.nii.gz", case_id, "imaging.nii.gz")
        label = case_dir / "segmentation.nii.gz"
        if split == "training":
            require_file(label, case_id, "segmentation.nii.gz")
        cases.append(
            SourceCase(
                case_id=case_id,
                split=split,
                channels=(image,),
                label=label if label.is_file() else None,
                meta={"source": relative_to(case_dir, src)},
            )
        )
    return cases


PREPARER = DatasetPreparer(
    name="kits19",
    title="KiTS19",
    description="Kidney and kidney tumour segmentation in arterial-phase abdominal CT.",
    reference="KiTS19 challenge, https://kits19.grand-challenge.org/ "
    "(https://github.com/neheller/kits19)",
    licence="CC BY-NC-SA 4.0",
    channel_names=("CT",),
    labels={"background": 0, "kidney": 1, "tumor": 2},
    label_values={0: 0, 1: 1, 2: 2},
    find_cases=find_cases,
    layout="SRC/data/case_NNNNN/{imaging,segmentation}.nii.gz",
    notes=(
        "cases 0-209 are training, 210+ test (imagesTs)",
        "voxel axes are (z, y, x) as shipped; affine and headers are kept unchanged",
    ),
)
