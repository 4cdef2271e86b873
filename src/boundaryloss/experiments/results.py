"""Collect what the runs of an experiment produced: per-case metrics, histories, timing.

Every run is evaluated with :func:`~boundaryloss.training.evaluate.evaluate_run` on the
validation cases (per-case, per-class Dice and HD95 in mm; a missed structure has HD95
``inf``). The evaluation is cached in ``RUN_DIR/evaluation`` and redone only when the
checkpoint is newer.
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

from ..data.splits import load_splits, select_cases
from ..metrics._empty import image_diagonal
from ..training.data import build_cases
from ..training.evaluate import evaluate_run
from ..training.run_dir import EvaluationFolder, RunDirectory
from ..training.run_log import MetricsLog
from .config import Experiment, RunSpec

_INT_COLUMNS = ("class", "pred_voxels", "ref_voxels")
_FLOAT_COLUMNS = ("dice", "hd95")
#: Read when present (runs evaluated with ``lesion=True``).
_LESION_COLUMNS = ("lesion_f1", "lesion_recall", "lesion_precision", "avd_ml")


@dataclass
class RunResult:
    """One finished run: its per-case rows, per-epoch history and training summary."""

    spec: RunSpec
    rows: list[dict[str, Any]]
    history: list[dict[str, Any]]
    summary: dict[str, Any]
    val_ids: tuple[str, ...]
    environment: dict[str, Any] = field(default_factory=dict)

    @property
    def loss(self) -> str:
        return self.spec.loss

    @property
    def seed(self) -> int:
        return self.spec.seed


def read_cases_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of an evaluation ``cases.csv`` with numbers parsed (``inf`` stays ``inf``)."""
    rows = []
    with open(path, newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            row: dict[str, Any] = {"case": raw["case"], "status": raw["status"]}
            for key in _INT_COLUMNS:
                row[key] = int(raw[key])
            for key in _FLOAT_COLUMNS:
                row[key] = float(raw[key])
            for key in _LESION_COLUMNS:
                if raw.get(key):
                    row[key] = float(raw[key])
            rows.append(row)
    return rows


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """The per-epoch rows of a trained run (``metrics.jsonl``).

    Raises:
        FileNotFoundError: the run has no history.
    """
    return MetricsLog(RunDirectory(run_dir)).load()


def _evaluation_is_current(output: Path, checkpoint: Path, lesion: bool = False) -> bool:
    files = EvaluationFolder(output)
    summary, cases = files.summary, files.cases
    if not (summary.is_file() and cases.is_file()):
        return False
    try:
        saved = json.loads(summary.read_text())
    except json.JSONDecodeError:
        return False
    return (
        saved.get("checkpoint") == str(checkpoint)
        and saved.get("missing") == "inf"
        and "fov" in saved  # evaluations from before fields of view were applied are redone
        and saved.get("lesion", False) == lesion
        and cases.stat().st_mtime >= checkpoint.stat().st_mtime
    )


def evaluate(spec: RunSpec, checkpoint: str, lesion: bool = False) -> list[dict[str, Any]]:
    """Per-case, per-class rows of one run on its validation cases (cached)."""
    run = RunDirectory(spec.run_dir)
    output = run.evaluation
    path = run.checkpoint(checkpoint)
    if not _evaluation_is_current(output, path, lesion):
        evaluate_run(
            run.path,
            checkpoint=checkpoint,
            split="val",
            output=output,
            missing="inf",
            lesion=lesion,
        )
    return read_cases_csv(EvaluationFolder(output).cases)


def collect(experiment: Experiment, log: Callable[[str], None] = print) -> list[RunResult]:
    """Evaluate every run and read its history and summary.

    Raises:
        ValueError: two runs validated on different cases (they must share the split).
    """
    results = []
    checkpoint = experiment.config.report.checkpoint
    for spec in experiment.runs:
        started = time.perf_counter()
        run = RunDirectory(spec.run_dir)
        rows = evaluate(spec, checkpoint, experiment.config.report.lesion)
        val_ids = load_splits(run.splits)[0].val
        summary = json.loads(run.summary.read_text())
        environment = json.loads(run.environment.read_text()) if run.environment.is_file() else {}
        results.append(
            RunResult(spec, rows, read_history(spec.run_dir), summary, val_ids, environment)
        )
        log(f"evaluated {spec.loss} seed {spec.seed} in {time.perf_counter() - started:.1f}s")
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


def diagonals(cases: Sequence) -> dict[str, float]:
    """Image diagonal (mm) per case id: the finite penalty of a missed structure."""
    out = {}
    for i in range(len(cases)):
        case = cases[i]
        out[case.case_id] = image_diagonal(case.spatial_shape, case.spacing)
    return out


def penalised(value: float, diagonal: float) -> float:
    """``value``, or ``diagonal`` for an infinite distance (a missed/spurious structure)."""
    return diagonal if math.isinf(value) else value
