"""Evaluate a trained run on whole cases: per-case, per-class CSV and a summary."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..data.splits import load_splits, select_cases
from ..metrics import SegmentationEvaluator
from .data import build_cases, case_ids
from .predict import Predictor
from .run_log import write_json

METRICS = ("dice", "hd", "hd95", "assd", "precision", "recall")


def evaluate_run(
    run_dir: str | Path,
    data_root: str | None = None,
    checkpoint: str = "best",
    split: str = "val",
    output: str | Path | None = None,
    missing: str = "inf",
    progress=None,
) -> dict[str, Any]:
    """Segment the run's validation cases (or all cases) and measure them.

    Args:
        run_dir: a training run directory.
        data_root: evaluate on this dataset root instead of the run's ``data.root``.
        checkpoint: ``"best"`` or ``"last"``, or a path to a checkpoint file.
        split: ``"val"`` (the run's validation cases) or ``"all"``.
        output: folder for ``cases.csv`` and ``summary.json`` (default
            ``RUN_DIR/evaluation``).
        missing: distance reported for a missed structure (``"inf"``, ``"nan"``,
            ``"diagonal"``), see :mod:`boundaryloss.metrics`.

    Returns:
        The summary written to ``summary.json``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory not found: {run_dir}")
    if split not in ("val", "all"):
        raise ValueError(f"split must be 'val' or 'all', got {split!r}")
    path = Path(checkpoint)
    if checkpoint in ("best", "last"):
        path = run_dir / "checkpoints" / f"{checkpoint}.pt"
    predictor = Predictor.from_checkpoint(path)
    data_config = predictor.config.data
    if data_root is not None:
        data_config = dataclasses.replace(data_config, root=str(data_root))
    cases = build_cases(data_config)
    if split == "val":
        splits_file = run_dir / "splits.json"
        if not splits_file.is_file():
            raise FileNotFoundError(f"{splits_file}: no split saved in this run; use --split all")
        wanted = load_splits(splits_file)[0].val
        known = set(case_ids(cases))
        absent = [c for c in wanted if c not in known]
        if absent:
            raise ValueError(
                f"validation case(s) {absent[:3]} of {splits_file} are not in the dataset; "
                "pass --data or --split all"
            )
        cases = select_cases(cases, wanted)
    evaluator = SegmentationEvaluator(
        metrics=METRICS, num_classes=data_config.num_classes, missing=missing
    )
    for i in range(len(cases)):
        case = cases[i]
        prediction = predictor.segment(case)
        evaluator.update(case.case_id, prediction, case.label, spacing=case.spacing)
        if progress is not None:
            progress(f"[{i + 1}/{len(cases)}] {case.case_id}")
    output = Path(output) if output is not None else run_dir / "evaluation"
    evaluator.to_csv(output / "cases.csv")
    summary = {
        "checkpoint": str(path),
        "split": split,
        "num_cases": len(cases),
        "missing": missing,
        "metrics": evaluator.summary(),
    }
    write_json(output / "summary.json", summary)
    return summary
