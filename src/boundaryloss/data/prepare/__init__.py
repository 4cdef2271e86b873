"""Convert public challenge downloads into the MSD / nnU-Net raw layout.

Every preparer reads one challenge's own layout and writes::

    DST/imagesTr/<case>_0000<ending>, <case>_0001<ending>, ...   (one file per channel)
    DST/labelsTr/<case><ending>                                  (class indices, uint8)
    DST/imagesTs/..., DST/labelsTs/...                           (test cases, if shipped)
    DST/dataset.json

with ``<ending>`` ``.nii.gz`` for volumes and ``.png`` for 2D images (DRIVE, which also
writes ``masksTr/``). ``dataset.json`` has the nnU-Net v2 keys (``channel_names``,
``labels`` as name -> value, ``numTraining``, ``file_ending``), the MSD keys
(``modality``, ``training``, ``test``), ``source`` (the download's path, the label
mapping and notes) and ``case_info`` (per-case facts from the layout: frames, grades).

Nothing is written before the whole download's layout has been checked, and the output
is built in a temporary sibling of ``DST`` that replaces it only when complete, so an
error never leaves a half-prepared or destroyed destination.

Example:
    >>> from boundaryloss.data.prepare import PREPARERS, prepare_dataset
    >>> sorted(PREPARERS)
    ['acdc2017', 'brats2018', 'drive', 'isles2018', 'isles2022', 'kits19', 'wmh2017']
    >>> prepare_dataset("kits19", "kits19", "raw/KiTS19")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from pathlib import Path

from . import acdc2017, brats2018, drive, isles2018, isles2022, kits19, wmh2017
from ._common import (
    DatasetPreparer,
    PreparedDataset,
    SourceCase,
    check_cases,
    check_destination,
    staged_destination,
    write_dataset,
)

#: Dataset name -> its preparer, in the order the command line lists them.
PREPARERS: dict[str, DatasetPreparer] = {
    module.PREPARER.name: module.PREPARER
    for module in (isles2018, isles2022, wmh2017, acdc2017, kits19, brats2018, drive)
}


def get_preparer(name: str, leave_out: Collection[str] = ()) -> DatasetPreparer:
    """The preparer registered as ``name`` (case-insensitive), without the optional
    channels named in ``leave_out`` (e.g. ``("FLAIR",)`` for ``"isles2022"``).

    Raises:
        ValueError: no such dataset (the message lists the known ones), or a channel in
            ``leave_out`` that the dataset cannot leave out.
    """
    try:
        preparer = PREPARERS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; expected one of: {', '.join(PREPARERS)}"
        ) from None
    for channel in leave_out:
        preparer = preparer.leave_out(channel)
    return preparer


def find_cases(
    name: str, src: str | os.PathLike, leave_out: Collection[str] = ()
) -> list[SourceCase]:
    """The cases of the download at ``src``, checked but not read (a dry run)."""
    preparer = get_preparer(name, leave_out)
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: source folder not found")
    cases = preparer.find_cases(src)
    check_cases(cases, preparer, src)
    return cases


def prepare_dataset(
    name: str,
    src: str | os.PathLike,
    dst: str | os.PathLike,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    leave_out: Collection[str] = (),
) -> PreparedDataset:
    """Convert the ``name`` challenge download at ``src`` into the raw layout at ``dst``.

    Args:
        name: one of :data:`PREPARERS` (``"isles2018"``, ``"isles2022"``, ``"wmh2017"``,
            ``"acdc2017"``, ``"kits19"``, ``"brats2018"``, ``"drive"``).
        src: the download's root folder (see each module's docstring for its layout).
        dst: the output folder; it must be absent or empty unless ``overwrite``.
        overwrite: replace a non-empty ``dst`` that ``prepare`` wrote (it holds its
            folder mark, or is a dataset of an older version: ``dataset.json`` says it was
            prepared by boundaryloss), only once the new one is complete; any other
            non-empty folder is refused.
        progress: called with one line per written case (e.g. ``print``); None is silent.
        leave_out: optional input channels to leave out, neither looked for nor read
            (``("FLAIR",)`` for ``"isles2022"``, whose FLAIR is otherwise resampled into
            DWI's grid).

    Returns:
        Where the dataset went and how many training and test cases it holds.

    Raises:
        ValueError: unknown dataset, a channel in ``leave_out`` the dataset cannot leave
            out, a layout that does not match the challenge's (the
            message names the folder or file and what was expected), mismatched shapes
            or affines between a case's files, label values outside the challenge's set.
        FileNotFoundError: ``src`` does not exist.
        FileExistsError: ``dst`` is not empty and ``overwrite`` is False, or it is not a
            dataset ``prepare`` wrote, or it is a symbolic link.
    """
    preparer = get_preparer(name, leave_out)
    src, dst = Path(src), Path(dst)
    check_destination(src, dst, overwrite)
    cases = preparer.find_cases(src)
    check_cases(cases, preparer, src)
    with staged_destination(dst, overwrite) as stage:
        num_training, num_test = write_dataset(preparer, cases, src, stage, progress)
    return PreparedDataset(preparer.name, dst, num_training, num_test)


__all__ = [
    "PREPARERS",
    "DatasetPreparer",
    "PreparedDataset",
    "SourceCase",
    "find_cases",
    "get_preparer",
    "prepare_dataset",
]
