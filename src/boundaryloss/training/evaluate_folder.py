"""Evaluate a folder of predictions made by any tool against a folder of references.

The analogue of nnU-Net's ``nnUNetv2_evaluate_folder``:

* **Files**: NIfTI (``.nii``, ``.nii.gz``; spacing from the header, in mm) and lossless 2D
  images (PNG, TIFF, GIF, BMP, PGM/PPM; spacing 1: distances, the NSD tolerance and the
  lesion volume difference are in pixels). Other files
  (``dataset.json``, ``plans.json``, hidden files) are ignored. 2D labels stored as
  {0, 255} read as binary.
* **Cases** are matched by id: the file name without its format suffix, or the first group
  of ``id_regex`` (e.g. ``r"^(\\d+)_"`` pairs DRIVE's ``01_test.png``, ``01_manual1.gif``
  and ``01_test_mask.gif``). An nnU-Net channel suffix ``_0000`` is dropped from an id
  when that alone makes it match, unambiguously. Any id found in only one folder is an
  error that lists them.
* **Checks**: prediction, reference (and mask) of a case must have the same shape and,
  for NIfTI, the same voxel grid: spacing, axis directions, origin, and any qform or
  sform both files set (:func:`~boundaryloss.data.geometry.check_same_grid`); label values
  must be 0 or one of ``labels``. Every error names the file.
* **Field of view**: with ``mask_dir``, each case's mask (non-zero = inside) restricts the
  evaluation: prediction and reference are set to background outside it
  (:func:`~boundaryloss.data.fov.restrict_case_to_fov`, the rule of ``evaluate`` and of
  validation) and specificity and accuracy count true negatives inside it only, so every
  metric only sees the field of view (as retinal-vessel papers score DRIVE and STARE).
  ``ignore_label`` does the same for the voxels where the reference has that label (the
  WMH challenge's label 2, "other pathology").
* **Aggregates**: per case and class (the CSV), mean / std / median over cases with a 95 %
  bootstrap confidence interval of the mean (per-image aggregates), and the scores of the
  confusion counts summed over all cases (``pixel_level``: Dice, precision, recall =
  sensitivity, specificity, accuracy; :mod:`~boundaryloss.training.pixel_level`, as
  ``evaluate`` reports them). The literature reports both.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._files import write_text_atomically
from .._validation import is_integral
from ..data.case import MILLIMETRES, PIXELS
from ..data.fov import restrict_case_to_fov
from ..data.geometry import VoxelGrid, check_same_grid
from ..data.io import (
    LOSSLESS_2D_SUFFIXES,
    NIFTI_SUFFIXES,
    drop_singleton_channel,
    load_nifti,
    read_grey_2d,
    read_nifti_voxels,
)
from ..metrics import LesionOptions, SegmentationEvaluator
from ..metrics.lesion import absolute_volume_metric
from .pixel_level import PixelLevel

#: Formats read as label maps (not JPEG: lossy compression would blur label values).
FORMATS = (*NIFTI_SUFFIXES, *LOSSLESS_2D_SUFFIXES)
DEFAULT_METRICS = (
    "dice",
    "jaccard",
    "precision",
    "recall",
    "specificity",
    "accuracy",
    "hd95",
    "assd",
)
#: Level of the bootstrap confidence intervals of the means in the summary.
CONFIDENCE = 0.95
_CHANNEL_SUFFIX = re.compile(r"(.+)_\d{4}")
#: The first entry of every summary JSON this command writes: the mark by which a later
#: run knows it may replace the file.
WRITTEN_BY = "boundaryloss evaluate-folder"
#: Keys of the summaries written before :data:`WRITTEN_BY` was (all present since the
#: first version): such a file is this command's output too.
_UNMARKED_SUMMARY_KEYS = frozenset(
    ("pred_dir", "ref_dir", "mask_dir", "fov_applied", "labels", "num_cases", "metrics")
)


@dataclass(frozen=True)
class CaseFiles:
    """The files of one case: prediction, reference and optional field-of-view mask."""

    case_id: str
    pred: Path
    ref: Path
    mask: Path | None = None


@dataclass
class FolderEvaluation:
    """What :func:`evaluate_folder` produced: the evaluator (rows), the summary, the files."""

    evaluator: SegmentationEvaluator
    summary: dict[str, Any]
    cases: list[CaseFiles]
    written: list[Path] = field(default_factory=list)


def format_suffix(path: Path) -> str | None:
    """The format suffix of ``path`` (``".nii.gz"``, ``".png"``...), or None if not read."""
    name = path.name.lower()
    return next((s for s in FORMATS if name.endswith(s)), None)


def find_files(folder: Path, what: str, id_regex: str | None) -> dict[str, Path]:
    """Case id -> file for every readable file in ``folder``.

    Raises:
        NotADirectoryError: ``folder`` is not a directory.
        ValueError: two files with the same id, or no readable file at all.
    """
    if not folder.is_dir():
        raise NotADirectoryError(f"{what}: not a directory: {folder}")
    pattern = re.compile(id_regex) if id_regex else None
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        suffix = format_suffix(path)
        if path.name.startswith(".") or suffix is None or not path.is_file():
            continue
        stem = path.name[: -len(suffix)]
        if pattern is not None:
            match = pattern.search(stem)
            if match is None:
                continue
            stem = match.group(1) if pattern.groups else match.group(0)
        if stem in found:
            raise ValueError(
                f"{what}: files {found[stem].name} and {path.name} both have case id {stem!r}"
            )
        found[stem] = path
    if not found:
        raise ValueError(f"{what}: no NIfTI or image files ({', '.join(FORMATS)}) in {folder}")
    return found


def _drop_channel_suffix(files: dict[str, Path], others: set[str]) -> dict[str, Path]:
    """Rename ``id_0000`` to ``id`` where only that makes it match ``others``, unambiguously."""
    candidates: dict[str, list[str]] = {}
    for case_id in files:
        match = _CHANNEL_SUFFIX.fullmatch(case_id)
        if case_id not in others and match and match.group(1) in others:
            candidates.setdefault(match.group(1), []).append(case_id)
    renamed = dict(files)
    for base, ids in candidates.items():
        if len(ids) == 1 and base not in files:
            renamed[base] = renamed.pop(ids[0])
    return renamed


def _preview(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" (+{len(ids) - limit} more)" if len(ids) > limit else "")


def match_cases(
    pred_dir: Path, ref_dir: Path, mask_dir: Path | None = None, id_regex: str | None = None
) -> list[CaseFiles]:
    """Pair the files of the folders by case id.

    Raises:
        ValueError: ids present in only some of the folders (listed, one line).
    """
    preds = find_files(pred_dir, "PRED_DIR", id_regex)
    refs = find_files(ref_dir, "REF_DIR", id_regex)
    preds = _drop_channel_suffix(preds, set(refs))
    refs = _drop_channel_suffix(refs, set(preds))
    problems = []
    no_ref = sorted(set(preds) - set(refs))
    no_pred = sorted(set(refs) - set(preds))
    if no_ref:
        problems.append(f"no reference in {ref_dir} for case(s) {_preview(no_ref)}")
    if no_pred:
        problems.append(f"no prediction in {pred_dir} for case(s) {_preview(no_pred)}")
    masks: dict[str, Path] = {}
    if mask_dir is not None:
        masks = _drop_channel_suffix(find_files(mask_dir, "--mask-dir", id_regex), set(refs))
        no_mask = sorted(set(refs) - set(masks))
        if no_mask:
            problems.append(f"no mask in {mask_dir} for case(s) {_preview(no_mask)}")
    if problems:
        raise ValueError("; ".join(problems) + " (cases are matched by file name without suffix)")
    return [CaseFiles(c, preds[c], refs[c], masks.get(c)) for c in sorted(refs)]


def _read(path: Path) -> tuple[np.ndarray, VoxelGrid | None]:
    """The stored array and its NIfTI voxel grid, or None for a 2D image."""
    if format_suffix(path) in NIFTI_SUFFIXES:
        image = load_nifti(path)
        data = drop_singleton_channel(read_nifti_voxels(image, path))
        if data.ndim not in (2, 3):
            raise ValueError(f"{path}: expected a 2D or 3D label map, got shape {data.shape}")
        return np.asarray(data), VoxelGrid.of(image, data.ndim, path)
    return read_grey_2d(path), None


def read_label(path: Path, labels: Sequence[int]) -> tuple[np.ndarray, VoxelGrid | None]:
    """Read a label map and check its values are 0 or one of ``labels``.

    A 2D image holding only {0, 255} is a binary mask: 255 reads as label 1.

    Returns:
        ``(int64 label map, NIfTI voxel grid or None)``.
    """
    raw, grid = _read(path)
    label = _integral(raw, path)
    if grid is None and 255 not in labels and set(np.unique(label).tolist()) <= {0, 255}:
        label = (label == 255).astype(np.int64)  # a binary mask saved as 8-bit {0, 255}
    unexpected = sorted(set(np.unique(label).tolist()) - {0, *labels})
    if unexpected:
        raise ValueError(
            f"{path}: label value(s) {_preview([str(v) for v in unexpected])} not in "
            f"{sorted(labels)} (--labels)"
        )
    return label, grid


def _integral(raw: np.ndarray, path: Path) -> np.ndarray:
    if not is_integral(raw):
        values = np.unique(raw)
        raise ValueError(
            f"{path}: non-integer values (e.g. {values[values != np.rint(values)][:3].tolist()}); "
            "expected a label map, not probabilities"
        )
    return raw.astype(np.int64)


def read_mask(path: Path) -> tuple[np.ndarray, VoxelGrid | None]:
    """A field-of-view mask (non-zero voxels are inside) and its NIfTI voxel grid or None."""
    raw, grid = _read(path)
    return np.asarray(raw) != 0, grid


def _check_pair(
    case: CaseFiles,
    pred: np.ndarray,
    ref: np.ndarray,
    pred_grid: VoxelGrid | None,
    ref_grid: VoxelGrid | None,
) -> None:
    if pred.shape != ref.shape:
        raise ValueError(
            f"{case.pred}: shape {pred.shape} differs from the reference {case.ref.name} "
            f"{ref.shape}"
        )
    if (pred_grid is None) != (ref_grid is None):
        raise ValueError(f"{case.pred}: one of prediction and reference {case.ref.name} is NIfTI")
    if pred_grid is not None and ref_grid is not None:
        check_same_grid(pred_grid, ref_grid, case.pred, case.ref)


def is_own_summary(path: Path) -> bool:
    """True when ``path`` is a summary JSON this command wrote (marked
    :data:`WRITTEN_BY`, or holding every key of the unmarked older summaries)."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(saved, dict):
        return False
    return saved.get("written_by") == WRITTEN_BY or _UNMARKED_SUMMARY_KEYS <= saved.keys()


def check_output(output: Path, inputs: Sequence[Path], folders: Sequence[Path]) -> Path:
    """Return the summary path beside ``output`` after refusing to overwrite any input
    or a file of that name this command did not write (``--output results.csv`` must not
    replace the user's ``results.json``).

    Raises:
        ValueError: ``output`` does not end in ``.csv``, or it or its summary is a folder or
            one of the input files, or the summary's path holds another file.
    """
    protected = {p.resolve() for p in inputs} | {f.resolve() for f in folders}
    summary = output.with_suffix(".json")
    for target in (output, summary):
        if target.resolve() in protected:
            raise ValueError(f"--output: {target} is one of the inputs; choose another file")
        if target.is_dir():
            raise ValueError(f"--output: {target} is a directory; expected a .csv file name")
    if output.suffix.lower() != ".csv":
        raise ValueError(f"--output: expected a .csv file name, got {output}")
    if (summary.exists() or summary.is_symlink()) and not is_own_summary(summary):
        raise ValueError(
            f"--output: {summary} exists and was not written by evaluate-folder; the "
            "summary would replace it. Choose another --output name or move that file"
        )
    return summary


def evaluate_folder(
    pred_dir: str | os.PathLike[str],
    ref_dir: str | os.PathLike[str],
    *,
    mask_dir: str | os.PathLike[str] | None = None,
    labels: Sequence[int] = (1,),
    output: str | os.PathLike[str] | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    id_regex: str | None = None,
    ignore_label: int | None = None,
    lesion: bool | LesionOptions = False,
    missing: str = "inf",
    empty: str = "perfect",
    nsd_tolerance: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> FolderEvaluation:
    """Evaluate every prediction in ``pred_dir`` against its reference in ``ref_dir``.

    Args:
        pred_dir: predictions (label maps) from any tool.
        ref_dir: references, the same case ids.
        mask_dir: optional field-of-view masks, the same case ids; evaluation is restricted
            to their non-zero voxels.
        labels: foreground label values to evaluate (other non-zero values are an error).
        output: CSV file for the per-case, per-class rows; the summary goes beside it with
            the suffix ``.json`` (replacing only a summary this command wrote, see
            :func:`is_own_summary`). ``None`` writes nothing.
        metrics: metric names of :class:`~boundaryloss.metrics.SegmentationEvaluator`.
        id_regex: regular expression whose first group (or whole match) is the case id in
            a file name without suffix (default: the whole name).
        ignore_label: reference label whose voxels are left out (WMH: 2).
        lesion: add the lesion-wise metrics, with the absolute volume difference in ml
            (``"avd_ml"``) for 3D NIfTI cases or as a pixel count (``"avd_voxels"``) for
            2D images, which have no physical spacing (none for 2D NIfTI images).
        missing, empty: as :class:`~boundaryloss.metrics.SegmentationEvaluator`.
        nsd_tolerance: as :class:`~boundaryloss.metrics.SegmentationEvaluator`, in the unit
            of the distances: mm for NIfTI files, pixels for 2D images.
        progress: called with one line per case.

    Returns:
        A :class:`FolderEvaluation`; its ``summary`` is what the JSON holds.

    Raises:
        ValueError, NotADirectoryError: unmatched ids, unreadable or inconsistent files,
            bad options, or an output path that is one of the inputs or whose summary
            path holds a file this command did not write (one line each).
    """
    labels = _check_labels(labels, ignore_label)
    pred_dir, ref_dir = Path(pred_dir), Path(ref_dir)
    mask_path = None if mask_dir is None else Path(mask_dir)
    if id_regex is not None:
        try:
            re.compile(id_regex)
        except re.error as error:
            raise ValueError(f"--id-regex: invalid regular expression ({error})") from None
    # Check the metric options before reading any file.
    SegmentationEvaluator(
        metrics, nsd_tolerance=nsd_tolerance, missing=missing, empty=empty, lesion=lesion
    )
    cases = match_cases(pred_dir, ref_dir, mask_path, id_regex)
    summary_path = None
    if output is not None:
        inputs = [p for c in cases for p in (c.pred, c.ref, c.mask) if p is not None]
        folders = [d for d in (pred_dir, ref_dir, mask_path) if d is not None]
        summary_path = check_output(Path(output), inputs, folders)
    evaluator: SegmentationEvaluator | None = None
    volume: str | None = None
    pixels = PixelLevel(labels, empty)
    units: set[str] = set()
    for index, case in enumerate(cases):
        pred, pred_grid = read_label(case.pred, labels)
        ref, ref_grid = read_label(case.ref, (*labels, *_as_tuple(ignore_label)))
        _check_pair(case, pred, ref, pred_grid, ref_grid)
        spacing = None if ref_grid is None else ref_grid.spacing
        unit = _spacing_unit(ref_grid)
        units.add(unit)
        if len(units) > 1:
            raise ValueError(f"{case.ref}: the folders mix NIfTI files and 2D images")
        keep = None
        if case.mask is not None:
            keep, mask_grid = read_mask(case.mask)
            if keep.shape != ref.shape:
                raise ValueError(
                    f"{case.mask}: mask shape {keep.shape} differs from the reference "
                    f"{case.ref.name} {ref.shape}"
                )
            if mask_grid is not None and ref_grid is not None:
                check_same_grid(mask_grid, ref_grid, case.mask, case.ref)
        if ignore_label is not None:
            outside = ref == ignore_label
            keep = ~outside if keep is None else keep & ~outside
        pred, ref = restrict_case_to_fov(
            pred,
            ref,
            keep,
            case.case_id,
            names=(f"prediction {case.pred}", f"reference {case.ref}"),
        )
        if evaluator is None:
            names = tuple(metrics)
            if lesion is not False:
                volume = absolute_volume_metric(ref.ndim, unit)
            if volume is not None and volume not in names:
                names += (volume,)
            evaluator = SegmentationEvaluator(
                names,
                num_classes=max(labels) + 1,
                classes=labels,
                hd_mode="max",
                nsd_tolerance=nsd_tolerance,
                missing=missing,
                empty=empty,
                lesion=lesion,
            )
        try:
            evaluator.update(case.case_id, pred, ref, spacing=spacing, mask=keep)
        except ValueError as error:
            raise ValueError(f"{case.pred}: {error}") from None
        pixels.update(pred, ref, keep)
        if progress is not None:
            progress(f"[{index + 1}/{len(cases)}] {case.case_id}")
    assert evaluator is not None  # match_cases never returns an empty list
    summary = {
        "written_by": WRITTEN_BY,
        "pred_dir": str(pred_dir),
        "ref_dir": str(ref_dir),
        "mask_dir": None if mask_path is None else str(mask_path),
        "fov_applied": mask_path is not None,
        "ignore_label": ignore_label,
        "labels": list(labels),
        "num_cases": len(cases),
        "spacing": "from the NIfTI headers (mm)"
        if units == {MILLIMETRES}
        else "none in 2D images: distances in pixels",
        "missing": missing,
        "empty": empty,
        "lesion": _lesion_summary(lesion),
        "volume_difference": volume,
        "confidence": CONFIDENCE,
        "metrics": evaluator.summary(confidence=CONFIDENCE),
        "pixel_level": pixels.summary(),
    }
    result = FolderEvaluation(evaluator, summary, cases)
    if output is not None:
        result.written.append(evaluator.to_csv(output))
        text = json.dumps(_json_safe(summary), indent=2) + "\n"
        result.written.append(write_text_atomically(summary_path, text))
    return result


def _spacing_unit(grid: VoxelGrid | None) -> str:
    """The unit of the distances measured on a file read with ``grid``: ``"mm"`` for a
    NIfTI file (its header's voxel size), ``"px"`` for a 2D image (none, ``grid`` None)."""
    return PIXELS if grid is None else MILLIMETRES


def _as_tuple(value: int | None) -> tuple[int, ...]:
    return () if value is None else (value,)


def _check_labels(labels: Sequence[int], ignore_label: int | None) -> tuple[int, ...]:
    values = tuple(labels)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"--labels: expected positive integer label values, got {list(values)}")
    if len(set(values)) != len(values):
        raise ValueError(f"--labels: duplicate values in {list(values)}")
    if ignore_label is not None:
        if isinstance(ignore_label, bool) or not isinstance(ignore_label, int) or ignore_label < 1:
            raise ValueError(f"--ignore-label: expected a positive label value, got {ignore_label}")
        if ignore_label in values:
            raise ValueError(f"--ignore-label {ignore_label} is also in --labels {list(values)}")
    return tuple(sorted(values))


def _lesion_summary(lesion: bool | LesionOptions) -> dict[str, Any] | None:
    if lesion is False:
        return None
    options = lesion if isinstance(lesion, LesionOptions) else LesionOptions()
    return {
        "connectivity": options.connectivity or "full (8 in 2D, 26 in 3D)",
        "match": options.match,
        "f1": options.f1,
    }


def _json_safe(value: Any) -> Any:
    """Strict JSON: ``inf``/``nan`` as the strings ``"inf"``, ``"-inf"``, ``"nan"``."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
