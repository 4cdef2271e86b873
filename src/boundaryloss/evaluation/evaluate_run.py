"""Evaluate a trained run on whole cases: per-case, per-class CSV and a summary."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

from .._files import check_writable
from .._lock import DirectoryLock
from .._ownership import check_output_folder, in_record, is_written_by, record_written
from .._validation import check_one_of
from ..data.case import shared_spacing_unit
from ..data.fov import restrict_case_to_fov
from ..data.splits import load_splits, select_cases
from ..metrics import SegmentationEvaluator
from ..metrics.lesion import absolute_volume_metric
from ..training.data import build_cases, case_ids
from ..training.run_dir import CHECKPOINT_NAMES, EvaluationFolder, RunDirectory
from .histogram_file import histograms_csv
from .lesion_file import LesionList
from .pixel_level import PixelLevel
from .predict import Predictor
from .probability_maps import labels_from_probabilities
from .result_files import (
    evaluation_summary,
    matches_cases,
    matches_companion,
    replaced_cases,
    screening_summary,
    write_evaluation,
)

METRICS = ("dice", "hd", "hd95", "assd", "precision", "recall")
#: Columns added to the evaluator's per-(case, class) table: whether the case's field
#: of view was applied, the pixels scored (the FOV, or the whole image) and the true
#: positives among them, so per-image and pixel-level aggregates can be recomputed.
FOV_COLUMNS = ("fov", "scored_voxels", "tp_voxels")
#: The cases ``evaluate_run`` can score.
SPLITS = ("val", "all", "test")
#: The command that writes evaluation folders, as their file record and the
#: ``written_by`` entry of their summaries name it.
WRITTEN_BY = "boundaryloss evaluate"
#: Keys of every summary ``evaluate`` has written, before the file record too.
_SUMMARY_KEYS = frozenset(("checkpoint", "split", "num_cases", "missing", "metrics"))
#: The first columns of every ``cases.csv`` ``evaluate`` has written (all versions).
_CASES_HEADER = "case,class,status,pred_voxels,ref_voxels,"


def is_own_evaluation_file(path: Path) -> bool:
    """Whether ``path`` (``cases.csv``, ``summary.json`` or ``lesions.csv`` of an
    evaluation folder) is what ``evaluate`` wrote.

    Recorded files (:func:`~boundaryloss._ownership.is_written_by`) are, while their
    content is what was recorded. Files the record does not list (versions before it)
    are where both files say so: a ``summary.json`` holding every key ``evaluate`` has
    always written, and a ``cases.csv`` with the evaluator's header beside such a
    summary. A file whose content this command's own summary records (the CSV, the one
    it replaced, ``lesions.csv`` or ``score_histograms.csv``: see
    :func:`~boundaryloss.evaluation.result_files.write_evaluation`) is too, so a rerun
    after a process killed between the renames, or before the record was written,
    replaces them. Anything else (another tool's ``summary.json``) is not.
    """
    if is_written_by(path, WRITTEN_BY):
        return True
    files = EvaluationFolder(path.parent)
    if _vouched_by_summary(path, files):
        return True
    if (
        path.is_symlink()
        or path.name not in (files.summary.name, files.cases.name)
        or in_record(path)
        or in_record(files.summary)
    ):
        return False
    try:
        summary = json.loads(files.summary.read_text(encoding="utf-8"))
        if not (isinstance(summary, dict) and _SUMMARY_KEYS <= summary.keys()):
            return False
        if path.name == files.summary.name:
            return True
        with open(path, encoding="utf-8") as handle:
            return handle.readline().startswith(_CASES_HEADER)
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def _vouched_by_summary(path: Path, files: EvaluationFolder) -> bool:
    """Whether ``evaluate``'s own summary beside ``path`` records its content."""
    if path.is_symlink() or not path.is_file() or not is_written_by(files.summary, WRITTEN_BY):
        return False
    try:
        summary = json.loads(files.summary.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(summary, dict):
        return False
    if path.name == files.cases.name:
        record = summary.get("cases")
        return (
            isinstance(record, dict)
            and "sha256" in record
            and (matches_cases(summary, path) or replaced_cases(summary, path))
        )
    return isinstance(summary.get("companions"), dict) and matches_companion(summary, path)


def check_evaluation_folder(output: Path) -> None:
    """Refuse an evaluation folder that is a run directory (its ``summary.json`` would
    be replaced) or holds files an evaluation did not write (see
    :func:`is_own_evaluation_file`).

    Raises:
        ValueError: naming the folder.
    """
    run = RunDirectory(output)
    if run.config.is_file() or run.checkpoints.is_dir():
        raise ValueError(
            f"output {output}: is a run directory; its summary.json would be replaced. "
            "Choose another folder (default RUN_DIR/evaluation)"
        )
    files = EvaluationFolder(output)
    check_output_folder(
        output,
        {files.cases.name, files.summary.name, files.lesions.name, files.score_histograms.name},
        "an evaluation",
        is_own_evaluation_file,
    )


def evaluate_run(
    run_dir: str | Path,
    data_root: str | None = None,
    checkpoint: str = "best",
    split: str = "val",
    output: str | Path | None = None,
    missing: str = "inf",
    progress=None,
    lesion: bool = False,
    mirror: bool | None = None,
    aupr: bool = True,
) -> dict[str, Any]:
    """Segment the run's validation cases, all its cases, or the dataset's test split,
    and measure them.

    Cases are predicted as :class:`~boundaryloss.evaluation.predict.Predictor` does (the
    run's preprocessing; sliding windows and mirroring as its ``inference`` section
    says). When a case has a field of view (DRIVE and prepared retinal masks,
    CHASE_DB1's red-channel threshold, STARE's derived FOV), the prediction and the
    reference are scored inside it only, as validation during training scores them:
    see :func:`~boundaryloss.data.fov.restrict_case_to_fov`. The CSV says per row whether the FOV
    was applied (``fov``) and how many pixels were scored; the summary holds the mean
    of per-image scores (``metrics``) and the scores of the counts pooled over every
    image (``pixel_level``, see :mod:`~boundaryloss.evaluation.pixel_level`), with the
    area under the precision-recall curve of the pooled pixels' probabilities per
    foreground class (``aupr``, inside the FOV where a case has one; NaN for a class no
    reference holds; it keeps every scored voxel's probability per foreground class
    until the end, 4 bytes each, see :mod:`boundaryloss.metrics.precision_recall`).
    Distances
    (``hd``, ``hd95``, ``assd``) are in the unit of the cases' spacing, which the summary
    states as ``spacing_unit``: ``"mm"`` for NIfTI data, ``"px"`` for 2D image files and
    synthetic data (:class:`~boundaryloss.data.case.Case`). The summary has the keys
    every evaluation summary shares (:mod:`~boundaryloss.evaluation.result_files`),
    then ``checkpoint`` (the file), ``checkpoint_epoch`` and ``checkpoint_global_step``
    (epochs completed and optimiser steps taken when it was saved: the weights scored,
    even if training replaces the file meanwhile), ``split`` and ``data_root``. With
    ``lesion`` the absolute volume difference follows that unit too
    (``volume_difference`` in the summary): ``"avd_ml"`` in millilitres for 3D cases in
    mm, ``"avd_voxels"`` (a voxel count) for cases in px, none for 2D cases in mm;
    ``"avd_percent"`` (the WMH challenge's AVD) is unit-free and always there; and
    ``screening`` per class (:func:`screening_summary`: pooled lesion scores, false-positive
    lesions per lesion-free case, mean Dice over the cases with the class) and
    ``lesions.csv`` lists every lesion of the reference and of the prediction with its
    size and whether it is matched (:mod:`~boundaryloss.evaluation.lesion_file`; an
    evaluation without ``lesion`` removes the one an earlier evaluation wrote there,
    which would not match).

    Args:
        run_dir: a training run directory.
        data_root: evaluate on this dataset root instead of the run's ``data.root``.
        checkpoint: ``"best"`` or ``"last"``, or a path to a checkpoint file.
        split: ``"val"`` (the run's validation cases), ``"all"`` (every training-split
            case) or ``"test"`` (the dataset's test split, see
            :func:`~boundaryloss.training.data.dataset_test_split`).
        output: folder for ``cases.csv``, ``summary.json`` (and ``lesions.csv``) (default
            ``RUN_DIR/evaluation``, ``RUN_DIR/evaluation_test`` for the test split).
        missing: distance reported for a missed structure (``"inf"``, ``"nan"``,
            ``"diagonal"``), see :mod:`boundaryloss.metrics`.
        lesion: also compute the lesion-wise metrics (a lesion-like task) and the
            absolute volume difference in the cases' unit (see above and
            :func:`~boundaryloss.metrics.lesion.absolute_volume_metric`).
        mirror: test-time mirroring on or off (default: the run's ``inference.mirror``).
        aupr: add the pooled average precision (``aupr``) to ``pixel_level``; False
            spares its memory on large 3D test sets.

    Returns:
        The summary written to ``summary.json``.

    Raises:
        ValueError: unknown split, a source without a test split, a split without
            cases, a case without a reference label, cases whose spacing is in
            different units (the first case in a unit other than the first case's is
            refused as it is read, before it is predicted), or the readers' errors
            (naming the files). Both files are written only once every case is
            scored, as a pair (see :mod:`~boundaryloss.evaluation.result_files`),
            so a refused or failed evaluation leaves ``output`` as it was.
        OSError: ``output`` cannot be written (checked before the checkpoint is loaded),
            or a write failed (a full disk), naming the file.
    """
    run = RunDirectory(run_dir)
    run_dir = run.path
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory not found: {run_dir}")
    check_one_of(split, SPLITS, "split")
    if output is None:
        output = run.evaluation_test if split == "test" else run.evaluation
    output = Path(output)
    check_evaluation_folder(output)
    check_writable(output)  # before predicting anything, not after the whole split
    path = run.checkpoint(checkpoint) if checkpoint in CHECKPOINT_NAMES else Path(checkpoint)
    predictor = Predictor.from_checkpoint(path, mirror=mirror)
    data_config = predictor.config.data
    if data_root is not None:
        if data_config.source == "synthetic":
            raise ValueError(
                f"--data {data_root}: this run trained on synthetic data "
                "(data.source: synthetic), which reads no dataset root"
            )
        data_config = dataclasses.replace(data_config, root=str(data_root))
    cases = build_cases(data_config, "test" if split == "test" else "train")
    if split == "val":
        splits_file = run.splits
        if not splits_file.is_file():
            raise FileNotFoundError(
                f"{splits_file}: no split saved in this run; evaluate split 'all' instead"
            )
        wanted = load_splits(splits_file)[0].val
        known = set(case_ids(cases))
        absent = [c for c in wanted if c not in known]
        if absent:
            raise ValueError(
                f"validation case(s) {absent[:3]} of {splits_file} are not in the dataset; "
                "evaluate on the run's own data root, or split 'all'"
            )
        cases = select_cases(cases, wanted)
    if not len(cases):  # nothing to score, and no unit to state the distances in
        raise ValueError(f"split {split!r}: no cases to evaluate")
    # The first case's unit is the split's: every later case is held to it as it is read,
    # before it is predicted (a mixed split fails at its first odd case, not after
    # predicting them all). The first case is read once, here, and scored first below.
    case = cases[0]
    unit = case.spacing_unit
    metrics = METRICS
    volume = absolute_volume_metric(case.ndim, unit) if lesion else None
    if volume is not None:
        metrics += (volume,)
    evaluator = SegmentationEvaluator(
        metrics=metrics, num_classes=data_config.num_classes, missing=missing, lesion=lesion
    )
    pixels = PixelLevel(range(1, data_config.num_classes))
    lesions = LesionList(evaluator.lesion_options) if lesion else None
    extra: dict[tuple[str, int], dict[str, Any]] = {}
    fov_cases = 0
    for i in range(len(cases)):
        if i:
            case = cases[i]
            shared_spacing_unit({unit, case.spacing_unit})  # ValueError for another unit
        if case.label is None:
            where = case.source[0] if case.source else "in memory"
            raise ValueError(
                f"{where}: case {case.case_id} has no reference label to score (the "
                f"{split} split here ships images only)"
            )
        probabilities = predictor.probabilities(case)
        prediction, reference = restrict_case_to_fov(
            labels_from_probabilities(probabilities), case.label, case.fov, case.case_id
        )
        fov_cases += int(case.fov is not None)
        evaluator.update(case.case_id, prediction, reference, spacing=case.spacing)
        if lesions is not None:
            lesions.update(case.case_id, prediction, reference, pixels.classes, case.spacing, unit)
        try:  # NaN probabilities (a diverged checkpoint) cannot be ranked
            case_counts = pixels.update(
                prediction, reference, case.fov, probabilities if aupr else None
            )
        except ValueError as error:
            raise ValueError(f"case {case.case_id}: {error}") from None
        for cls, counts in case_counts.items():
            extra[(case.case_id, cls)] = {
                "fov": "yes" if case.fov is not None else "no",
                "scored_voxels": counts.total,
                "tp_voxels": counts.tp,
            }
        if progress is not None:
            progress(f"[{i + 1}/{len(cases)}] {case.case_id}")
    summary = evaluation_summary(
        WRITTEN_BY,
        {
            "checkpoint": str(path),
            "checkpoint_epoch": predictor.epoch,
            "checkpoint_global_step": predictor.global_step,
            "split": split,
            "data_root": data_config.root,
            "mirror": predictor.config.inference.mirror if mirror is None else bool(mirror),
        },
        num_cases=len(cases),
        spacing_unit=unit,
        fov_cases=fov_cases,
        missing=missing,
        empty=evaluator.empty,
        lesion=lesion,
        volume_difference=volume,
        evaluator=evaluator,
        pixels=pixels,
    )
    if lesions is not None:
        summary["screening"] = screening_summary(evaluator, lesions, pixels.classes)
    files = EvaluationFolder(output)
    # Under the folder's lock, so two evaluations never leave one's cases.csv beside the
    # other's summary.json; checked again there (files may have appeared while scoring).
    with DirectoryLock(output, what="evaluation folder"):
        check_evaluation_folder(output)
        listed = {} if lesions is None else {files.lesions: lesions.to_csv()}
        if lesions is not None and pixels.ranking is not None:
            histograms = pixels.ranking.case_histograms()
            listed[files.score_histograms] = histograms_csv(case_ids(cases), histograms)
        written = write_evaluation(
            files.cases, _cases_text(evaluator, extra), files.summary, summary, listed
        )
        for stale in (files.lesions, files.score_histograms):
            if stale not in listed:  # an earlier evaluation's (ours: checked) would not match
                stale.unlink(missing_ok=True)
        record_written(written, WRITTEN_BY)
    return summary


def _cases_text(evaluator: SegmentationEvaluator, extra: dict) -> str:
    """The evaluator's table with :data:`FOV_COLUMNS` appended, as CSV text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*evaluator.columns, *FOV_COLUMNS])
    writer.writeheader()
    for row in evaluator.rows():
        writer.writerow({**row, **extra[(row["case"], row["class"])]})
    return buffer.getvalue()
