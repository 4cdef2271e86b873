"""Collect what the runs of an experiment produced: per-case metrics, histories, timing.

Every run is evaluated with :func:`~boundaryloss.evaluation.evaluate_run.evaluate_run` on the
validation cases (per-case, per-class Dice and HD95 in the unit of the cases' spacing,
mm or px: see :func:`diagonals`; a missed structure has HD95 ``inf``), at the report's
checkpoint and, when ``report.last_epoch`` is on, at the other one too (``best`` and
``last``). Each checkpoint's evaluation is cached on its own, so an interrupted
comparison resumes without evaluating again: the report's checkpoint in
``RUN_DIR/evaluation`` (the folder of ``boundaryloss evaluate``), the other one in
``RUN_DIR/evaluation_best`` or ``RUN_DIR/evaluation_last``; a cache is redone only when
its checkpoint is newer, its settings differ, or it is a lesion evaluation whose volume
difference predates the spacing unit (:func:`_volume_difference_is_current`) or that
lacks the per-lesion file or the pooled AUPR the lesion report reads
(:func:`_screening_is_current`). When
``best.pt`` and ``last.pt`` hold the same weights (the best validation Dice came at the
last epoch) the second evaluation is not run: the first one's rows are reused.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..data.case import MILLIMETRES, shared_spacing_unit
from ..data.splits import load_splits, select_cases
from ..evaluation.evaluate_run import evaluate_run
from ..evaluation.histogram_file import Histograms, read_histograms
from ..evaluation.lesion_file import LesionList, read_lesion_file
from ..evaluation.result_files import matches_cases, matches_companion
from ..metrics._empty import image_diagonal
from ..metrics.lesion import LESION_COUNTS, LESION_METRICS
from ..training.checkpoint_files import load_checkpoint
from ..training.data import build_cases
from ..training.history import MetricsLog
from ..training.run_dir import EvaluationFolder, RunDirectory
from .comparison_folder import CHECKPOINTS
from .config import Experiment, RunSpec

_INT_COLUMNS = ("class", "pred_voxels", "ref_voxels")
_FLOAT_COLUMNS = ("dice", "hd95")


@dataclass(frozen=True)
class Evaluation:
    """One checkpoint's evaluation of a run, as the report reads it.

    Attributes:
        rows: per-case, per-class rows of ``cases.csv`` (:func:`read_cases_csv`).
        pixel_level: the summary's scores pooled over every pixel, per class
            (``{class: {"dice", "aupr", ...}}``, see
            :mod:`~boundaryloss.evaluation.pixel_level`).
        lesions: every lesion of ``lesions.csv`` (lesion evaluations; ``None`` otherwise).
        histograms: each case's probability histograms per class,
            ``score_histograms.csv`` (lesion evaluations; ``None`` otherwise).
    """

    rows: list[dict[str, Any]]
    pixel_level: dict[int, dict[str, float]]
    lesions: LesionList | None = None
    histograms: Histograms | None = None


@dataclass
class RunResult:
    """One finished run: its per-case rows, per-epoch history and training summary.

    ``rows`` are the evaluation of the report's checkpoint; ``other_rows`` that of the
    other checkpoint (``None`` when ``report.last_epoch`` is off). ``same_weights``:
    ``best.pt`` and ``last.pt`` hold identical weights, so ``other_rows`` are ``rows``
    (reused, not evaluated again). ``epochs`` maps ``best``/``last`` to the epoch the
    checkpoint was saved after (1-based; ``None`` when unreadable or not evaluated).
    ``evaluations`` maps each evaluated checkpoint (``best``/``last``) to its
    :class:`Evaluation` (whose ``rows`` are ``rows`` or ``other_rows``).
    """

    spec: RunSpec
    rows: list[dict[str, Any]]
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    val_ids: tuple[str, ...]
    environment: dict[str, Any] = field(default_factory=dict)
    other_rows: list[dict[str, Any]] | None = None
    same_weights: bool = False
    epochs: dict[str, int | None] = field(default_factory=dict)
    evaluations: dict[str, Evaluation] = field(default_factory=dict)

    @property
    def loss(self) -> str:
        return self.spec.loss

    @property
    def seed(self) -> int:
        return self.spec.seed


def read_cases_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of an evaluation ``cases.csv`` with numbers parsed (``inf`` stays ``inf``),
    the lesion metrics (:data:`~boundaryloss.metrics.lesion.LESION_METRICS`) where present."""
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            row: dict[str, Any] = {"case": raw["case"], "status": raw["status"]}
            for key in _INT_COLUMNS:
                row[key] = int(raw[key])
            for key in _FLOAT_COLUMNS:
                row[key] = float(raw[key])
            if raw.get("tp_voxels"):  # with the field-of-view columns (not in older files)
                row["tp_voxels"] = int(raw["tp_voxels"])
            # Every lesion metric the evaluation wrote (runs evaluated with
            # ``lesion=True``), whichever the table shows; a column missing from an
            # older cases.csv is left out of its rows, and the table shows only the
            # columns that every row has.
            for key in LESION_METRICS:
                if raw.get(key):
                    row[key] = int(raw[key]) if key in LESION_COUNTS else float(raw[key])
            rows.append(row)
    return rows


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """The per-epoch rows of a trained run (``metrics.jsonl``).

    Raises:
        FileNotFoundError: the run has no history.
    """
    return MetricsLog(RunDirectory(run_dir)).load()


def _evaluation_is_current(
    output: Path, checkpoint: Path, lesion: bool = False, spec: RunSpec | None = None
) -> bool:
    """Whether the evaluation in ``output`` is the one ``compare`` would write now: of
    ``checkpoint``, on the run's validation split, its data root and its test-time
    mirroring (``spec``), and complete. An ``evaluate --split all``, ``--data OTHER``
    or ``--mirror`` of the run left in the same folder is redone, not reported."""
    files = EvaluationFolder(output)
    summary, cases = files.summary, files.cases
    if not (summary.is_file() and cases.is_file()):
        return False
    try:
        saved = json.loads(summary.read_text())
    except json.JSONDecodeError:
        return False
    if spec is not None and not (
        saved.get("split") == "val"
        and saved.get("data_root") == spec.config.data.root
        and saved.get("mirror") == spec.config.inference.mirror
    ):
        return False
    return (
        saved.get("checkpoint") == str(checkpoint)
        and saved.get("missing") == "inf"
        and "fov" in saved  # evaluations from before fields of view were applied are redone
        # lesion: a bool in older summaries, the lesion options (or None) since
        and bool(saved.get("lesion")) == lesion
        and (not lesion or _volume_difference_is_current(saved))
        and matches_cases(saved, cases)  # not a pair broken by a kill between renames
        and (
            not lesion
            or _screening_is_current(saved, files.lesions, files.score_histograms, checkpoint)
        )
        and cases.stat().st_mtime >= checkpoint.stat().st_mtime
    )


def _screening_is_current(
    saved: dict[str, Any], lesions: Path, histograms: Path, checkpoint: Path
) -> bool:
    """Whether a lesion evaluation has what the lesion report reads: the per-lesion
    file (``lesions.csv``, not older than the checkpoint), the pooled AUPR of every
    class (``pixel_level``) and the score histograms (``score_histograms.csv``), each
    file the one its summary records; evaluations written before any existed are
    redone."""
    pixel_level = saved.get("pixel_level")
    return (
        isinstance(pixel_level, dict)
        and bool(pixel_level)
        and all(isinstance(v, dict) and "aupr" in v for v in pixel_level.values())
        and lesions.is_file()
        and lesions.stat().st_mtime >= checkpoint.stat().st_mtime
        and matches_companion(saved, lesions)  # not an older list beside a newer pair
        and histograms.is_file()  # the image-level test of the pooled AUPR reads them
        and matches_companion(saved, histograms)
    )


def _volume_difference_is_current(saved: dict[str, Any]) -> bool:
    """Whether a lesion evaluation's volume difference is in the unit its cases allow.

    Evaluations written before the volume difference followed the spacing unit (no
    ``volume_difference`` in the summary) gave cases in px an ``avd_ml`` computed from
    pixel widths, and none for 2D cases: those are redone, and so are the ones older
    than the summaries' ``spacing_unit``, which cannot tell; the ones whose cases are in
    mm are kept (their ``avd_ml`` is unchanged).
    """
    return "volume_difference" in saved or saved.get("spacing_unit") == MILLIMETRES


def other_checkpoint(checkpoint: str) -> str:
    """``last`` for ``best`` and ``best`` for ``last``."""
    return CHECKPOINTS[1 - CHECKPOINTS.index(checkpoint)]


def evaluation_folders(spec: RunSpec, checkpoint: str, primary: bool) -> tuple[Path, Path]:
    """Where the evaluation of ``checkpoint`` is written, and where else it may be found.

    The report's checkpoint (``primary``) goes to ``RUN_DIR/evaluation``, the other one
    to ``RUN_DIR/evaluation_<checkpoint>``; an evaluation of the same checkpoint in the
    other folder (left by a comparison configured the other way round) is reused.
    """
    run = RunDirectory(spec.run_dir)
    own = run.evaluation_of(checkpoint)
    return (run.evaluation, own) if primary else (own, run.evaluation)


def read_evaluation(folder: Path, lesion: bool = False) -> Evaluation:
    """The rows, pooled scores (and, with ``lesion``, the lesions) of an evaluation
    folder."""
    files = EvaluationFolder(folder)
    saved = json.loads(files.summary.read_text())
    pixel_level = {int(cls): scores for cls, scores in saved.get("pixel_level", {}).items()}
    lesions = read_lesion_file(files.lesions) if lesion else None
    histograms = None
    if lesion and files.score_histograms.is_file():
        histograms = read_histograms(files.score_histograms)
    return Evaluation(read_cases_csv(files.cases), pixel_level, lesions, histograms)


def cached(spec: RunSpec, checkpoint: str, lesion: bool = False) -> Evaluation | None:
    """The cached evaluation of ``checkpoint`` (in either folder of
    :func:`evaluation_folders`), or ``None`` when there is no current one."""
    path = RunDirectory(spec.run_dir).checkpoint(checkpoint)
    for folder in evaluation_folders(spec, checkpoint, primary=True):
        if _evaluation_is_current(folder, path, lesion, spec):
            return read_evaluation(folder, lesion)
    return None


def evaluate(
    spec: RunSpec, checkpoint: str, lesion: bool = False, primary: bool = True
) -> Evaluation:
    """The evaluation of one run's ``checkpoint`` on its validation cases (cached: see
    :func:`evaluation_folders`)."""
    found = cached(spec, checkpoint, lesion)
    if found is not None:
        return found
    run = RunDirectory(spec.run_dir)
    output = evaluation_folders(spec, checkpoint, primary)[0]
    evaluate_run(
        run.path,
        checkpoint=checkpoint,
        split="val",
        output=output,
        missing="inf",
        lesion=lesion,
    )
    return read_evaluation(output, lesion)


def _weights_and_epoch(path: Path) -> tuple[dict[str, torch.Tensor], int]:
    state = load_checkpoint(path)
    return state["model"], int(state["epoch"])  # epochs completed when saved


def same_weights(spec: RunSpec) -> tuple[bool, dict[str, int | None]]:
    """Whether ``best.pt`` and ``last.pt`` of a run hold identical model weights, and
    the epoch (1-based) each was saved after."""
    run = RunDirectory(spec.run_dir)
    best, best_epoch = _weights_and_epoch(run.checkpoint("best"))
    last, last_epoch = _weights_and_epoch(run.checkpoint("last"))
    equal = best.keys() == last.keys() and all(torch.equal(best[k], last[k]) for k in best)
    return equal, {"best": best_epoch, "last": last_epoch}


def collect(experiment: Experiment, log: Callable[[str], None] = print) -> list[RunResult]:
    """Evaluate every run (at both checkpoints when ``report.last_epoch``) and read its
    history and summary.

    Raises:
        ValueError: two runs validated on different cases (they must share the split).
    """
    results = []
    report = experiment.config.report
    checkpoint, other = report.checkpoint, other_checkpoint(report.checkpoint)
    for spec in experiment.runs:
        started = time.perf_counter()
        run = RunDirectory(spec.run_dir)
        same, epochs = False, {}
        if report.last_epoch:
            same, epochs = same_weights(spec)
        found = cached(spec, other, report.lesion) if same else None
        if found is None:  # one model for both: either checkpoint's evaluation serves
            found = evaluate(spec, checkpoint, report.lesion)
        evaluations = {checkpoint: found}
        if report.last_epoch:
            evaluations[other] = (
                found if same else evaluate(spec, other, report.lesion, primary=False)
            )
        rows = evaluations[checkpoint].rows
        other_rows = evaluations[other].rows if report.last_epoch else None
        val_ids = load_splits(run.splits)[0].val
        summary = json.loads(run.summary.read_text())
        environment = json.loads(run.environment.read_text()) if run.environment.is_file() else {}
        results.append(
            RunResult(
                spec,
                rows,
                read_history(spec.run_dir),
                summary,
                val_ids,
                environment,
                other_rows,
                same,
                epochs,
                evaluations,
            )
        )
        note = ""
        if report.last_epoch:
            note = (
                f" ({checkpoint} and {other}: the same weights, evaluated once)"
                if same
                else f" ({checkpoint} and {other})"
            )
        log(f"evaluated {spec.loss} seed {spec.seed}{note} in {time.perf_counter() - started:.1f}s")
    first = results[0]
    for result in results[1:]:
        if result.val_ids != first.val_ids:
            raise ValueError(
                f"{RunDirectory(result.spec.run_dir).splits}: validation cases differ from "
                f"{RunDirectory(first.spec.run_dir).splits}; runs must share the split"
            )
    return results


def validation_cases(experiment: Experiment, val_ids: Sequence[str]) -> Sequence:
    """The experiment's validation cases (lazy for on-disk datasets)."""
    return select_cases(build_cases(experiment.runs[0].config.data), list(val_ids))


def diagonals(cases: Sequence) -> tuple[dict[str, float], str]:
    """The image diagonal per case id (the finite penalty of a missed structure) and the
    unit of every distance measured on the cases (HD95, the diagonal).

    The unit is the cases' :attr:`~boundaryloss.data.case.Case.spacing_unit`, ``"mm"`` or
    ``"px"``, as the dataset's reader sets it; it is read from the cases, not from the
    runs' files, so a report rebuilt from runs evaluated before the unit was recorded
    has it too.

    Raises:
        ValueError: no cases, or the cases measure in different units.
    """
    out: dict[str, float] = {}
    units: set[str] = set()
    for i in range(len(cases)):
        case = cases[i]
        out[case.case_id] = image_diagonal(case.spatial_shape, case.spacing)
        units.add(case.spacing_unit)
    return out, shared_spacing_unit(units)


def penalised(value: float, diagonal: float) -> float:
    """``value``, or ``diagonal`` for an infinite distance (a missed/spurious structure)."""
    return diagonal if math.isinf(value) else value
