"""The results table of the papers: per-class Dice and HD95, best in bold, significance.

Rules (also written into the report):

* Every (case, seed) value enters ``mean ± std`` (population std, ``ddof=0``).
* A structure present in the reference but absent from the prediction (or the other
  way round) has HD95 ``inf``. The table never averages ``inf`` away: the HD95 column
  averages *penalised* values, where a miss counts as the image diagonal, and says how
  many of the values were misses. HD95 and the diagonal are in the unit of the cases'
  spacing: mm for NIfTI data, px for 2D image files and synthetic data (the header says
  which: ``HD95 mm``, ``HD95 px``).
* Significance against the reference loss: the paired permutation test
  (:func:`~boundaryloss.stats.paired_permutation_test`) on per-case values, each case's
  value averaged over seeds, pairs matched by case id; Dice as it is (a miss is 0), HD95
  penalised as above. ``*`` marks ``p < alpha``.
* Best: highest mean Dice, lowest mean penalised HD95, compared at the shown precision
  (ties are all bold).
* Lesion-wise columns (lesion F1, recall and precision, absolute volume difference, lesion
  count difference ``|lesions(pred) - lesions(ref)|`` as ISLES 2022;
  :mod:`boundaryloss.metrics.lesion`) appear when the runs were evaluated with them (a
  lesion-like task; a column only when every run's evaluation has it). The volume
  difference is in the unit the cases' spacing allows: ``AVD ml`` for 3D cases in mm,
  ``AVD voxels`` (a voxel, in 2D pixel, count) for cases in px, none for 2D cases in mm.
  Each also shows the 95 % percentile bootstrap confidence interval
  (:func:`~boundaryloss.stats.bootstrap_ci`) of the mean over cases, each case's value
  averaged over seeds, and gets the same permutation test.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_one_of
from ..data.case import SPACING_UNITS
from ..metrics.lesion import ABSOLUTE_VOLUME_UNITS
from ..stats import bootstrap_ci, paired_permutation_test
from .results import RunResult, penalised

#: Display precision: Dice, HD95 (mm or px).
DICE_DIGITS = 3
HD_DIGITS = 2
MISSED_STATUSES = ("missed", "spurious")
#: Display precision of each absolute volume difference: ml, voxel counts.
AVD_DIGITS = {"avd_ml": 2, "avd_voxels": 1}
#: Lesion-wise columns: record key, header, digits, higher is better. The volume
#: differences are headed by their unit (``AVD ml``, ``AVD voxels``) as
#: :data:`~boundaryloss.metrics.lesion.ABSOLUTE_VOLUME_UNITS` gives it.
LESION_COLUMNS = (
    ("lesion_f1", "lesion F1", 3, True),
    ("lesion_recall", "lesion recall", 3, True),
    ("lesion_precision", "lesion precision", 3, True),
    *((key, f"AVD {unit}", AVD_DIGITS[key], False) for key, unit in ABSOLUTE_VOLUME_UNITS.items()),
    ("lesion_count_difference", "lesion count diff.", 1, False),
)
BOOTSTRAP_RESAMPLES = 10000


def records(results: Iterable[RunResult], diagonals: dict[str, float]) -> list[dict[str, Any]]:
    """Tidy per-(loss, seed, case, class) records with ``hd95_penalised`` added."""
    out = []
    for result in results:
        for row in result.rows:
            out.append(
                {
                    "loss": result.loss,
                    "seed": result.seed,
                    **row,
                    "hd95_penalised": penalised(row["hd95"], diagonals[row["case"]]),
                }
            )
    return out


@dataclass
class MetricStats:
    """Mean ± std over (case, seed) values, a p-value against the reference, misses."""

    mean: float
    std: float
    n: int
    pvalue: float | None = None
    n_missed: int = 0
    ci: tuple[float, float] | None = None


@dataclass
class LossStats:
    """Per-class statistics of one loss configuration."""

    loss: str
    dice: dict[int, MetricStats] = field(default_factory=dict)
    hd95: dict[int, MetricStats] = field(default_factory=dict)
    lesion: dict[str, dict[int, MetricStats]] = field(default_factory=dict)


def _per_case(rows: Sequence[dict[str, Any]], key: str) -> dict[str, float]:
    """Each case's value of ``key`` averaged over seeds."""
    by_case: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        by_case[row["case"]].append(row[key])
    return {case: float(np.mean(values)) for case, values in by_case.items()}


def _pvalue(
    rows: Sequence[dict[str, Any]],
    reference_rows: Sequence[dict[str, Any]],
    key: str,
    n_permutations: int,
) -> float:
    mine, theirs = _per_case(rows, key), _per_case(reference_rows, key)
    cases = sorted(set(mine) & set(theirs))
    if not cases:
        return math.nan
    a = [mine[c] for c in cases]
    b = [theirs[c] for c in cases]
    return paired_permutation_test(a, b, n_permutations=n_permutations, seed=0).pvalue


def compute_statistics(
    records: Sequence[dict[str, Any]],
    losses: Sequence[str],
    reference: str,
    n_permutations: int = 10000,
) -> list[LossStats]:
    """Per loss and foreground class: Dice and penalised HD95 statistics and p-values.

    Args:
        records: rows from :func:`records` (keys ``loss``, ``seed``, ``case``, ``class``,
            ``status``, ``dice``, ``hd95_penalised``).
        losses: loss names in table order.
        reference: the loss the others are tested against (its p-values are None).
        n_permutations: budget of the permutation test (exact when ``2**n`` fits).
    """
    classes = sorted({row["class"] for row in records})
    lesion_keys = [key for key, *_ in LESION_COLUMNS if records and all(key in r for r in records)]
    table = []
    for loss in losses:
        stats = LossStats(loss)
        stats.lesion = {key: {} for key in lesion_keys}
        for cls in classes:
            rows = [r for r in records if r["loss"] == loss and r["class"] == cls]
            ref_rows = [r for r in records if r["loss"] == reference and r["class"] == cls]
            missed = sum(r["status"] in MISSED_STATUSES for r in rows)
            targets = [("dice", stats.dice), ("hd95_penalised", stats.hd95)]
            targets += [(key, stats.lesion[key]) for key in lesion_keys]
            for key, target in targets:
                values = np.array([r[key] for r in rows], dtype=np.float64)
                pvalue = ci = None
                if loss != reference and rows:
                    pvalue = _pvalue(rows, ref_rows, key, n_permutations)
                if key in lesion_keys and rows:
                    per_case = list(_per_case(rows, key).values())
                    interval = bootstrap_ci(per_case, n_resamples=BOOTSTRAP_RESAMPLES, seed=0)
                    ci = (interval.low, interval.high)
                target[cls] = MetricStats(
                    float(values.mean()) if values.size else math.nan,
                    float(values.std()) if values.size else math.nan,
                    int(values.size),
                    pvalue,
                    missed,
                    ci,
                )
        table.append(stats)
    return table


@dataclass
class Cell:
    """A table cell: text, and whether it is the best value / significantly different."""

    text: str
    bold: bool = False
    significant: bool = False


def _best(values: list[float], higher: bool) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return None
    return max(finite) if higher else min(finite)


def build_table(
    stats: Sequence[LossStats], alpha: float = 0.05, *, unit: str
) -> tuple[list[str], list[list[Cell]]]:
    """Header and rows of cells: per class a Dice and an HD95 column (and lesion columns).

    Args:
        unit: the unit of the HD95 values, ``"mm"`` or ``"px"``
            (:func:`~boundaryloss.experiments.results.diagonals`), shown in the
            HD95 header (``HD95 px (class 1)``).
    """
    check_one_of(unit, SPACING_UNITS, "unit")
    classes = sorted(stats[0].dice) if stats else []
    columns = [("dice", "Dice", DICE_DIGITS, True), ("hd95", f"HD95 {unit}", HD_DIGITS, False)]
    if stats:
        columns += [c for c in LESION_COLUMNS if c[0] in stats[0].lesion]
    header = ["loss"]
    for cls in classes:
        header += [f"{title} (class {cls})" for _, title, _, _ in columns]
    rows: list[list[Cell]] = [[Cell(s.loss)] for s in stats]

    def column(s: LossStats, metric: str) -> dict[int, MetricStats]:
        return s.lesion[metric] if metric in s.lesion else getattr(s, metric)

    for cls in classes:
        for metric, _, digits, higher in columns:
            shown = [round(column(s, metric)[cls].mean, digits) for s in stats]
            best = _best(shown, higher)
            for row, s, value in zip(rows, stats, shown, strict=True):
                m = column(s, metric)[cls]
                text = f"{m.mean:.{digits}f} ± {m.std:.{digits}f}"
                if m.ci is not None:
                    text += f" [{m.ci[0]:.{digits}f}, {m.ci[1]:.{digits}f}]"
                if metric == "hd95" and m.n_missed:
                    text += f" ({m.n_missed}/{m.n} missed)"
                significant = m.pvalue is not None and m.pvalue < alpha
                row.append(
                    Cell(text, bold=best is not None and value == best, significant=significant)
                )
    return header, rows


def to_markdown(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """GitHub Markdown: best in ``**bold**``, significance as ``\\*``."""

    def cell(c: Cell) -> str:
        text = f"**{c.text}**" if c.bold else c.text
        return text + (" \\*" if c.significant else "")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def to_html(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """An HTML ``<table>``: best in ``<b>``, significance as ``*``."""

    def cell(c: Cell) -> str:
        text = html.escape(c.text)
        text = f"<b>{text}</b>" if c.bold else text
        return f"<td>{text}{' *' if c.significant else ''}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cell(c) for c in row) + "</tr>" for row in rows)
    return f'<table class="results"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def to_text(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """A fixed-width console table: best marked ``[..]``, significance ``*``."""

    def cell(c: Cell) -> str:
        text = f"[{c.text}]" if c.bold else c.text
        return text + (" *" if c.significant else "")

    table = [list(header)] + [[cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"
