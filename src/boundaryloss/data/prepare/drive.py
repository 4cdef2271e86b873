"""DRIVE: retinal vessel segmentation in colour fundus photographs (2D).

Download layout (``DRIVE/``)::

    SRC/training/images/21_training.tif            (RGB, 565x584)
                 1st_manual/21_manual1.gif          (0 background, 255 vessel)
                 mask/21_training_mask.gif          (field of view, 0/255)
    SRC/test/images/01_test.tif
             1st_manual/01_manual1.gif
             2nd_manual/01_manual2.gif             (second observer; palette GIF)
             mask/01_test_mask.gif

Output, per the nnU-Net v2 2D convention of one grey file per channel:
``images<Tr|Ts>/<NN>_0000.png`` (R), ``_0001.png`` (G), ``_0002.png`` (B) as uint8;
``labels<Tr|Ts>/<NN>.png`` with class indices 0/1 (1st manual, the challenge's
reference); ``masks<Tr|Ts>/<NN>.png`` with the field of view as 0/1; and the test
set's second observer in ``labelsTs_2nd_manual/<NN>.png``. Labels and masks are read by
:func:`~boundaryloss.data.io.read_grey_2d`: the official ``2nd_manual`` GIFs are palette
images (indices 0/1, near-grey entries (4, 2, 4) and (252, 254, 252)) and read as
0/255. Case ids are the two-digit image numbers (``21``, ``01``), unique across the two
sets.
"""

from __future__ import annotations

from pathlib import Path

from ._common import DatasetPreparer, SourceCase, relative_to, require_dir, require_file

_SETS = (("training", "training"), ("test", "test"))


def find_cases(src: Path) -> list[SourceCase]:
    if not (src / "training").is_dir():
        raise ValueError(
            f"{src}: no training folder (expected SRC/training/images/NN_training.tif)"
        )
    cases = []
    for split, name in _SETS:
        folder = src / name
        if split == "test" and not folder.is_dir():
            continue
        images = sorted(require_dir(folder / "images", "NN_<set>.tif").glob(f"*_{name}.tif"))
        if not images:
            raise ValueError(f"{folder / 'images'}: no NN_{name}.tif files")
        for image in images:
            number = image.name.removesuffix(f"_{name}.tif")
            manual = folder / "1st_manual" / f"{number}_manual1.gif"
            if split == "training":
                require_file(manual, number, "1st_manual label")
            mask = require_file(folder / "mask" / f"{number}_{name}_mask.gif", number, "FOV mask")
            second = folder / "2nd_manual" / f"{number}_manual2.gif"
            cases.append(
                SourceCase(
                    case_id=number,
                    split=split,
                    channels=(image,),
                    label=manual if manual.is_file() else None,
                    mask=mask,
                    extra_labels={"2nd_manual": second} if second.is_file() else {},
                    meta={"source": relative_to(image, src)},
                )
            )
    return cases


PREPARER = DatasetPreparer(
    name="drive",
    title="DRIVE",
    description="Retinal vessel segmentation in colour fundus photographs.",
    reference="DRIVE: Digital Retinal Images for Vessel Extraction, "
    "https://drive.grand-challenge.org/ (Staal et al., 2004)",
    licence="see the DRIVE terms of use",
    channel_names=("R", "G", "B"),
    labels={"background": 0, "vessel": 1},
    label_values={0: 0, 255: 1},
    find_cases=find_cases,
    layout="SRC/{training,test}/{images/NN_<set>.tif,1st_manual/NN_manual1.gif,mask/NN_<set>_mask.gif}",
    ndim=2,
    notes=(
        "RGB written as one grey PNG per channel (_0000 R, _0001 G, _0002 B)",
        "labels from 1st_manual, 255 -> 1; FOV masks in masks<Tr|Ts>/ as 0/1",
        "test 2nd_manual (second observer) in labelsTs_2nd_manual/",
    ),
)
