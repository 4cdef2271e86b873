"""Shared machinery of the preparers: the layout records, the staged destination and the writers.

A preparer is split in two so that nothing is written before the whole download has been
checked: a dataset module's ``find_cases(src)`` walks the challenge's own layout and
returns one :class:`SourceCase` per case (paths only, no voxels read), raising
``ValueError`` naming the folder or file when the layout does not match; then
:func:`write_dataset` reads, checks and writes every case into a temporary sibling of
the destination and swaps it into place only once everything, ``dataset.json``
included, has been written. Every source file is decoded to its end before it is used
(:func:`check_complete` for NIfTI, Pillow's full decode for 2D images), so a truncated
or corrupt download fails naming the file and leaves the destination as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..._files import current_umask, write_text_atomically
from ..._ownership import FOLDER_MARK, is_folder_of, mark_folder
from ..._validation import is_integral
from ..geometry import AFFINE_ATOL_MM, resample_into_grid
from ..io import load_nifti, read_grey_2d, read_image_2d, write_nifti, write_png

Split = Literal["training", "test"]

#: Output folder suffix of each split, as in the MSD / nnU-Net raw layout.
SPLIT_SUFFIX: dict[str, str] = {"training": "Tr", "test": "Ts"}
#: The command that makes prepared datasets, as their folder mark names it.
WRITTEN_BY = "boundaryloss prepare"
#: How ``dataset.json["source"]["prepared_by"]`` begins in every prepared dataset.
_PREPARED_BY = "boundaryloss "


@dataclass(frozen=True)
class SourceCase:
    """Where one case of a challenge download lies, before anything is read.

    Attributes:
        case_id: the id in the output file names (``<case_id>_0000.nii.gz``).
        split: ``"training"`` (written to ``imagesTr``) or ``"test"`` (``imagesTs``).
        channels: one file per input channel, in the dataset's channel order.
        label: the reference segmentation, or None (test cases without one).
        mask: a field-of-view mask (2D retinal datasets), or None.
        extra_labels: further references by name (a second observer), written to
            ``labels<Tr|Ts>_<name>/``.
        meta: what the layout says about the case (source folder, frame, grade, ...),
            recorded under ``case_info`` in ``dataset.json``.
    """

    case_id: str
    split: Split
    channels: tuple[Path, ...]
    label: Path | None
    mask: Path | None = None
    extra_labels: Mapping[str, Path] = field(default_factory=dict)
    meta: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetPreparer:
    """How one challenge download becomes the standard raw layout.

    Attributes:
        name: registry key and ``boundaryloss prepare`` argument (``"isles2018"``).
        title: ``name`` field of ``dataset.json`` (``"ISLES2018"``).
        description: one sentence on the task.
        reference: where the data comes from (challenge site, paper).
        licence: the data's licence as the organisers state it.
        channel_names: output channel ``_000X`` -> name, in order.
        labels: output label name -> value, written to ``dataset.json``.
        label_values: value in the challenge's files -> output value. A file holding
            any other value is rejected, so a wrong download (or a wrong dataset name)
            fails loudly instead of training on garbage.
        find_cases: walks a download and returns its cases (raises ``ValueError`` or
            ``FileNotFoundError`` naming what is missing).
        layout: one line showing what SRC must hold (for help texts).
        ndim: 3 for NIfTI volumes, 2 for PNG images.
        notes: remarks copied into ``dataset.json["source"]["notes"]``.
        image_dtype: None copies the image files as shipped (labels keep their own
            headers); a dtype name (``"float32"``) rewrites every image in that dtype and
            writes every image and label of a case with its first channel's header
            (affine, zooms, qform/sform codes), so all of a case's files share one.
        resampled_channels: names of channels shipped in their own voxel grid: instead
            of having to match the first channel's grid, each is resampled into it by
            :func:`~boundaryloss.data.geometry.resample_into_grid` (trilinear, 0 outside
            its field of view) and written in ``image_dtype`` (float32 when None).
        binary_labels: any non-zero label value becomes 1 (``label_values`` is then
            only recorded); NaN or infinite values are refused.
        optional_channels: channel name -> a function returning this dataset's preparer
            without that channel (see :meth:`leave_out`).
    """

    name: str
    title: str
    description: str
    reference: str
    licence: str
    channel_names: tuple[str, ...]
    labels: Mapping[str, int]
    label_values: Mapping[int, int]
    find_cases: Callable[[Path], list[SourceCase]]
    layout: str
    ndim: int = 3
    notes: tuple[str, ...] = ()
    image_dtype: str | None = None
    resampled_channels: tuple[str, ...] = ()
    binary_labels: bool = False
    optional_channels: Mapping[str, Callable[[], DatasetPreparer]] = field(default_factory=dict)

    @property
    def file_ending(self) -> str:
        return ".nii.gz" if self.ndim == 3 else ".png"

    def leave_out(self, channel: str) -> DatasetPreparer:
        """This dataset's preparer without the input ``channel``, whose files are then
        neither looked for nor read (``boundaryloss prepare isles2022 --no-flair``).

        Raises:
            ValueError: ``channel`` is not an optional channel of this dataset (the
                message lists the ones that are).
        """
        factory = self.optional_channels.get(channel)
        if factory is None:
            optional = ", ".join(self.optional_channels) or "none"
            raise ValueError(
                f"{self.name}: channel {channel!r} cannot be left out (optional channels: "
                f"{optional})"
            )
        return factory()


@dataclass(frozen=True)
class PreparedDataset:
    """What :func:`~boundaryloss.data.prepare.prepare_dataset` wrote."""

    name: str
    dst: Path
    num_training: int
    num_test: int

    @property
    def dataset_json(self) -> Path:
        return self.dst / "dataset.json"


# --- layout helpers used by the dataset modules ---------------------------------------------


def require_dir(path: Path, what: str) -> Path:
    """``path`` if it is a folder, else ``ValueError`` saying what was expected there."""
    if not path.is_dir():
        raise ValueError(f"{path}: folder not found (expected {what})")
    return path


def require_file(path: Path, case_id: str, what: str) -> Path:
    if not path.is_file():
        raise ValueError(f"case {case_id}: missing {what} (expected {path})")
    return path


def natural_key(text: str) -> tuple:
    """Sort ``case_2`` before ``case_10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def sorted_dirs(parent: Path, pattern: str) -> list[Path]:
    """Sub-folders of ``parent`` whose names match the regular expression ``pattern``."""
    regex = re.compile(pattern)
    found = [p for p in parent.iterdir() if p.is_dir() and regex.fullmatch(p.name)]
    return sorted(found, key=lambda p: natural_key(p.name))


def relative_to(path: Path, root: Path) -> str:
    with contextlib.suppress(ValueError):
        return path.relative_to(root).as_posix()
    return str(path)


# --- destination handling -----------------------------------------------------------------


def is_prepared_dataset(folder: Path) -> bool:
    """Whether ``folder`` (not a link) is a dataset ``prepare`` wrote: it holds the folder
    mark (:data:`~boundaryloss._ownership.FOLDER_MARK`), or, from a version before the
    mark, a ``dataset.json`` whose ``source.prepared_by`` names boundaryloss (which every
    version has written)."""
    if folder.is_symlink():
        return False
    if is_folder_of(folder, WRITTEN_BY):
        return True
    try:
        document = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    source = document.get("source") if isinstance(document, dict) else None
    prepared_by = source.get("prepared_by") if isinstance(source, dict) else None
    return isinstance(prepared_by, str) and prepared_by.startswith(_PREPARED_BY)


def check_replaceable(dst: Path, overwrite: bool) -> None:
    """Refuse to replace a non-empty ``dst``, unless ``overwrite`` and it is a dataset
    ``prepare`` wrote (:func:`is_prepared_dataset`): never a user's folder.

    Raises:
        FileExistsError: naming ``dst``.
    """
    if not any(dst.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(f"{dst}: destination is not empty (pass --overwrite to replace it)")
    if not is_prepared_dataset(dst):
        raise FileExistsError(
            f"{dst}: destination holds no dataset written by boundaryloss prepare (no "
            f"{FOLDER_MARK} or dataset.json of prepare); refusing to replace it. Choose a "
            "new or empty folder"
        )


def check_destination(src: Path, dst: Path, overwrite: bool) -> None:
    """Refuse a destination that would lose data; called before any work is done."""
    if not src.exists():
        raise FileNotFoundError(f"{src}: source folder not found")
    if not src.is_dir():
        raise NotADirectoryError(f"{src}: source is not a folder")
    real_src, real_dst = src.resolve(), dst.resolve()
    if real_dst == real_src or real_src.is_relative_to(real_dst):
        raise ValueError(f"{dst}: destination must not be the source folder or contain it ({src})")
    if real_dst.is_relative_to(real_src) and real_dst.exists() and any(real_dst.iterdir()):
        # --overwrite would replace part of the download (e.g. SRC/training) with the output
        raise ValueError(
            f"{dst}: destination is an existing folder inside the source folder {src}; "
            "choose a new or outside destination"
        )
    if dst.is_symlink():  # the swap would replace the link, not the folder it points to
        raise FileExistsError(f"{dst}: destination is a symbolic link; give the real folder")
    if dst.exists():
        if not dst.is_dir():
            raise FileExistsError(f"{dst}: destination exists and is not a folder")
        check_replaceable(dst, overwrite)


@contextlib.contextmanager
def staged_destination(dst: Path, overwrite: bool) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``dst``; swap it onto ``dst`` on success.

    On error the temporary folder is removed and ``dst`` is untouched. On success a
    previous non-empty ``dst`` (allowed only with ``overwrite``, and only a dataset
    ``prepare`` wrote: :func:`check_replaceable`) is first renamed aside,
    then replaced, then deleted, so no moment exists at which neither the old nor the
    new dataset is complete on disk under some name.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".{dst.name}.partial-"))
    try:
        yield stage
        _make_world_readable(stage)
        _swap_into_place(stage, dst, overwrite)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _make_world_readable(stage: Path) -> None:
    # mkdtemp creates 0o700; give the folder the mode a plain mkdir would have.
    stage.chmod(0o777 & ~current_umask())


def _swap_into_place(stage: Path, dst: Path, overwrite: bool) -> None:
    if not dst.exists():
        os.rename(stage, dst)
        return
    if not any(dst.iterdir()):
        dst.rmdir()
        os.rename(stage, dst)
        return
    check_replaceable(dst, overwrite)  # again: dst may have changed while we were writing
    old = Path(tempfile.mkdtemp(dir=dst.parent, prefix=f".{dst.name}.old-"))
    old.rmdir()
    os.rename(dst, old)
    try:
        os.rename(stage, dst)
    except BaseException:
        os.rename(old, dst)
        raise
    shutil.rmtree(old, ignore_errors=True)


# --- reading and writing one case -----------------------------------------------------------


def _read_voxels(image, path: Path) -> np.ndarray:
    try:
        return np.asanyarray(image.dataobj)
    except Exception as error:  # truncated gzip, short file
        raise ValueError(f"{path}: cannot read NIfTI data ({error})") from error


#: Bytes decompressed at a time when checking a ``.nii.gz`` stream.
_CHUNK = 1 << 20


def check_complete(image, path: Path) -> None:
    """Decode all of ``path`` without keeping it: a truncated or corrupt file fails here.

    A ``.nii.gz`` is decompressed to its end, so the gzip trailer's CRC and length are
    checked (nibabel alone reads only as far as the voxels reach, and a byte copy reads
    nothing); then the decoded size must hold the voxels the header announces. A plain
    ``.nii`` must be at least that long.

    Raises:
        ValueError: the gzip stream is cut short or corrupt, or the file holds fewer bytes
            than its header's shape and data type need (the message names the file).
    """
    import gzip
    import zlib

    # The array proxy knows where the voxels start (the header object that nibabel
    # returns may hold vox_offset 0) and how many bytes they take.
    proxy = image.dataobj
    dtype = np.dtype(proxy.dtype)
    needed = int(proxy.offset) + int(np.prod(proxy.shape, dtype=np.int64)) * dtype.itemsize
    if path.name.lower().endswith(".gz"):
        size = 0
        try:
            with gzip.open(path, "rb") as stream:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
        except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
            raise ValueError(f"{path}: corrupt or truncated gzip data ({error})") from error
    else:
        size = path.stat().st_size
    if size < needed:
        raise ValueError(
            f"{path}: truncated NIfTI file: {size} bytes of data, its header needs {needed} "
            f"(shape {tuple(proxy.shape)}, {dtype})"
        )


def _check_geometry(reference, reference_path: Path, image, path: Path) -> None:
    if image.shape != reference.shape:
        raise ValueError(
            f"{path}: shape {tuple(image.shape)} does not match {reference_path.name} "
            f"{tuple(reference.shape)}"
        )
    if not np.allclose(image.affine, reference.affine, rtol=0.0, atol=AFFINE_ATOL_MM):
        raise ValueError(
            f"{path}: affine {_rows(image.affine)} does not match {reference_path.name} "
            f"{_rows(reference.affine)}"
        )


def _rows(affine: np.ndarray) -> list[list[float]]:
    return np.round(np.asarray(affine)[:3], 4).tolist()


def binarise_label(data: np.ndarray, path: Path) -> np.ndarray:
    """Any non-zero value -> 1, as uint8; refuse NaN, infinite or non-numeric labels."""
    if data.dtype.kind not in "fiub":
        raise ValueError(f"{path}: label has non-numeric dtype {data.dtype}")
    if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
        raise ValueError(f"{path}: label holds NaN or infinite values")
    return (data != 0).astype(np.uint8)


def map_label_values(data: np.ndarray, mapping: Mapping[int, int], path: Path) -> np.ndarray:
    """Map a label array's values through ``mapping`` into uint8; reject any other value."""
    if data.dtype.kind == "f":
        if not is_integral(data):
            raise ValueError(f"{path}: label holds non-integer values")
    elif data.dtype.kind not in "iub":
        raise ValueError(f"{path}: label has non-numeric dtype {data.dtype}")
    found = np.unique(data)
    unexpected = sorted(int(v) for v in found if int(v) not in mapping)
    if unexpected:
        raise ValueError(
            f"{path}: unexpected label values {unexpected}; expected a subset of {sorted(mapping)}"
        )
    out = np.zeros(data.shape, dtype=np.uint8)
    for value in found:
        target = mapping[int(value)]
        if target:
            out[data == value] = target
    return out


def _write_volume_case(case: SourceCase, preparer: DatasetPreparer, stage: Path) -> dict[str, str]:
    """Check and write one NIfTI case; return its ``dataset.json`` entry paths."""
    import nibabel as nib

    suffix = SPLIT_SUFFIX[case.split]
    headers = [load_nifti(path) for path in case.channels]
    for image, path in zip(headers, case.channels, strict=True):
        check_complete(image, path)
    first, first_path = headers[0], case.channels[0]
    if len(first.shape) != 3:
        raise ValueError(f"{first_path}: expected a 3D volume, got shape {tuple(first.shape)}")
    resampled = [name in preparer.resampled_channels for name in preparer.channel_names]
    for image, path, own_grid in zip(headers[1:], case.channels[1:], resampled[1:], strict=True):
        if own_grid:
            if len(image.shape) != 3:
                raise ValueError(f"{path}: expected a 3D volume, got shape {tuple(image.shape)}")
        else:
            _check_geometry(first, first_path, image, path)

    labels: dict[str, Path] = {}
    if case.label is not None:
        labels[f"labels{suffix}"] = case.label
    for name, path in case.extra_labels.items():
        labels[f"labels{suffix}_{name}"] = path
    label_images = {}
    for folder, path in labels.items():
        image = load_nifti(path)
        _check_geometry(first, first_path, image, path)
        check_complete(image, path)
        label_images[folder] = (image, path)

    images_dir = stage / f"images{suffix}"
    images_dir.mkdir(exist_ok=True)
    channels = zip(headers, case.channels, resampled, strict=True)
    for index, (image, path, own_grid) in enumerate(channels):
        target = images_dir / f"{case.case_id}_{index:04d}.nii.gz"
        if own_grid:
            data = _resampled_into(image, path, first, first_path)
            dtype = preparer.image_dtype or "float32"
            write_nifti(target, data.astype(dtype), first.affine, header=first.header)
        elif preparer.image_dtype is not None:
            data = _read_voxels(image, path).astype(preparer.image_dtype)
            write_nifti(target, data, first.affine, header=first.header)
        elif path.name.endswith(".nii.gz"):
            # Already in the output format and checked by check_complete: a byte copy
            # keeps the header exactly and avoids recompressing gigabytes (KiTS, BraTS).
            shutil.copyfile(path, target)
        else:
            _read_voxels(image, path)
            nib.save(image, str(target))

    for folder, (image, path) in label_images.items():
        data = _read_voxels(image, path)
        if preparer.binary_labels:
            values = binarise_label(data, path)
        else:
            values = map_label_values(data, preparer.label_values, path)
        (stage / folder).mkdir(exist_ok=True)
        target = stage / folder / f"{case.case_id}.nii.gz"
        if preparer.image_dtype is not None:  # images were rewritten: one header for all
            write_nifti(target, values, first.affine, header=first.header)
            continue
        # Keep the label file's own header (qform/sform codes) rather than rebuilding one
        # from the affine: tools that compare image and label geometry (ITK, nnU-Net)
        # then see exactly what the challenge shipped.
        out = nib.Nifti1Image(values, image.affine, image.header)
        out.set_data_dtype(np.uint8)
        nib.save(out, str(target))
    entry = {"image": f"./images{suffix}/{case.case_id}.nii.gz"}
    if case.label is not None:
        entry["label"] = f"./labels{suffix}/{case.case_id}.nii.gz"
    return entry


def _resampled_into(image, path: Path, reference, reference_path: Path) -> np.ndarray:
    """``image``'s voxels resampled into ``reference``'s grid (see ``resample_into_grid``).

    Raises:
        ValueError: a singular affine, or no voxel of ``reference`` in ``image``'s field
            of view (wrong affines would otherwise give an all-zero channel).
    """
    data = _read_voxels(image, path)
    try:
        values, covered = resample_into_grid(data, image.affine, reference.shape, reference.affine)
    except ValueError as error:
        raise ValueError(
            f"{path}: cannot resample into {reference_path.name}'s grid ({error})"
        ) from error
    if not covered.any():
        raise ValueError(
            f"{path}: its field of view does not overlap {reference_path.name}'s grid "
            f"(affines {_rows(image.affine)} and {_rows(reference.affine)})"
        )
    return values


def _write_image_case(case: SourceCase, preparer: DatasetPreparer, stage: Path) -> dict[str, str]:
    """Check and write one 2D case as per-channel PNGs; return its entry paths."""
    suffix = SPLIT_SUFFIX[case.split]
    if len(case.channels) != 1:
        raise ValueError(f"case {case.case_id}: 2D cases are read from one RGB file")
    path = case.channels[0]
    rgb = read_image_2d(path, mode="RGB")
    shape = rgb.shape[:2]

    def read_binary(file: Path, mapping: Mapping[int, int], what: str) -> np.ndarray:
        data = read_grey_2d(file, what)
        if data.shape != shape:
            raise ValueError(f"{file}: shape {data.shape} does not match {path.name} {shape}")
        return map_label_values(data, mapping, file)

    outputs: dict[str, np.ndarray] = {}
    if case.label is not None:
        outputs[f"labels{suffix}"] = read_binary(case.label, preparer.label_values, "label")
    for name, file in case.extra_labels.items():
        outputs[f"labels{suffix}_{name}"] = read_binary(file, preparer.label_values, "label")
    if case.mask is not None:
        outputs[f"masks{suffix}"] = read_binary(case.mask, preparer.label_values, "mask")

    for index in range(len(preparer.channel_names)):
        write_png(stage / f"images{suffix}" / f"{case.case_id}_{index:04d}.png", rgb[..., index])
    for folder, array in outputs.items():
        write_png(stage / folder / f"{case.case_id}.png", array)
    entry = {"image": f"./images{suffix}/{case.case_id}.png"}
    if case.label is not None:
        entry["label"] = f"./labels{suffix}/{case.case_id}.png"
    if case.mask is not None:
        entry["mask"] = f"./masks{suffix}/{case.case_id}.png"
    return entry


# --- the whole dataset ----------------------------------------------------------------------


def check_cases(cases: Sequence[SourceCase], preparer: DatasetPreparer, src: Path) -> None:
    """Checks common to every layout: something found, unique ids, labels on training."""
    if not any(case.split == "training" for case in cases):
        raise ValueError(f"{src}: no training cases found for {preparer.name}")
    seen: dict[tuple[str, str], SourceCase] = {}
    for case in cases:
        key = (case.split, case.case_id)
        if key in seen:
            raise ValueError(
                f"case id {case.case_id} appears twice: {case.channels[0].parent} and "
                f"{seen[key].channels[0].parent}"
            )
        seen[key] = case
        if case.split == "training" and case.label is None:
            raise ValueError(f"case {case.case_id}: training case without a label")
        if len(case.channels) != len(preparer.channel_names) and preparer.ndim == 3:
            raise ValueError(
                f"case {case.case_id}: {len(case.channels)} channel files, expected "
                f"{len(preparer.channel_names)}"
            )


def write_dataset(
    preparer: DatasetPreparer,
    cases: Sequence[SourceCase],
    src: Path,
    stage: Path,
    progress: Callable[[str], None] | None = None,
) -> tuple[int, int]:
    """Write every case, ``dataset.json`` and the folder mark of ``prepare`` into
    ``stage``; return (training, test) counts."""
    writer = _write_volume_case if preparer.ndim == 3 else _write_image_case
    entries: dict[str, list[dict[str, str]]] = {"training": [], "test": []}
    info: dict[str, dict[str, dict]] = {"training": {}, "test": {}}
    for number, case in enumerate(cases, start=1):
        entries[case.split].append(writer(case, preparer, stage))
        info[case.split][case.case_id] = dict(case.meta)
        if progress is not None:
            progress(f"[{number}/{len(cases)}] {case.case_id} ({case.split})")

    from ... import __version__

    document = {
        "name": preparer.title,
        "description": preparer.description,
        "reference": preparer.reference,
        "licence": preparer.licence,
        "channel_names": {str(i): name for i, name in enumerate(preparer.channel_names)},
        "modality": {str(i): name for i, name in enumerate(preparer.channel_names)},
        "labels": dict(preparer.labels),
        "numTraining": len(entries["training"]),
        "numTest": len(entries["test"]),
        "file_ending": preparer.file_ending,
        "training": entries["training"],
        "test": [entry["image"] for entry in entries["test"]],
        "source": {
            "dataset": preparer.name,
            "path": str(src.resolve()),
            "prepared_by": f"boundaryloss {__version__}",
            "label_mapping": (
                {"0": 0, "non-zero": 1}
                if preparer.binary_labels
                else {str(k): v for k, v in preparer.label_values.items()}
            ),
            "notes": list(preparer.notes),
        },
        "case_info": info,
    }
    write_text_atomically(stage / "dataset.json", json.dumps(document, indent=2) + "\n")
    mark_folder(stage, WRITTEN_BY)
    return len(entries["training"]), len(entries["test"])
