"""The lesion screening section of a comparison report (``report.lesion: true``).

What a screening reader asks first, per loss, at each reported checkpoint (computed from
each run's evaluation: ``cases.csv``, the summary's ``pixel_level`` and ``lesions.csv``):

* **pooled scores per run**, per class: the AUPR of the pooled pixels, the pooled Dice, and
  the lesion F1, recall and precision and the false-positive lesions per lesion-free
  image, each over every lesion of the run's validation images
  (:class:`~boundaryloss.metrics.screening.LesionTally`); shown as mean ± std over seeds
  with each seed's value. Against the reference loss, seed ``s`` is paired with seed
  ``s``: the per-seed differences and their sign are shown, and the paired permutation
  test over seeds only where it can reach ``alpha`` (with ``n`` seeds it cannot give
  ``p < 2 / 2**n``, 0.25 for 3 seeds: :func:`minimum_pvalue`);
* **per-image Dice** over all validation images and over the images whose reference
  contains the class (mean ± std over (image, seed) pairs);
* **empty predictions**: the images where a run predicts no foreground of any class, and
  whether it does so on every image (a collapsed run);
* **lesion recall by size**: the reference lesions' size tertiles (edges from every
  validation reference lesion of the class, the same for every loss; sizes in mm³ or mm²
  for spacing in mm, voxel or pixel counts otherwise), recall per tertile, mean over
  seeds, with the lesion count per tertile;
* **probability spread**: the share of pixels left undecided and of lesion pixels given
  a near-zero probability (:mod:`.probability_spread`), which explains an AUPR that falls
  while the Dice holds.

Undefined values (a recall without reference lesions, a false-positive rate without a
lesion-free image, an AUPR without reference pixels) are NaN and shown as "n/a", never
averaged away.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..metrics.precision_recall import SCORE_BINS, histogram_average_precision
from ..metrics.screening import size_tertiles
from ..stats import paired_permutation_test, paired_pooled_permutation_test
from .probability_spread import SPREAD_SCORES, run_spread
from .report import Report, Table, simple_table
from .results import Evaluation, RunResult
from .table import Cell, MetricStats, to_html, to_markdown

#: Pooled per-run scores: key, header, digits, higher is better.
POOLED_SCORES = (
    ("aupr", "AUPR", 3, True),
    ("pooled_dice", "pooled Dice", 3, True),
    ("lesion_f1", "lesion F1", 3, True),
    ("lesion_recall", "lesion recall", 3, True),
    ("lesion_precision", "lesion precision", 3, True),
    ("false_lesions_per_free_case", "false lesions per lesion-free image", 2, False),
)
#: The pooled scores compared with the reference loss seed by seed.
COMPARED_SCORES = ("aupr", "pooled_dice", "lesion_f1")
#: How the report writes each lesion size unit of :mod:`~boundaryloss.evaluation.lesion_file`.
SIZE_UNIT_NAMES = {"mm3": "mm³", "mm2": "mm²", "voxels": "voxels", "pixels": "pixels"}
NO_FREE_IMAGE = "n/a (no lesion-free image in the split)"


@dataclass(frozen=True)
class SeedValues:
    """One score of one loss: a value per seed (NaN where it is undefined)."""

    seeds: tuple[int, ...]
    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        """Mean over the seeds with a value; NaN when none has one."""
        finite = [v for v in self.values if not math.isnan(v)]
        return float(np.mean(finite)) if finite else math.nan

    @property
    def std(self) -> float:
        """Population std over the seeds with a value; NaN when none has one."""
        finite = [v for v in self.values if not math.isnan(v)]
        return float(np.std(finite)) if finite else math.nan


@dataclass(frozen=True)
class SeedComparison:
    """A loss against the reference, seed ``s`` paired with seed ``s``.

    ``differences`` are ``mine - reference`` per paired seed; ``pvalue`` is that of the
    paired permutation test over seeds, ``None`` where it cannot reach ``alpha``
    (:func:`minimum_pvalue`) or a value is undefined; ``image_pvalue`` that of the paired
    permutation test over the validation images (:func:`image_pvalue`), ``None`` for a
    score it is not computed for (:data:`IMAGE_TESTED`) or an undefined one.
    """

    differences: tuple[float, ...]
    pvalue: float | None
    image_pvalue: float | None = None

    @property
    def higher(self) -> int:
        return sum(d > 0 for d in self.differences)

    @property
    def lower(self) -> int:
        return sum(d < 0 for d in self.differences)


@dataclass
class CheckpointScreening:
    """The lesion screening scores of every loss at one checkpoint.

    Attributes:
        checkpoint: ``best`` or ``last``.
        classes: the foreground classes.
        images: the number of validation images (N).
        lesion_images: per class, the images whose reference contains it (M).
        free_images: per class, the images whose reference does not.
        pooled: ``{(loss, class): {score: SeedValues}}`` (:data:`POOLED_SCORES`).
        compared: ``{(loss, class): {score: SeedComparison}}`` for every loss but the
            reference (:data:`COMPARED_SCORES`).
        image_dice: ``{(loss, class): (all images, images with a lesion)}``: mean ± std
            over (image, seed) pairs of the per-image Dice.
        empty: ``{loss: SeedValues}``, the images with no predicted foreground per seed.
        size_edges: per class, the tertile edges of the reference lesions' sizes (``None``
            for a class without reference lesions).
        size_counts: per class, the reference lesions in each tertile.
        size_recall: ``{(loss, class): [SeedValues per tertile]}``.
        size_unit: the unit of the sizes (``lesions.csv``'s ``size_unit``).
        spread: ``{(loss, class): {share: SeedValues}}`` (:data:`~.probability_spread.
            SPREAD_SCORES`, 0-1; NaN without score histograms).
    """

    checkpoint: str
    classes: list[int]
    images: int
    lesion_images: dict[int, int] = field(default_factory=dict)
    free_images: dict[int, int] = field(default_factory=dict)
    pooled: dict[tuple[str, int], dict[str, SeedValues]] = field(default_factory=dict)
    compared: dict[tuple[str, int], dict[str, SeedComparison]] = field(default_factory=dict)
    image_dice: dict[tuple[str, int], tuple[MetricStats, MetricStats]] = field(default_factory=dict)
    empty: dict[str, SeedValues] = field(default_factory=dict)
    size_edges: dict[int, list[float] | None] = field(default_factory=dict)
    size_counts: dict[int, list[int]] = field(default_factory=dict)
    size_recall: dict[tuple[str, int], list[SeedValues]] = field(default_factory=dict)
    size_unit: str | None = None
    spread: dict[tuple[str, int], dict[str, SeedValues]] = field(default_factory=dict)


def minimum_pvalue(seeds: int) -> float:
    """The smallest p-value a paired permutation test over ``seeds`` pairs can give:
    ``2 / 2**seeds`` (all signs equal, either way), 0.25 for 3 seeds."""
    return 2.0 / 2.0**seeds if seeds > 0 else 1.0


def _cases(evaluation: Evaluation) -> list[str]:
    return sorted({row["case"] for row in evaluation.rows})


def run_scores(evaluation: Evaluation, classes: Sequence[int]) -> dict[int, dict[str, float]]:
    """The pooled scores (:data:`POOLED_SCORES`) of one run's evaluation, per class.

    Raises:
        ValueError: the evaluation has no lesion list (not a lesion evaluation).
    """
    if evaluation.lesions is None:
        raise ValueError("the lesion report needs lesion evaluations (lesions.csv)")
    cases = _cases(evaluation)
    out = {}
    for cls in classes:
        tally = evaluation.lesions.tally(cases, cls)
        pixels = evaluation.pixel_level.get(cls, {})
        out[cls] = {
            "aupr": float(pixels.get("aupr", math.nan)),
            "pooled_dice": float(pixels.get("dice", math.nan)),
            "lesion_f1": tally.f1(),
            "lesion_recall": tally.recall(),
            "lesion_precision": tally.precision(),
            "false_lesions_per_free_case": tally.false_lesions_per_free_case(),
        }
    return out


def compare_seeds(
    mine: SeedValues, reference: SeedValues, alpha: float, n_permutations: int
) -> SeedComparison:
    """``mine`` against ``reference``, paired by seed; the permutation test only where
    ``n`` paired seeds allow ``p < alpha`` (:func:`minimum_pvalue`) and every value is
    defined."""
    theirs = dict(zip(reference.seeds, reference.values, strict=True))
    pairs = [(v, theirs[s]) for s, v in zip(mine.seeds, mine.values, strict=True) if s in theirs]
    pairs = [(a, b) for a, b in pairs if not (math.isnan(a) or math.isnan(b))]
    differences = tuple(a - b for a, b in pairs)
    pvalue = None
    if pairs and minimum_pvalue(len(pairs)) < alpha:
        a, b = zip(*pairs, strict=True)
        pvalue = paired_permutation_test(a, b, n_permutations=n_permutations, seed=0).pvalue
    return SeedComparison(differences, pvalue)


#: Scores tested over images: their per-image counts (:func:`image_counts`) and the
#: pooled score of summed counts (:func:`_pooled_from_counts`).
IMAGE_TESTED = ("aupr", "pooled_dice", "lesion_f1")


def image_counts(evaluation: Evaluation, cls: int, key: str, cases: Sequence[str]) -> np.ndarray:
    """What each image contributes to a pooled score: for ``aupr`` its histograms of
    positive and negative probabilities, ``(len(cases), 2, bins)``
    (``score_histograms.csv``); for ``pooled_dice`` its true-positive, predicted and
    reference pixels inside the field of view, ``(len(cases), 3)`` (``cases.csv``); for
    ``lesion_f1`` its detected reference lesions, reference lesions, true predicted
    lesions and predicted lesions, ``(len(cases), 4)`` (``lesions.csv``)."""
    if key == "aupr":
        histograms = evaluation.histograms
        bins = next(iter(histograms.values())).shape[1]
        empty = np.zeros((2, bins), dtype=np.int64)
        return np.stack([histograms.get((case, cls), empty) for case in cases]).astype(float)
    if key == "pooled_dice":
        rows = {row["case"]: row for row in evaluation.rows if row["class"] == cls}
        fields = ("tp_voxels", "pred_voxels", "ref_voxels")
        return np.array([[float(rows[case][f]) for f in fields] for case in cases])
    out = []
    for case in cases:
        tally = evaluation.lesions.tally([case], cls)
        out.append([tally.detected, tally.ref_lesions, tally.true_pred, tally.pred_lesions])
    return np.array(out, dtype=float)


def _pooled_from_counts(key: str, totals: np.ndarray) -> np.ndarray:
    """The pooled score of summed contributions (:func:`image_counts`: ``(..., 2, bins)``
    histograms for AUPR, ``(..., 3)`` or ``(..., 4)`` counts), with the conventions of
    the pooled scores: Dice 1 when neither has a pixel; lesion precision 0 without
    predicted lesions, F1 0 when precision and recall are."""
    if key == "aupr":
        return histogram_average_precision(totals)
    with np.errstate(divide="ignore", invalid="ignore"):
        if key == "pooled_dice":
            tp, pred, ref = np.moveaxis(totals, -1, 0)
            return np.where(pred + ref > 0, 2 * tp / (pred + ref), 1.0)
        detected, ref, true_pred, pred = np.moveaxis(totals, -1, 0)
        recall = detected / ref
        precision = np.where(pred > 0, true_pred / np.where(pred > 0, pred, 1), 0.0)
        total = precision + recall
        return np.where(total > 0, 2 * precision * recall / np.where(total > 0, total, 1), 0.0)


def image_pvalue(
    mine: Sequence[Evaluation],
    reference: Sequence[Evaluation],
    cls: int,
    key: str,
    n_permutations: int,
) -> float | None:
    """p of the paired permutation test over images of the mean over seeds of a pooled
    score's difference (``mine`` and ``reference``: the evaluations of the paired seeds,
    in the same order): each image's counts, of every seed at once, are swapped between
    the two losses (:func:`~boundaryloss.stats.paired_pooled_permutation_test`). None
    when the score is undefined (no reference lesion of the class) or the evaluations
    predate the per-image counts it needs. The pooled AUPR is recomputed from the
    images' probability histograms (:func:`~boundaryloss.metrics.precision_recall.
    histogram_average_precision`, within about 1e-4 of the exact one)."""
    if not mine:
        return None
    cases = _cases(mine[0])
    if key == "pooled_dice" and not all(
        "tp_voxels" in row for e in (*mine, *reference) for row in e.rows
    ):
        return None  # evaluations from before the true positives were written
    if key == "aupr" and not all(e.histograms for e in (*mine, *reference)):
        return None  # no probabilities, or evaluations from before the histograms
    a = np.stack([image_counts(e, cls, key, cases) for e in mine], axis=1)  # (n, seeds, k)
    b = np.stack([image_counts(e, cls, key, cases) for e in reference], axis=1)
    references = a[..., 0, :] if key == "aupr" else a[..., 1]  # lesion pixels, lesions
    if key != "pooled_dice" and not references.sum():
        return None  # no reference lesion of the class: the score is undefined

    def difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:  # (..., seeds, k)
        return (_pooled_from_counts(key, x) - _pooled_from_counts(key, y)).mean(axis=-1)

    return paired_pooled_permutation_test(difference, a, b, n_permutations, seed=0).pvalue


def _stats(values: Sequence[float]) -> MetricStats:
    array = np.asarray(values, dtype=float)
    if not array.size:
        return MetricStats(math.nan, math.nan, 0)
    return MetricStats(float(array.mean()), float(array.std()), int(array.size))


def screen(
    results: Sequence[RunResult],
    losses: Sequence[str],
    reference: str,
    checkpoint: str,
    alpha: float = 0.05,
    n_permutations: int = 10000,
) -> CheckpointScreening:
    """Every score of the lesion screening section at ``checkpoint``.

    Args:
        results: the runs, each with its evaluation of ``checkpoint`` (lesion evaluations).
        losses: loss names in report order.
        reference: the loss the others are compared with.

    Raises:
        ValueError: a run without that checkpoint's lesion evaluation.
    """
    missing = [f"{r.loss} seed {r.seed}" for r in results if checkpoint not in r.evaluations]
    if missing:
        raise ValueError(f"no evaluation of the '{checkpoint}' checkpoint: {missing[:3]}")
    first = results[0].evaluations[checkpoint]
    classes = sorted({row["class"] for row in first.rows})
    cases = _cases(first)
    out = CheckpointScreening(checkpoint, classes, len(cases))
    for cls in classes:
        with_lesion = {
            row["case"] for row in first.rows if row["class"] == cls and row["ref_voxels"]
        }
        out.lesion_images[cls] = len(with_lesion)
        out.free_images[cls] = len(cases) - len(with_lesion)
    per_run = {(r.loss, r.seed): run_scores(r.evaluations[checkpoint], classes) for r in results}
    _add_pooled(out, results, losses, per_run)
    for loss in losses:
        if loss == reference:
            continue
        paired = _paired_evaluations(results, loss, reference, checkpoint)
        for cls in classes:
            mine, theirs = out.pooled[(loss, cls)], out.pooled[(reference, cls)]
            compared = {}
            for key in COMPARED_SCORES:
                comparison = compare_seeds(mine[key], theirs[key], alpha, n_permutations)
                if key in IMAGE_TESTED:
                    p = image_pvalue(*paired, cls, key, n_permutations)
                    comparison = dataclasses.replace(comparison, image_pvalue=p)
                compared[key] = comparison
            out.compared[(loss, cls)] = compared
    _add_image_dice(out, results, losses, checkpoint)
    _add_empty(out, results, losses, checkpoint)
    _add_sizes(out, results, losses, checkpoint)
    _add_spread(out, results, losses, checkpoint)
    return out


def _paired_evaluations(
    results: Sequence[RunResult], loss: str, reference: str, checkpoint: str
) -> tuple[list[Evaluation], list[Evaluation]]:
    """The evaluations of ``loss`` and ``reference`` at ``checkpoint`` of the seeds both
    have, in seed order."""
    theirs = {r.seed: r for r in _runs_of(results, reference)}
    mine = [r for r in _runs_of(results, loss) if r.seed in theirs]
    return (
        [r.evaluations[checkpoint] for r in mine],
        [theirs[r.seed].evaluations[checkpoint] for r in mine],
    )


def _runs_of(results: Sequence[RunResult], loss: str) -> list[RunResult]:
    """The runs of ``loss`` in seed order."""
    return sorted((r for r in results if r.loss == loss), key=lambda r: r.seed)


def _seeds(runs: Sequence[RunResult]) -> tuple[int, ...]:
    return tuple(r.seed for r in runs)


def _add_pooled(out, results, losses, per_run) -> None:
    for loss in losses:
        mine = _runs_of(results, loss)
        for cls in out.classes:
            out.pooled[(loss, cls)] = {
                key: SeedValues(
                    _seeds(mine), tuple(per_run[(r.loss, r.seed)][cls][key] for r in mine)
                )
                for key, *_ in POOLED_SCORES
            }


def _add_image_dice(out, results, losses, checkpoint) -> None:
    for loss in losses:
        rows = [row for r in results if r.loss == loss for row in r.evaluations[checkpoint].rows]
        for cls in out.classes:
            mine = [row for row in rows if row["class"] == cls]
            out.image_dice[(loss, cls)] = (
                _stats([row["dice"] for row in mine]),
                _stats([row["dice"] for row in mine if row["ref_voxels"]]),
            )


def empty_predictions(evaluation: Evaluation) -> int:
    """The images of an evaluation where no foreground class is predicted at all."""
    foreground: dict[str, int] = {}
    for row in evaluation.rows:
        foreground[row["case"]] = foreground.get(row["case"], 0) + row["pred_voxels"]
    return sum(count == 0 for count in foreground.values())


def _add_empty(out, results, losses, checkpoint) -> None:
    for loss in losses:
        mine = _runs_of(results, loss)
        out.empty[loss] = SeedValues(
            _seeds(mine),
            tuple(float(empty_predictions(r.evaluations[checkpoint])) for r in mine),
        )


def _add_sizes(out, results, losses, checkpoint) -> None:
    # The reference lesions are the same in every run (the runs share the split).
    first = results[0].evaluations[checkpoint]
    out.size_unit = first.lesions.unit
    cases = _cases(first)
    for cls in out.classes:
        sizes = first.lesions.tally(cases, cls).ref_sizes
        if not sizes:
            out.size_edges[cls], out.size_counts[cls] = None, []
            continue
        edges = size_tertiles(sizes)
        out.size_edges[cls] = edges
        for loss in losses:
            mine = _runs_of(results, loss)
            bins = [
                r.evaluations[checkpoint].lesions.tally(cases, cls).recall_by_size(edges)
                for r in mine
            ]
            out.size_counts[cls] = [n for _, n in bins[0]]
            out.size_recall[(loss, cls)] = [
                SeedValues(_seeds(mine), tuple(run[i][0] for run in bins))
                for i in range(len(edges) - 1)
            ]


def _add_spread(out, results, losses, checkpoint) -> None:
    for loss in losses:
        mine = _runs_of(results, loss)
        shares = [run_spread(r.evaluations[checkpoint], out.classes) for r in mine]
        for cls in out.classes:
            out.spread[(loss, cls)] = {
                key: SeedValues(_seeds(mine), tuple(run[cls][key] for run in shares))
                for key, *_ in SPREAD_SCORES
            }


# ---------------------------------------------------------------------------- rendering


def _number(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def seed_text(values: SeedValues, digits: int, undefined: str = "n/a") -> str:
    """``mean ± std (seed values)``; the value alone for one seed; ``undefined`` when no
    seed has a value."""
    if math.isnan(values.mean):
        return undefined
    if len(values.values) == 1:
        return _number(values.values[0], digits)
    each = ", ".join(_number(v, digits) for v in values.values)
    return f"{values.mean:.{digits}f} ± {values.std:.{digits}f} ({each})"


def comparison_text(comparison: SeedComparison, digits: int) -> str:
    """Per-seed differences, their sign across seeds and, where tested, the p-value."""
    n = len(comparison.differences)
    if not n:
        return "n/a"
    each = ", ".join(f"{d:+.{digits}f}" for d in comparison.differences)
    text = f"{each} (higher in {comparison.higher}, lower in {comparison.lower} of {n} seeds)"
    if comparison.pvalue is not None:
        text += f"; p = {comparison.pvalue:.3g}"
    if comparison.image_pvalue is not None:
        text += f"; over images p = {comparison.image_pvalue:.3g}"
    return text


def _best(values: list[float], higher: bool) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return None
    return max(finite) if higher else min(finite)


def pooled_table(s: CheckpointScreening, losses: Sequence[str]) -> Table:
    """Loss and class per row, the pooled scores per column (best mean per class bold)."""
    header = ["loss", "class", *(title for _, title, _, _ in POOLED_SCORES)]
    rows: list[list[Cell]] = []
    for cls in s.classes:
        block = [[Cell(loss), Cell(str(cls))] for loss in losses]
        for key, _, digits, higher in POOLED_SCORES:
            shown = [round(s.pooled[(loss, cls)][key].mean, digits) for loss in losses]
            best = _best(shown, higher)
            undefined = NO_FREE_IMAGE if key == "false_lesions_per_free_case" else "n/a"
            for row, loss, value in zip(block, losses, shown, strict=True):
                text = seed_text(s.pooled[(loss, cls)][key], digits, undefined)
                bold = best is not None and value == best and len(losses) > 1
                row.append(Cell(text, bold=bold))
        rows += block
    return Table(to_markdown(header, rows), to_html(header, rows))


def comparison_table(s: CheckpointScreening, losses: Sequence[str], reference: str) -> Table:
    """Per-seed differences from the reference of :data:`COMPARED_SCORES`."""
    titles = {key: (title, digits) for key, title, digits, _ in POOLED_SCORES}
    header = ["loss", "class", *(f"{titles[key][0]} − {reference}" for key in COMPARED_SCORES)]
    rows = []
    for cls in s.classes:
        for loss in losses:
            if loss == reference:
                continue
            compared = s.compared[(loss, cls)]
            rows.append(
                [
                    loss,
                    str(cls),
                    *(comparison_text(compared[key], titles[key][1]) for key in COMPARED_SCORES),
                ]
            )
    return simple_table(header, rows)


def image_dice_table(s: CheckpointScreening, losses: Sequence[str]) -> Table:
    """Per-image Dice over all images and over the images with a lesion of the class."""
    header = [
        "loss",
        "class",
        f"Dice, mean over all {s.images} images",
        "images with a lesion",
        "Dice, mean over the images with a lesion",
    ]
    rows = []
    for cls in s.classes:
        for loss in losses:
            every, lesion = s.image_dice[(loss, cls)]
            rows.append(
                [
                    loss,
                    str(cls),
                    f"{_number(every.mean, 3)} ± {_number(every.std, 3)}",
                    f"{s.lesion_images[cls]} of {s.images}",
                    (
                        f"{lesion.mean:.3f} ± {lesion.std:.3f}"
                        if lesion.n
                        else "n/a (no image with a lesion)"
                    ),
                ]
            )
    return simple_table(header, rows)


def collapse_lines(s: CheckpointScreening, losses: Sequence[str]) -> list[str]:
    """One sentence per loss on its empty predictions, then whether any loss collapsed
    (predicted no foreground on every validation image)."""
    lines, collapsed = [], []
    for loss in losses:
        empty = s.empty[loss]
        n = len(empty.values)
        full = [seed for seed, v in zip(empty.seeds, empty.values, strict=True) if v == s.images]
        counts = " / ".join(f"{int(v)}" for v in empty.values)
        seeds = " / ".join(str(seed) for seed in empty.seeds)
        text = (
            f"{loss}: an empty prediction (no foreground at all) on {counts} of the "
            f"{s.images} validation images (seed{'s' if n > 1 else ''} {seeds})"
        )
        if full:
            collapsed.append(f"{loss} ({len(full)} of {n} seed{'s' if n > 1 else ''})")
            which = (
                "every seed"
                if len(full) == n
                else f"seed{'s' if len(full) > 1 else ''} {', '.join(map(str, full))}"
            )
            text += f": collapsed (empty on every image) in {which}"
        lines.append(text + ".")
    if collapsed:
        lines.append(
            "Collapsed to an empty prediction on every validation image: "
            + ", ".join(collapsed)
            + "."
        )
    else:
        lines.append("No loss collapsed: every run predicted foreground on some image.")
    return lines


def _size(value: float) -> str:
    return f"{value:.4g}"


def size_tables(s: CheckpointScreening, losses: Sequence[str]) -> list[tuple[int, Table | None]]:
    """Per class, the recall per size tertile per loss (``None``: no reference lesion)."""
    unit = SIZE_UNIT_NAMES.get(s.size_unit or "", s.size_unit or "")
    out: list[tuple[int, Table | None]] = []
    for cls in s.classes:
        edges = s.size_edges[cls]
        if edges is None:
            out.append((cls, None))
            continue
        header = ["loss"]
        for i, count in enumerate(s.size_counts[cls]):
            left = "[" if i == 0 else "("
            header.append(
                f"{left}{_size(edges[i])}, {_size(edges[i + 1])}] {unit}: "
                f"{count} lesion{'' if count == 1 else 's'}"
            )
        rows = [[loss, *(seed_text(v, 3) for v in s.size_recall[(loss, cls)])] for loss in losses]
        out.append((cls, simple_table(header, rows)))
    return out


def spread_table(s: CheckpointScreening, losses: Sequence[str]) -> Table | None:
    """Per loss and class, the shares of :data:`~.probability_spread.SPREAD_SCORES` in
    percent (``None`` when no run has score histograms)."""
    values = [v for shares in s.spread.values() for v in shares.values()]
    if not any(not math.isnan(x) for v in values for x in v.values):
        return None
    header = ["loss", "class", *(f"{title} (%)" for _, title, *_ in SPREAD_SCORES)]
    rows = []
    for cls in s.classes:
        for loss in losses:
            shares = s.spread[(loss, cls)]
            percent = {
                key: SeedValues(v.seeds, tuple(100 * x for x in v.values))
                for key, v in shares.items()
            }
            rows.append(
                [loss, str(cls), *(seed_text(percent[key], 2) for key, *_ in SPREAD_SCORES)]
            )
    return simple_table(header, rows)


def _image_sentence(images: int, n_permutations: int) -> str:
    exact = (
        f"exact over the 2^{images} patterns"
        if 2**images <= n_permutations
        else f"{n_permutations} random patterns"
    )
    return (
        f"'over images p': the paired permutation test over the {images} validation "
        "images: each image's predictions (of every seed at once) are swapped between the "
        "two losses, and the pooled scores' mean difference over seeds is recomputed "
        f"({exact}; the AUPR from each image's probability histogram of "
        f"{SCORE_BINS} bins, within about 1e-4 of the exact AUPR)."
    )


def _seed_sentence(seeds: int, reference: str, alpha: float, n_permutations: int) -> str:
    floor = minimum_pvalue(seeds)
    if floor >= alpha:
        return (
            f"Against {reference}, seed s of a loss is paired with seed s of {reference}. "
            f"With {seeds} seed{'s' if seeds != 1 else ''} a paired permutation test over "
            f"seeds cannot give p below 2/2^{seeds} = {floor:g}, so no p-value is given: "
            "the differences are reported per seed, with their sign across seeds."
        )
    exact = "exact" if 2**seeds <= n_permutations else f"{n_permutations} random sign flips"
    return (
        f"Against {reference}, seed s of a loss is paired with seed s of {reference}: the "
        f"differences per seed, their sign across seeds, and p of the paired permutation "
        f"test over the {seeds} seeds ({exact}; it cannot go below 2/2^{seeds} = {floor:.3g})."
    )


def add_section(
    report: Report,
    s: CheckpointScreening,
    losses: Sequence[str],
    reference: str,
    seeds: int,
    alpha: float,
    n_permutations: int,
    title: str,
    explain: bool = True,
) -> None:
    """Append the lesion screening section of one checkpoint to ``report``.

    Args:
        title: the section heading.
        explain: write out what every table shows (the first section); later sections
            refer to it.
    """
    report.heading(title)
    over_seeds = (
        f"mean ± std over the {seeds} seeds (population std), then each seed's value in seed order"
        if seeds > 1
        else "one seed"
    )
    if explain:
        report.paragraph(
            "AUPR: area under the precision-recall curve of the pixels' probabilities "
            "(inside the field of view where a case has one; how the IDRiD challenge ranks "
            "lesion segmentation), n/a for a class no reference holds. Pooled Dice: the "
            "Dice of the pixel counts summed over the images. Lesion recall: detected "
            "reference lesions / reference lesions; lesion precision: predicted lesions "
            "touching the reference / predicted lesions; lesion F1: their harmonic mean. "
            "False lesions per lesion-free image: predicted lesions in the images whose "
            "reference has no lesion of the class / the number of such images. Lesions are "
            "connected components (8-connected in 2D, 26 in 3D), detected by one "
            "overlapping voxel. Bold: best mean per class. Each run's lesions are listed "
            "in lesions.csv of its evaluation."
        )
    report.paragraph(
        f"Pooled over all pixels (AUPR, pooled Dice) and all lesions (lesion scores) of the "
        f"{s.images} validation images of each run, at each run's '{s.checkpoint}' "
        f"checkpoint; {over_seeds}."
    )
    free = ", ".join(f"class {c}: {s.free_images[c]}" for c in s.classes)
    report.paragraph(f"Lesion-free validation images (reference without the class): {free}.")
    report.table(pooled_table(s, losses))
    if len(losses) > 1:
        report.paragraph(
            _seed_sentence(seeds, reference, alpha, n_permutations)
            + " "
            + _image_sentence(s.images, n_permutations)
        )
        report.table(comparison_table(s, losses, reference))
    with_lesion = ", ".join(f"class {c}: {s.lesion_images[c]}" for c in s.classes)
    report.paragraph(
        f"Per-image Dice, mean ± std over (image, seed) pairs: over all {s.images} "
        f"validation images, and over the images whose reference contains the class "
        f"({with_lesion}). An image without the class scores 1 when the prediction has "
        "none of it and 0 otherwise, which the all-images mean mixes in."
    )
    report.table(image_dice_table(s, losses))
    report.paragraph(
        "Empty predictions: validation images on which a run predicts no foreground of any "
        "class. A run that does so on every image has collapsed (both boundary-loss papers "
        "report this for the boundary loss used alone)."
    )
    report.bullets(collapse_lines(s, losses))
    unit = SIZE_UNIT_NAMES.get(s.size_unit or "", s.size_unit or "")
    in_unit = f" (in {unit})" if unit else ""
    report.paragraph(
        f"Lesion recall by size: the reference lesions' sizes{in_unit} split at their "
        "tertiles, computed from every reference lesion of the class in the validation "
        "images, the same edges for every loss and seed (the first bin closed on both "
        "sides, the others open on the left; with many lesions of one size edges coincide "
        f"and a bin may be empty). Recall: detected / lesions in the bin, {over_seeds}."
    )
    for cls, table in size_tables(s, losses):
        if table is None:
            report.paragraph(f"Class {cls}: no reference lesion in the validation images.")
        else:
            report.paragraph(f"Class {cls}:")
            report.table(table)
    spread = spread_table(s, losses)
    if spread is not None:
        report.paragraph(
            "Probability spread, pooled over the validation images' pixels (inside the "
            f"field of view), {over_seeds}: the share of all pixels whose probability of "
            "the class is undecided (0.01 ≤ p < 0.99), and of the class's reference "
            "(lesion) pixels given p < 0.01 and p ≥ 0.5 (for two classes, the pixel "
            "recall of the label map). The AUPR ranks pixels by probability: a loss that "
            "pushes probabilities to 0 or 1 leaves the lesion pixels it gives p < 0.01 "
            "among nearly all of the background, so its AUPR falls even where its Dice "
            "holds. From each run's score histograms (thresholds taken to the bin edge at "
            f"or above them: 0.01 as {math.ceil(0.01 * SCORE_BINS)}/{SCORE_BINS})."
        )
        report.table(spread)
