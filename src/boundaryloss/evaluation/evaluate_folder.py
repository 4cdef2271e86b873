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
  must be 0 or one of ``labels``. Predictions that are the reference files themselves
  (the same folder given twice, or links to it) are refused: they would score perfect.
  Every error names the file.
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
  sensitivity, specificity, accuracy; :mod:`~boundaryloss.evaluation.pixel_level`, as
  ``evaluate`` reports them). The literature reports both.
* **Probability maps**: ``CASE.probabilities.nii.gz`` / ``.npz`` files in ``pred_dir``
  (what ``predict --probabilities`` writes, :mod:`~boundaryloss.evaluation.probability_maps`)
  add the area under the precision-recall curve of the pixels pooled over every case
  (``aupr`` in ``pixel_level``, inside the mask), channel ``c`` scoring label ``c``. The
  other metrics score the case's label map when ``pred_dir`` holds one beside its
  probability map (it must have the map's shape and grid), else the map's argmax (first
  class on ties: foreground above 0.5 for two classes). Either every case has a
  probability map or none does. The pooled scores are kept until the end: 4 bytes per
  scored voxel and label (float32 maps).
* **Workers**: ``workers=N`` scores the cases in N processes (as nnU-Net's
  ``compute_metrics_on_folder`` does); results, their order and the first error are
  those of one worker.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._files import check_writable
from .._ownership import is_written_by
from .._validation import is_integral
from ..data.fov import restrict_case_to_fov
from ..data.geometry import VoxelGrid, check_same_grid
from ..data.io import (
    LOSSLESS_2D_SUFFIXES,
    NIFTI_SUFFIXES,
    drop_singleton_channel,
    load_nifti,
    read_grey_2d,
    read_nifti_voxels,
    spacing_unit_of,
)
from ..metrics import LesionOptions, SegmentationEvaluator
from ..metrics.lesion import absolute_volume_metric
from .lesion_file import LesionList
from .pixel_level import PixelLevel
from .probability_maps import labels_from_probabilities, probability_suffix, read_probabilities
from .result_files import (
    evaluation_summary,
    matches_cases,
    replaced_cases,
    screening_summary,
    write_evaluation,
)

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
    """The files of one case: prediction, reference, optional field-of-view mask, and
    optional probability map (``pred`` is the probability map when the case has no label
    map)."""

    case_id: str
    pred: Path
    ref: Path
    mask: Path | None = None
    probabilities: Path | None = None


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
    """Case id -> file for every readable label map (not probability map) in ``folder``.

    Raises:
        NotADirectoryError: ``folder`` is not a directory.
        ValueError: two files with the same id, or no readable file at all.
    """
    found = _find(folder, what, id_regex, _label_suffix)
    if not found:
        raise ValueError(f"{what}: no NIfTI or image files ({', '.join(FORMATS)}) in {folder}")
    return found


def _label_suffix(path: Path) -> str | None:
    return None if probability_suffix(path) else format_suffix(path)


def _find(
    folder: Path, what: str, id_regex: str | None, suffix_of: Callable[[Path], str | None]
) -> dict[str, Path]:
    """Case id -> file for every file of ``folder`` whose ``suffix_of`` is not None."""
    if not folder.is_dir():
        raise NotADirectoryError(f"{what}: not a directory: {folder}")
    pattern = re.compile(id_regex) if id_regex else None
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        suffix = suffix_of(path)
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
    """Pair the files of the folders by case id (a prediction is a label map, a
    probability map, or both).

    Raises:
        ValueError: ids present in only some of the folders, or probability maps for
            some cases only (listed, one line).
    """
    maps = _find(pred_dir, "PRED_DIR", id_regex, probability_suffix)
    preds = _find(pred_dir, "PRED_DIR", id_regex, _label_suffix)
    if not preds and not maps:
        find_files(pred_dir, "PRED_DIR", id_regex)  # its error: no readable file
    refs = find_files(ref_dir, "REF_DIR", id_regex)
    preds = _drop_channel_suffix(preds, set(refs))
    maps = _drop_channel_suffix(maps, set(refs))
    if maps and set(maps) != set(preds) | set(maps):
        no_map = sorted(set(preds) - set(maps))
        raise ValueError(
            f"PRED_DIR: probability maps for {len(maps)} case(s), none for case(s) "
            f"{_preview(no_map)}; the AUPR pools every case, so every case needs one"
        )
    preds = {**maps, **preds}
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
    return [CaseFiles(c, preds[c], refs[c], masks.get(c), maps.get(c)) for c in sorted(refs)]


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
    _check_values(label, labels, path)
    return label, grid


def _check_values(label: np.ndarray, labels: Sequence[int], path: Path) -> None:
    unexpected = sorted(set(np.unique(label).tolist()) - {0, *labels})
    if unexpected:
        raise ValueError(
            f"{path}: label value(s) {_preview([str(v) for v in unexpected])} not in "
            f"{sorted(labels)} (--labels)"
        )


def read_prediction(
    case: CaseFiles, labels: Sequence[int]
) -> tuple[np.ndarray, VoxelGrid | None, np.ndarray | None]:
    """A case's predicted label map, its NIfTI voxel grid, and its probabilities.

    Without a probability map: :func:`read_label` of ``case.pred`` and None. With one:
    its probabilities ``(C, *spatial)``, channel ``c`` for label ``c``, and the label
    map beside it (same shape and grid), or their argmax
    (:func:`~.probability_maps.labels_from_probabilities`) when there is none.

    Raises:
        ValueError: as :func:`read_label` and
            :func:`~.probability_maps.read_probabilities`; a map with no channel for the
            largest label; a label map beside it of another shape or grid; an argmax
            that is not 0 or one of ``labels`` (naming the file).
    """
    if case.probabilities is None:
        return (*read_label(case.pred, labels), None)
    scores, grid = read_probabilities(case.probabilities)
    if scores.shape[0] <= max(labels):
        raise ValueError(
            f"{case.probabilities}: probabilities of {scores.shape[0]} classes (0 to "
            f"{scores.shape[0] - 1}); label {max(labels)} (--labels) has no channel"
        )
    if case.pred == case.probabilities:
        label = labels_from_probabilities(scores).astype(np.int64)
        _check_values(label, labels, case.probabilities)
        return label, grid, scores
    label, label_grid = read_label(case.pred, labels)
    if label.shape != scores.shape[1:]:
        raise ValueError(
            f"{case.probabilities}: spatial shape {scores.shape[1:]} differs from the "
            f"label map {case.pred.name} {label.shape}"
        )
    if (grid is None) != (label_grid is None):
        raise ValueError(f"{case.probabilities}: one of it and {case.pred.name} is NIfTI")
    if grid is not None and label_grid is not None:
        check_same_grid(grid, label_grid, case.probabilities, case.pred)
    return label, label_grid, scores


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
    :data:`WRITTEN_BY`: :func:`~boundaryloss._ownership.is_written_by`, or holding every
    key of the unmarked older summaries)."""
    if is_written_by(path, WRITTEN_BY):
        return True
    if path.is_symlink():
        return False
    try:
        saved = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(saved, dict) and _UNMARKED_SUMMARY_KEYS <= saved.keys()


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
    if (output.exists() or output.is_symlink()) and not _is_own_cases(output, summary):
        raise ValueError(
            f"--output: {output} exists and is not the per-case CSV evaluate-folder wrote "
            "there (or it was changed since); choose another --output name or move that file"
        )
    return summary


def _is_own_cases(output: Path, summary: Path) -> bool:
    """True when the CSV ``output`` is the one this command wrote beside ``summary``: the
    summary is its own and records this CSV's name and checksum (a summary of the
    versions before the checksum, with the CSV's name or none, vouches for it too), or
    the checksum of the CSV it replaced (a rerun killed between the two renames)."""
    if output.is_symlink() or not output.is_file() or not is_own_summary(summary):
        return False
    try:
        saved = json.loads(summary.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    record = saved.get("cases")
    if isinstance(record, dict) and record.get("file", output.name) != output.name:
        return False
    return matches_cases(saved, output) or replaced_cases(saved, output)


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
    workers: int = 1,
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
            :func:`is_own_summary`). Both are written as a pair, once every case is
            scored (:func:`~boundaryloss.evaluation.result_files.write_evaluation`).
            ``None`` writes nothing.
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
        workers: processes scoring cases in parallel (1: in this process). The results,
            their order and the first error reported are those of one worker.
        progress: called with one line per case.

    Returns:
        A :class:`FolderEvaluation`; its ``summary`` is what the JSON holds (the keys of
        :mod:`~boundaryloss.evaluation.result_files`, then ``pred_dir``, ``ref_dir``,
        ``mask_dir``, ``ignore_label`` and ``labels``).

    Raises:
        ValueError, NotADirectoryError: unmatched ids, unreadable or inconsistent files,
            bad options, predictions that are the reference files themselves (the same
            folder twice), or an output path that is one of the inputs or whose summary
            path holds a file this command did not write (one line each).
        OSError: the output's folder cannot be written (checked before any case is
            read), or a write failed, naming the file.
    """
    labels = _check_labels(labels, ignore_label)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers: expected a number of processes >= 1, got {workers!r}")
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
    _check_not_the_references(pred_dir, ref_dir)
    cases = match_cases(pred_dir, ref_dir, mask_path, id_regex)
    _check_not_the_references(pred_dir, ref_dir, cases)
    summary_path = None
    if output is not None:
        inputs = [
            p for c in cases for p in (c.pred, c.ref, c.mask, c.probabilities) if p is not None
        ]
        folders = [d for d in (pred_dir, ref_dir, mask_path) if d is not None]
        summary_path = check_output(Path(output), inputs, folders)
        check_writable(Path(output).parent)  # before scoring, not after every case
    scoring = _Scoring(labels, ignore_label, tuple(metrics), nsd_tolerance, missing, empty, lesion)
    evaluator: SegmentationEvaluator | None = None
    pixels = PixelLevel(labels, empty)
    first: _ScoredCase | None = None
    lesions: LesionList | None = None
    for index, scored in enumerate(_score_cases(cases, scoring, workers)):
        if evaluator is None:
            first, evaluator = scored, scored.evaluator
        else:
            evaluator.merge(scored.evaluator)
        pixels.merge(scored.pixels)
        if scored.lesions is not None:
            lesions = lesions or LesionList(scored.lesions.options, unit=scored.lesions.unit)
            lesions.cases.update(scored.lesions.cases)
        if progress is not None:
            progress(f"[{index + 1}/{len(cases)}] {cases[index].case_id}")
    assert evaluator is not None and first is not None  # match_cases never returns no case
    summary = evaluation_summary(
        WRITTEN_BY,
        {
            "pred_dir": str(pred_dir),
            "ref_dir": str(ref_dir),
            "mask_dir": None if mask_path is None else str(mask_path),
            "ignore_label": ignore_label,
            "labels": list(labels),
            "probabilities": cases[0].probabilities is not None,
        },
        num_cases=len(cases),
        spacing_unit=first.unit,
        fov_cases=0 if mask_path is None else len(cases),
        missing=missing,
        empty=empty,
        lesion=lesion,
        volume_difference=first.volume,
        evaluator=evaluator,
        pixels=pixels,
    )
    if lesions is not None:
        summary["screening"] = screening_summary(evaluator, lesions, tuple(labels))
    result = FolderEvaluation(evaluator, summary, cases)
    if output is not None and summary_path is not None:
        result.written += write_evaluation(
            Path(output), evaluator.csv_text(), summary_path, summary
        )
    return result


def _check_not_the_references(
    pred_dir: Path, ref_dir: Path, cases: Sequence[CaseFiles] = ()
) -> None:
    """Refuse predictions that are the reference files themselves: every case would
    score perfect. ``cases`` empty: check the folders only.

    Raises:
        ValueError: naming the folder or the first such file.
    """
    if pred_dir.is_dir() and ref_dir.is_dir() and os.path.samefile(pred_dir, ref_dir):
        raise ValueError(
            f"PRED_DIR {pred_dir} and REF_DIR {ref_dir} are the same folder: every case "
            "would score perfect; give the folder of the predictions"
        )
    same = [case for case in cases if os.path.samefile(case.pred, case.ref)]
    if same:
        ids = _preview([case.case_id for case in same])
        raise ValueError(
            f"{same[0].pred}: is the reference {same[0].ref} itself (case(s) {ids}): "
            "every such case would score perfect; give the folder of the predictions"
        )


@dataclass(frozen=True)
class _Scoring:
    """How each case is scored: what a worker process needs besides the case's files.

    ``unit`` and ``volume`` are the first case's (None: this is the first case), which
    every later case is held to.
    """

    labels: tuple[int, ...]
    ignore_label: int | None
    metrics: tuple[str, ...]
    nsd_tolerance: float | None
    missing: str
    empty: str
    lesion: bool | LesionOptions
    unit: str | None = None
    volume: str | None = None


@dataclass
class _ScoredCase:
    """One case's rows and pooled counts, and the unit and volume metric it was scored in."""

    evaluator: SegmentationEvaluator
    pixels: PixelLevel
    unit: str
    volume: str | None
    lesions: LesionList | None = None  # with lesion metrics: the case's lesions


def _score_cases(
    cases: Sequence[CaseFiles], scoring: _Scoring, workers: int
) -> Iterator[_ScoredCase]:
    """Score ``cases`` in order: the first here (it decides the unit and the volume
    metric), the others here or in ``workers`` processes, yielded in case order.

    An error is raised where the case that caused it comes in the order: the error one
    worker would report.
    """
    first = _score_case(cases[0], scoring)
    yield first
    scoring = dataclasses.replace(scoring, unit=first.unit, volume=first.volume)
    rest = cases[1:]
    if workers == 1 or len(rest) < 2:
        for case in rest:
            yield _score_case(case, scoring)
        return
    workers = min(workers, len(rest))
    with ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context()) as pool:
        try:
            chunk = max(1, len(rest) // (8 * workers))
            yield from pool.map(_score_case, rest, itertools.repeat(scoring), chunksize=chunk)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _worker_context() -> multiprocessing.context.BaseContext:
    """How worker processes start: forked from a clean server process that imported this
    module once (``forkserver``: no fork of a process whose threads torch may have
    started, and no import of torch per worker), or ``spawn`` where there is none."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # no effect once the server runs
    return context


def _score_case(case: CaseFiles, scoring: _Scoring) -> _ScoredCase:
    """Read, check and score one case (in this process or a worker).

    Raises:
        ValueError: naming the file (unreadable, inconsistent, or in another unit than
            the first case's).
    """
    labels, ignore_label = scoring.labels, scoring.ignore_label
    pred, pred_grid, scores = read_prediction(case, labels)
    ref, ref_grid = read_label(case.ref, (*labels, *_as_tuple(ignore_label)))
    _check_pair(case, pred, ref, pred_grid, ref_grid)
    spacing = None if ref_grid is None else ref_grid.spacing
    unit = spacing_unit_of(case.ref)
    if scoring.unit is not None and unit != scoring.unit:
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
    volume = scoring.volume
    if scoring.unit is None and scoring.lesion is not False:
        volume = absolute_volume_metric(ref.ndim, unit)
    names = scoring.metrics
    if volume is not None and volume not in names:
        names += (volume,)
    evaluator = SegmentationEvaluator(
        names,
        num_classes=max(labels) + 1,
        classes=labels,
        hd_mode="max",
        nsd_tolerance=scoring.nsd_tolerance,
        missing=scoring.missing,
        empty=scoring.empty,
        lesion=scoring.lesion,
    )
    try:
        evaluator.update(case.case_id, pred, ref, spacing=spacing, mask=keep)
    except ValueError as error:
        raise ValueError(f"{case.pred}: {error}") from None
    pixels = PixelLevel(labels, scoring.empty)
    pixels.update(pred, ref, keep, scores)
    lesions = None
    if scoring.lesion is not False:
        lesions = LesionList(evaluator.lesion_options)
        lesion_spacing = spacing if spacing is not None else (1.0,) * ref.ndim
        lesions.update(case.case_id, pred, ref, labels, lesion_spacing, unit)
    return _ScoredCase(evaluator, pixels, unit, volume, lesions)


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
