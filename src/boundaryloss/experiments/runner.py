"""Train every run of an experiment, resuming where an interrupted experiment stopped.

A run whose ``summary.json`` exists is finished and never retrained; a run with a
``checkpoints/last.pt`` but no summary is resumed exactly (same batches and random
numbers as an uninterrupted run); anything else is trained from scratch. The models at
the diagnostic epochs are kept as ``checkpoints/epochNNNN.pt``.

Every run holds its own lock while it trains, so several processes may train one
comparison side by side (``compare --train-only``): with ``skip_busy`` a run another
process is training is passed over, not waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._lock import LockHeldError
from ..config import ConfigError
from ..training.checks import check_run_config
from ..training.config import config_differences, describe_differences, load_config
from ..training.engine import Trainer, TrainingDiverged
from ..training.run_dir import RunDirectory, RunExistsError
from ..training.validation import best_score_line
from .config import Experiment, RunSpec


def snapshot_path(run_dir: Path, epoch: int) -> Path:
    """Where the model after ``epoch`` (1-based) epochs is kept for the diagnostics."""
    return RunDirectory(run_dir).snapshot(epoch)


@dataclass
class RunOutcome:
    """What happened to one run: ``trained``, ``resumed``, ``skipped`` (finished earlier)
    or ``busy`` (another process was training it: ``train_all(skip_busy=True)``)."""

    spec: RunSpec
    action: str
    seconds: float


#: What a finished or interrupted run of a comparison may differ in from the experiment:
#: where the run lives (older versions named runs "LOSS/seedN" under OUTPUT/runs, newer
#: ones "seedN" under OUTPUT/runs/LOSS) and the progress bar.
REUSABLE_KEYS = ("output_dir", "name", "train.progress")


def check_saved_config(spec: RunSpec) -> None:
    """Refuse to reuse a run trained with another configuration than the experiment's.

    Raises:
        ValueError: the saved ``config.yaml`` differs (the message names every changed
            key with its saved and wanted values).
    """
    saved_path = RunDirectory(spec.run_dir).config
    if not saved_path.is_file():
        return
    changed = config_differences(load_config(saved_path), spec.config, ignore=REUSABLE_KEYS)
    if changed:
        raise ValueError(
            f"{saved_path}: this run was trained with other settings "
            f"({describe_differences(changed)}); pass --no-resume to retrain it, or "
            "--output to write elsewhere"
        )


def run_state(spec: RunSpec) -> str:
    """``finished`` (summary.json), ``interrupted`` (last.pt only) or ``new``."""
    run = RunDirectory(spec.run_dir)
    if run.is_finished():
        return "finished"
    if run.has_checkpoint():
        return "interrupted"
    return "new"


def train_all(
    experiment: Experiment,
    resume: bool = True,
    log: Callable[[str], None] = print,
    skip_busy: bool = False,
) -> list[RunOutcome]:
    """Train (or resume, or skip) every run, printing one line per start and finish.

    Every run's configuration is checked before the first one trains, so a wrong value in
    the last loss configuration does not surface after hours of training the others.

    Args:
        skip_busy: pass over a run another process holds (its lock is taken, or it
            gained a checkpoint since its state was read) instead of failing; its
            outcome is ``busy``. A new run is then never replaced, only started.

    Raises:
        LockHeldError: another process is training a run (unless ``skip_busy``).
        ValueError: a wrong value (names the loss and the key), a changed configuration
            of a finished run, or a diverged run.
    """
    for spec in experiment.runs:
        try:
            check_run_config(spec.config)
        except ConfigError as error:
            raise ConfigError(f"losses: {spec.loss}: {error}") from None
    outcomes = []
    total = len(experiment.runs)
    snapshots = tuple(experiment.snapshot_epochs)
    for i, spec in enumerate(experiment.runs, start=1):
        label = f"[{i}/{total}] {spec.loss} seed {spec.seed}"
        state = run_state(spec) if resume else "new"
        if state != "new":
            check_saved_config(spec)
        if state == "finished":
            log(f"{label}: finished earlier, skipped ({spec.run_dir})")
            outcomes.append(RunOutcome(spec, "skipped", 0.0))
            continue
        action = "resumed" if state == "interrupted" else "trained"
        log(f"{label}: {'resuming' if state == 'interrupted' else 'training'} -> {spec.run_dir}")
        started = time.perf_counter()
        try:
            trainer = Trainer(
                spec.config,
                resume=state == "interrupted",
                # Side by side, a run that looked new may have been started (or finished)
                # by another process since: never replace it.
                overwrite=state == "new" and not (skip_busy and resume),
                snapshot_epochs=snapshots,
            )
            summary = trainer.fit()
        except (LockHeldError, RunExistsError) as error:
            started_elsewhere = isinstance(error, LockHeldError) or run_state(spec) != "new"
            if not (skip_busy and started_elsewhere):
                raise
            log(f"{label}: taken by another process, skipped ({error})")
            outcomes.append(RunOutcome(spec, "busy", 0.0))
            continue
        except TrainingDiverged as error:
            raise ValueError(
                f"{label}: {error}. Change this loss configuration (e.g. a lower optim.lr in "
                "its overrides) and run compare again with --no-resume"
            ) from error
        seconds = time.perf_counter() - started
        log(f"{label}: done in {seconds:.1f}s, {best_score_line(summary)}")
        outcomes.append(RunOutcome(spec, action, seconds))
    return outcomes
