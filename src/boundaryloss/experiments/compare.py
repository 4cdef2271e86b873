"""Run a whole comparison: train every run, evaluate, compute, and write the report."""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .._files import remove_temporaries, write_text_atomically
from .._lock import DirectoryLock
from .._ownership import check_output_folder, is_written_by, record_written
from ..config import to_dict
from ..data.case import PIXELS
from ..data.slicing import most_foreground_slice
from ..evaluation.predict import Predictor
from ..metrics.lesion import ABSOLUTE_VOLUME_UNITS
from ..training.run_dir import RunDirectory
from ..training.validation import SELECTION_NAMES
from . import lesion_report, plots
from .config import Experiment
from .convergence import convergence_epoch
from .gradients import gradient_sign_diagnostic
from .report import Figure, Report, Table, simple_table
from .results import (
    CHECKPOINTS,
    RunResult,
    collect,
    diagonals,
    other_checkpoint,
    validation_cases,
)
from .runner import RunOutcome, train_all
from .table import (
    LossStats,
    build_table,
    compute_statistics,
    records,
    to_html,
    to_markdown,
    to_text,
)


@dataclass
class CompareOutput:
    """What a comparison produced: the report files, the console table and findings.

    ``statistics``/``records`` are those of the report's checkpoint;
    ``other_statistics``/``other_records`` those of the other checkpoint (empty when
    ``report.last_epoch`` is off). ``screening``: the lesion screening scores per
    reported checkpoint, the report's first (empty unless ``report.lesion``).
    """

    markdown: Path
    html: Path
    table_text: str
    findings: list[str]
    statistics: list[LossStats]
    records: list[dict[str, Any]]
    gradient_rows: list[dict[str, Any]]
    outcomes: list[RunOutcome]
    other_statistics: list[LossStats] = field(default_factory=list)
    other_records: list[dict[str, Any]] = field(default_factory=list)
    screening: list[lesion_report.CheckpointScreening] = field(default_factory=list)


def _fmt_p(p: float | None) -> str:
    if p is None or math.isnan(p):
        return "n/a"
    return f"{p:.3g}"


def findings(
    experiment: Experiment,
    stats: Sequence[LossStats],
    recs: Sequence[dict[str, Any]],
    convergence: dict[str, list[int | None]],
    gradient_rows: Sequence[dict[str, Any]],
) -> list[str]:
    """One measured sentence per loss (and for the diagnostic): no claim beyond the data."""
    alpha = experiment.config.report.alpha
    reference = experiment.reference
    lines = []
    for s in stats:
        mine = [r for r in recs if r["loss"] == s.loss]
        pairs = sorted({(r["case"], r["seed"]) for r in mine})
        fg_pred = {p: 0 for p in pairs}
        fg_ref = {p: 0 for p in pairs}
        for r in mine:
            fg_pred[(r["case"], r["seed"])] += r["pred_voxels"]
            fg_ref[(r["case"], r["seed"])] += r["ref_voxels"]
        empty = sum(v == 0 for v in fg_pred.values())
        ratio = sum(fg_pred.values()) / max(sum(fg_ref.values()), 1)
        dice = ", ".join(f"class {c} {m.mean:.3f}" for c, m in s.dice.items())
        where = (
            f"{len(pairs)} validation cases"
            if experiment.config.seeds == 1
            else f"{len(pairs)} validation (case, seed) pairs"
        )
        text = (
            f"{s.loss}: mean Dice {dice}; predicted an empty mask (no foreground at all) in "
            f"{empty} of {where}; predicted foreground area = {ratio:.2f} x the reference's"
        )
        if s.loss != reference:
            diffs = []
            for c, m in s.dice.items():
                verdict = (
                    "differs significantly"
                    if (m.pvalue or 1) < alpha
                    else "no significant difference"
                )
                diffs.append(f"class {c} Dice vs {reference}: p = {_fmt_p(m.pvalue)} ({verdict})")
            text += "; " + "; ".join(diffs)
        conv = convergence.get(s.loss, [])
        never = sum(e is None for e in conv)
        reached = [e for e in conv if e is not None]
        if reached:
            fraction = 100 * experiment.config.report.convergence_fraction
            text += (
                f"; reached {fraction:g} % of its best validation Dice at epoch "
                f"{float(np.median(reached)):g} (median over seeds)"
            )
        if never:
            text += f"; {never} of {len(conv)} seeds never reached a Dice above 0"
        lines.append(text + ".")
    if gradient_rows:
        binary = experiment.runs[0].config.data.num_classes == 2
        for kind in ("boundary", "rrw"):
            shares = [r["share"] for r in gradient_rows if r["map"] == kind]
            lines.append(
                f"gradient-sign diagnostic, {kind} maps: share of pixels with >= 2 negative "
                f"logit-gradient components between {100 * min(shares):.3f} % and "
                f"{100 * max(shares):.3f} % over losses and time points"
                + (" (two classes: 0 by construction)." if binary else ".")
            )
    return lines


def _dice_text(stats: LossStats) -> str:
    return ", ".join(f"class {c} {m.mean:.3f}" for c, m in stats.dice.items())


def _epochs_text(results: Sequence[RunResult], name: str) -> str:
    epochs = [r.epochs.get(name) for r in results]
    known = [e for e in epochs if e is not None]
    if not known:
        return ""
    if len(known) == 1:
        return f" (epoch {known[0]})"
    return f" (epoch {float(np.median(known)):g}, median over seeds)"


def checkpoint_findings(
    experiment: Experiment,
    results: Sequence[RunResult],
    stats: Sequence[LossStats],
    other_stats: Sequence[LossStats],
) -> list[str]:
    """One sentence per loss: mean Dice at the best checkpoint and at the last epoch,
    with the epochs they come from and how many seeds had the two identical."""
    primary = experiment.config.report.checkpoint
    by_name = {primary: stats, other_checkpoint(primary): other_stats}
    lines = []
    for i, s in enumerate(stats):
        mine = [r for r in results if r.loss == s.loss]
        best, last = by_name["best"][i], by_name["last"][i]
        same = sum(r.same_weights for r in mine)
        lines.append(
            f"{s.loss}: mean Dice at the best checkpoint{_epochs_text(mine, 'best')} "
            f"{_dice_text(best)}; at the last epoch{_epochs_text(mine, 'last')} "
            f"{_dice_text(last)}; best and last were the same model (evaluated once) in "
            f"{same} of {len(mine)} seeds."
        )
    return lines


def _overlay_panels(
    experiment: Experiment, results: Sequence[RunResult], cases: Sequence, count: int
) -> list[tuple[str, np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
    """The first ``count`` validation cases segmented by each loss's first-seed model
    (the first of ``results`` for each loss, in the experiment's loss order)."""
    checkpoint = experiment.config.report.checkpoint
    first_run = {}
    for result in results:
        first_run.setdefault(result.loss, result.spec.run_dir)
    predictors = {
        loss: Predictor.from_checkpoint(RunDirectory(first_run[loss]).checkpoint(checkpoint))
        for loss in experiment.loss_names
        if loss in first_run
    }
    axis = experiment.runs[0].config.data.slice_axis
    panels = []
    for i in range(min(count, len(cases))):
        case = cases[i]
        predictions = {loss: p.segment(case) for loss, p in predictors.items()}
        image, label = case.image, np.asarray(case.label)
        if label.ndim == 3:
            index = most_foreground_slice(label, axis)
            image = np.take(image, index, axis=axis + 1)
            label = np.take(label, index, axis=axis)
            predictions = {k: np.take(v, index, axis=axis) for k, v in predictions.items()}
        panels.append((case.case_id, image, label, predictions))
    return panels


def _records_csv(recs: Sequence[dict[str, Any]]) -> str:
    """The records as CSV; a column some runs' evaluations lack (an older cases.csv)
    is left empty in their rows."""
    buffer = io.StringIO()
    columns = list(dict.fromkeys(key for rec in recs for key in rec))
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(recs)
    return buffer.getvalue()


def _compute_rows(results: Sequence[RunResult]) -> tuple[list[list[str]], float]:
    rows, total = [], 0.0
    for r in results:
        seconds = sum(float(h.get("epoch_seconds", 0.0)) for h in r.history)
        total += seconds
        rows.append(
            [
                r.loss,
                str(r.seed),
                str(r.summary.get("device", "?")),
                str(r.environment.get("torch_threads", "?")),
                str(len(r.history)),
                f"{seconds:.1f}",
                f"{seconds / max(len(r.history), 1):.2f}",
            ]
        )
    return rows, total


def _setup_lines(experiment: Experiment, n_val: int) -> list[str]:
    base = experiment.runs[0].config
    data = base.data
    if data.source == "synthetic":
        syn = data.synthetic
        source = (
            f"synthetic 2D/3D cases: {syn.cases} cases of {'x'.join(map(str, syn.shape))}, "
            f"foreground fraction {syn.foreground_fraction:g}, {syn.num_classes} classes"
        )
    else:
        source = f"{data.source} at {data.root}"
    subset = []
    if experiment.omitted_losses:
        subset = [
            f"losses: {', '.join(experiment.loss_names)} of {experiment.path.name}; left out "
            f"by --losses: {', '.join(experiment.omitted_losses)}"
        ]
    return [
        *subset,
        f"data: {source}; validation cases: {n_val} (split seed {data.split_seed}, "
        f"fraction {data.val_fraction:g}), the same for every run",
        f"model: {base.model.name} {base.model.kwargs}; {base.model.spatial_dims}D",
        f"training: {base.train.epochs} epochs, batch {data.batch_size}, {base.optim.name} "
        f"lr {base.optim.lr:g} ({base.optim.lr_schedule}); seeds 0..{experiment.config.seeds - 1}",
        _checkpoint_line(experiment),
        f"reference loss for significance: {experiment.reference}",
    ]


def _checkpoint_meaning(checkpoint: str, selection: str) -> str:
    """What ``checkpoint`` (``best`` or ``last``) means, ``selection`` being the name of
    the validation score that selects ``best.pt`` (``train.selection_metric``)."""
    if checkpoint == "best":
        return (
            f"highest validation {selection}, selected on the same validation cases it is "
            "scored on, as in the papers: an optimistic estimate"
        )
    return "the model at the end of training, chosen without looking at validation scores"


def _checkpoint_line(experiment: Experiment) -> str:
    report = experiment.config.report
    selection = SELECTION_NAMES[experiment.runs[0].config.train.selection_metric]
    line = (
        f"evaluated model: the '{report.checkpoint}' checkpoint of each run "
        f"({_checkpoint_meaning(report.checkpoint, selection)})"
    )
    if report.last_epoch:
        other = other_checkpoint(report.checkpoint)
        line += (
            f"; the second table shows the '{other}' checkpoint "
            f"({_checkpoint_meaning(other, selection)}); a run whose best validation "
            f"{selection} came at its last epoch has one model for both, evaluated once"
        )
    return line


def _checkpoint_title(name: str) -> str:
    return "best checkpoint" if name == "best" else "last epoch"


@dataclass(frozen=True)
class ReportInputs:
    """What the report is drawn from (all computed by :func:`run_compare`)."""

    results: Sequence[RunResult]
    stats: Sequence[LossStats]
    table_md: str
    table_html: str
    findings: list[str]
    convergence: dict[str, list[int | None]]
    gradient_rows: Sequence[dict[str, Any]]
    panels: list
    wall_seconds: float
    unit: str  # of HD95 and the image diagonal: "mm" or "px" (see results.diagonals)
    other_table_md: str | None = None
    other_table_html: str | None = None
    screening: Sequence[lesion_report.CheckpointScreening] = ()


def _unit_sentence(unit: str) -> str:
    """What the report says about the unit of HD95."""
    if unit == PIXELS:
        return (
            "HD95 is in pixels (px): the dataset's images carry no physical pixel size, so "
            "distances are counted in pixel widths."
        )
    return f"HD95 is in {unit}."


#: Why a volume difference is in a unit that is no physical volume, per unit.
_VOLUME_UNIT_NOTES = {
    "voxels": (
        " (pixels in 2D): the dataset's images carry no physical voxel size, so volumes "
        "are voxel counts"
    ),
}


def _volume_sentence(stats: Sequence[LossStats]) -> str:
    """What the report says about the unit of the lesion table's volume difference (the
    unit :data:`~boundaryloss.metrics.lesion.ABSOLUTE_VOLUME_UNITS` gives its column)."""
    columns = stats[0].lesion if stats else {}
    volume = next((name for name in ABSOLUTE_VOLUME_UNITS if name in columns), None)
    if volume is None:
        return ""
    unit = ABSOLUTE_VOLUME_UNITS[volume]
    return f" AVD is the absolute volume difference in {unit}{_VOLUME_UNIT_NOTES.get(unit, '')}."


def _count_sentence(stats: Sequence[LossStats]) -> str:
    """What the report says about the lesion table's lesion-count difference."""
    if not stats or "lesion_count_difference" not in stats[0].lesion:
        return ""
    return (
        " Lesion count diff. is |lesions(prediction) - lesions(reference)| per case "
        "(ISLES 2022), 0 when the class is in neither."
    )


def build_report(experiment: Experiment, inputs: ReportInputs) -> Report:
    """Draw the figures into ``OUTPUT/figures`` and assemble the report."""
    results, convergence = inputs.results, inputs.convergence
    gradient_rows, panels = inputs.gradient_rows, inputs.panels
    cfg = experiment.config
    folder = experiment.folder
    losses = experiment.loss_names
    report = Report(f"Loss comparison: {cfg.name}")
    if cfg.description:
        report.paragraph(cfg.description.strip())
    report.heading("Set-up")
    report.bullets(_setup_lines(experiment, len(results[0].val_ids)))
    for i, screening in enumerate(inputs.screening):
        name = screening.checkpoint
        lesion_report.add_section(
            report,
            screening,
            losses,
            experiment.reference,
            cfg.seeds,
            cfg.report.alpha,
            cfg.report.n_permutations,
            f"Lesion screening at the {_checkpoint_title(name)} ('{name}' checkpoint)",
            explain=i == 0,
        )

    primary = cfg.report.checkpoint
    report.heading(f"Results at the {_checkpoint_title(primary)} ('{primary}' checkpoint)")
    report.table(Table(inputs.table_md, inputs.table_html))
    n_perm = cfg.report.n_permutations
    report.paragraph(
        f"Mean ± std over all validation cases and seeds (population std). Bold: best value "
        f"in its column at the shown precision (Dice highest, HD95 lowest). '*': the paired "
        f"permutation test against {experiment.reference} gives p < {cfg.report.alpha:g} "
        f"(per-case values averaged over seeds, paired by case id; exact when 2^cases <= "
        f"{n_perm}, otherwise {n_perm} random sign flips). {_unit_sentence(inputs.unit)} A "
        "missed structure (present in the reference, absent from the prediction, or the "
        "reverse) has HD95 = inf; its HD95 mean and test use the image diagonal "
        f"({inputs.unit}) in its place, and the number of such misses is shown next to the "
        "mean. Per-case values are in cases.csv."
    )
    if inputs.other_table_md is not None and inputs.other_table_html is not None:
        other = other_checkpoint(cfg.report.checkpoint)
        report.heading(f"Results at the {_checkpoint_title(other)} ('{other}' checkpoint)")
        report.table(Table(inputs.other_table_md, inputs.other_table_html))
        report.paragraph(
            f"The same runs, cases and statistics as the table above (bold, '*' and HD95 as "
            f"there), with each run's '{other}' checkpoint in place of its "
            f"'{cfg.report.checkpoint}' checkpoint. Per-case values are in cases_{other}.csv."
        )
    if cfg.report.lesion:
        report.paragraph(
            "Lesion columns: lesions are 26-connected components in 3D (8 in 2D); a lesion "
            "counts as detected when one voxel overlaps (WMH 2017 / ISLES 2022 evaluation "
            "code). Lesion F1 is the harmonic mean of lesion precision and recall."
            f"{_volume_sentence(inputs.stats)}{_count_sentence(inputs.stats)} In brackets: "
            "the 95 % percentile bootstrap confidence interval of the mean over cases "
            "(values averaged over seeds)."
        )
    report.heading("Findings (computed from the results above)")
    report.bullets(inputs.findings)

    report.heading("Learning curves")
    plots.learning_curves(results, losses, folder.figure("learning_curves"), inputs.unit)
    report.figure(
        Figure(
            folder.figure("learning_curves"),
            f"Validation Dice and HD95 ({inputs.unit}) per epoch (mean over seeds; band: "
            "min-max over seeds). Training-time validation counts a missed structure as the "
            "image diagonal.",
        )
    )
    report.heading("Training stability")
    last = cfg.report.stability_epochs
    plots.stability(results, losses, last, folder.figure("stability"))
    report.figure(
        Figure(
            folder.figure("stability"),
            f"Validation Dice over the last {last} epochs of every seed: the spread shows how "
            "much the score moves late in training and between seeds.",
        )
    )
    if panels:
        report.heading("Qualitative comparison")
        plots.overlays(panels, folder.figure("overlays"))
        report.figure(
            Figure(
                folder.figure("overlays"),
                f"The same validation cases segmented by each loss (first seed, "
                f"'{cfg.report.checkpoint}' checkpoint). Green: hit, red: false positive, "
                "blue: missed.",
            )
        )
    report.heading("Convergence")
    plots.convergence(convergence, experiment.epochs, folder.figure("convergence"))
    report.figure(
        Figure(
            folder.figure("convergence"),
            f"Empirical CDF over seeds of the convergence epoch: the first epoch at which a "
            f"run's validation Dice reaches {100 * cfg.report.convergence_fraction:g} % of the "
            "best validation Dice of that run. A run whose best Dice is 0 never converges.",
        )
    )
    report.heading("Gradient-sign diagnostic")
    if gradient_rows:
        plots.gradient_sign(gradient_rows, folder.figure("gradient_sign"))
        report.paragraph(
            "For the region-wise loss mean(softmax(z) * W), the share of validation pixels "
            "whose gradient with respect to the logits z has two or more negative components, "
            "with W the boundary (signed distance, 'rw' convention) map or the rectified "
            "region-wise (RRW) map of the reference, using the model of each loss's first seed "
            "saved at the listed epochs. The stability principle of the region-wise paper "
            "(sec. 3.4) asks for exactly one negative component; RRW maps guarantee it, so "
            "their share must be 0. With two classes every map gives one negative and one "
            "positive component, so both shares are 0 there: the diagnostic separates the "
            "maps only with three or more classes. Components below -1e-9 x the largest "
            "|gradient| of the slice count as negative (float64)."
        )
        header = ["loss", "epoch", "boundary map (%)", "RRW map (%)", "pixels"]
        table_rows = []
        for loss in losses:
            for epoch in experiment.snapshot_epochs:
                row = {
                    r["map"]: r for r in gradient_rows if r["loss"] == loss and r["epoch"] == epoch
                }
                table_rows.append(
                    [
                        loss,
                        str(epoch),
                        f"{100 * row['boundary']['share']:.3f}",
                        f"{100 * row['rrw']['share']:.3f}",
                        str(row["rrw"]["pixels"]),
                    ]
                )
        report.table(simple_table(header, table_rows))
        report.figure(
            Figure(folder.figure("gradient_sign"), "Pixels with >= 2 negative gradient components")
        )
    else:
        report.paragraph("Not computed (switched off, or the network is not 2D).")

    report.heading("Compute")
    rows, total = _compute_rows(results)
    report.table(
        simple_table(
            ["loss", "seed", "device", "torch threads", "epochs", "training s", "s / epoch"],
            rows,
        )
    )
    report.paragraph(
        f"Training time is the sum of the logged epoch times (training and validation "
        f"epochs, across resumptions): {total:.1f} s in all. This invocation of compare took "
        f"{inputs.wall_seconds:.1f} s including evaluation, diagnostics and the report."
    )
    report.heading("Loss configurations")
    report.code(
        yaml.safe_dump(
            {e.name: {"loss": to_dict(e.loss), "overrides": e.overrides} for e in cfg.losses},
            sort_keys=False,
        )
    )
    return report


#: The command that writes comparison folders, as their file record names it.
WRITTEN_BY = "boundaryloss compare"


def is_own_file(path: Path) -> bool:
    """Whether ``path`` (a table, report or figure) is what a comparison wrote there.

    Only recorded files are (:func:`~boundaryloss._ownership.is_written_by`): the
    tables, report and figures of a comparison made before the record are refused, not
    replaced; they are all redrawn from the runs, which are kept.
    """
    return is_written_by(path, WRITTEN_BY)


def _write_own(path: Path, text: str) -> None:
    write_text_atomically(path, text)
    record_written([path], WRITTEN_BY)


def run_compare(
    experiment: Experiment, resume: bool = True, log: Callable[[str], None] = print
) -> CompareOutput:
    """Train, evaluate and report; returns the paths and the table/findings text.

    The output folder is locked while this runs (a second comparison into it gets
    :class:`~boundaryloss._lock.LockHeldError`); temporary files a killed comparison
    left in it are removed first.

    Raises:
        LockHeldError: another process is writing the same output folder.
        ValueError: the output folder, or its ``figures/``, holds files a comparison did
            not write (see :func:`~boundaryloss._ownership.check_output_folder` and
            :func:`is_own_file`).
    """
    with DirectoryLock(experiment.output, what="comparison folder"):
        folder = experiment.folder
        check_output_folder(folder.path, folder.entries(), "a comparison", is_own_file)
        check_output_folder(folder.figures, None, "a comparison", is_own_file)
        for path in (folder.path, folder.figures):
            remove_temporaries(path)
        return _run_compare(experiment, resume, log)


def train_runs(
    experiment: Experiment, resume: bool = True, log: Callable[[str], None] = print
) -> list[RunOutcome]:
    """Train (or resume) the experiment's runs and stop: ``compare --train-only``.

    Nothing is evaluated or reported, and the output folder is not locked: each run
    holds its own lock while it trains, so several processes (each with one thread, say)
    can train one comparison side by side. A run another process is training is passed
    over (outcome ``busy``); a later :func:`run_compare` reuses every finished run.

    Raises:
        ValueError: the output folder holds files a comparison did not write, or as
            :func:`~boundaryloss.experiments.runner.train_all`.
    """
    folder = experiment.folder
    check_output_folder(folder.path, folder.entries(), "a comparison", is_own_file)
    return train_all(experiment, resume=resume, log=log, skip_busy=True)


def _run_compare(experiment: Experiment, resume: bool, log: Callable[[str], None]) -> CompareOutput:
    started = time.perf_counter()
    cfg = experiment.config
    folder = experiment.folder
    for spec in experiment.runs:  # the runs' evaluation folders this comparison writes
        run = RunDirectory(spec.run_dir)
        for name in CHECKPOINTS:
            remove_temporaries(run.evaluation_of(name))
    outcomes = train_all(experiment, resume=resume, log=log)
    results = collect(experiment, log=log)
    cases = validation_cases(experiment, results[0].val_ids)
    penalties, unit = diagonals(cases)
    recs = records(results, penalties)
    stats = compute_statistics(
        recs, experiment.loss_names, experiment.reference, cfg.report.n_permutations
    )
    header, cells = build_table(stats, cfg.report.alpha, unit=unit)
    convergence = {
        loss: [
            convergence_epoch(r.history, cfg.report.convergence_fraction)
            for r in results
            if r.loss == loss
        ]
        for loss in experiment.loss_names
    }
    gradient_rows = gradient_sign_diagnostic(experiment, cases)
    lines = findings(experiment, stats, recs, convergence, gradient_rows)
    other_recs: list[dict[str, Any]] = []
    other_stats: list[LossStats] = []
    other_table: tuple[str, str] | None = None
    other_name = other_checkpoint(cfg.report.checkpoint)
    if cfg.report.last_epoch:
        other_results = [replace(r, rows=r.other_rows) for r in results]
        other_recs = records(other_results, penalties)
        other_stats = compute_statistics(
            other_recs, experiment.loss_names, experiment.reference, cfg.report.n_permutations
        )
        other_header, other_cells = build_table(other_stats, cfg.report.alpha, unit=unit)
        other_table = (
            to_markdown(other_header, other_cells),
            to_html(other_header, other_cells),
        )
        lines += checkpoint_findings(experiment, results, stats, other_stats)
    screening = []
    if cfg.report.lesion:
        names = [cfg.report.checkpoint] + ([other_name] if cfg.report.last_epoch else [])
        screening = [
            lesion_report.screen(
                results,
                experiment.loss_names,
                experiment.reference,
                name,
                cfg.report.alpha,
                cfg.report.n_permutations,
            )
            for name in names
        ]
    panels = _overlay_panels(experiment, results, cases, cfg.report.overlay_cases)
    _write_own(folder.cases, _records_csv(recs))
    for name in CHECKPOINTS:
        path = folder.cases_of(name)
        if name == other_name and other_recs:
            _write_own(path, _records_csv(other_recs))
        else:  # this comparison's own file from an earlier setting: no longer true
            path.unlink(missing_ok=True)
    report = build_report(
        experiment,
        ReportInputs(
            results=results,
            stats=stats,
            table_md=to_markdown(header, cells),
            table_html=to_html(header, cells),
            findings=lines,
            convergence=convergence,
            gradient_rows=gradient_rows,
            panels=panels,
            wall_seconds=time.perf_counter() - started,
            unit=unit,
            other_table_md=other_table[0] if other_table else None,
            other_table_html=other_table[1] if other_table else None,
            screening=screening,
        ),
    )
    record_written(report.figure_paths, WRITTEN_BY)
    md, page = report.write(folder)
    record_written([md, page], WRITTEN_BY)
    return CompareOutput(
        md,
        page,
        to_text(header, cells),
        lines,
        stats,
        recs,
        gradient_rows,
        outcomes,
        other_stats,
        other_recs,
        screening,
    )
