"""``boundaryloss evaluate-folder PRED_DIR REF_DIR``: score predictions made by any tool.

Cases are matched by file name (without .nii.gz/.nii/.png/...); spacing comes from the
NIfTI headers, in mm; 2D images have none, so their distances, --nsd-tolerance and
lesion volume differences are in pixels. Prints per-image (mean over cases, with a 95 %
bootstrap confidence interval) and pixel-level (pooled) aggregates; with --output
FILE.csv writes the per-case, per-class table there and the summary to FILE.json (a
FILE.json it did not write is refused, not replaced), as a pair: a failure leaves the
previous pair as it was. Nothing is written inside PRED_DIR or REF_DIR unless --output
points there; PRED_DIR may not be REF_DIR. --workers N scores cases in N processes.

Probability maps in PRED_DIR (CASE.probabilities.nii.gz or CASE.probabilities.npz, as
'predict --probabilities' writes them; channel c = label c) add the area under the
precision-recall curve of the pixels pooled over every case (aupr, per label, inside
the masks). The other metrics score the label map beside each probability map, or,
without one, the argmax over the classes (for two classes: foreground above 0.5).
Every case needs a probability map, or none does.
"""

from __future__ import annotations

import argparse
import math
import sys

from .._units import MILLIMETRES, PIXELS
from ..metrics._empty import EMPTY_OPTIONS, MISSING_OPTIONS
from ..metrics.evaluator import DISTANCE_METRICS, METRICS
from ._options import refuse_unused
from .evaluate import screening_lines


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate-folder",
        help="evaluate a folder of predictions against a folder of references",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "pred_dir", metavar="PRED_DIR", help="predicted label maps and/or probability maps"
    )
    parser.add_argument("ref_dir", metavar="REF_DIR", help="reference label maps")
    parser.add_argument(
        "--mask-dir", help="field-of-view masks (same case ids); evaluate inside them only"
    )
    parser.add_argument(
        "--labels",
        nargs="+",
        type=int,
        default=[1],
        metavar="LABEL",
        help="foreground label values to evaluate (default: 1)",
    )
    parser.add_argument("--output", metavar="FILE.csv", help="per-case CSV (summary: FILE.json)")
    parser.add_argument(
        "--metrics",
        nargs="+",
        choices=METRICS,
        metavar="METRIC",
        help="metrics (default: dice jaccard precision recall specificity accuracy hd95 assd)",
    )
    parser.add_argument(
        "--lesion",
        action="store_true",
        help="add lesion-wise metrics: lesion counts, recall, precision, F1, count and "
        "volume differences (WMH 2017 / ISLES 2022 definitions; the absolute volume "
        "difference in ml for 3D NIfTI files, as a pixel count for 2D images)",
    )
    parser.add_argument(
        "--connectivity",
        type=int,
        choices=(4, 8, 6, 18, 26),
        help="lesion connectivity (default: full, 8 in 2D / 26 in 3D)",
    )
    parser.add_argument(
        "--lesion-f1",
        choices=("wmh", "isles"),
        help="lesion F1: harmonic mean of lesion precision and recall (wmh, default) or "
        "2TP/(2TP+FP+FN) (isles)",
    )
    parser.add_argument(
        "--ignore-label",
        type=int,
        help="reference label left out of the evaluation (WMH 2017: 2, other pathology)",
    )
    parser.add_argument(
        "--id-regex",
        help="regular expression whose first group is the case id (default: whole name)",
    )
    parser.add_argument(
        "--nsd-tolerance",
        type=float,
        help="NSD tolerance for 'nsd', in the unit of the distances: mm for NIfTI files, "
        "pixels for 2D images",
    )
    parser.add_argument(
        "--missing",
        choices=MISSING_OPTIONS,
        help="distance reported for a missed structure (default inf; only with hd, hd95 "
        "or assd in --metrics)",
    )
    parser.add_argument("--empty", default="perfect", choices=EMPTY_OPTIONS)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="processes scoring cases in parallel (default 1); same results, same order",
    )
    parser.set_defaults(handler=run)


#: How the summary's ``spacing_unit`` is said on the console.
_SPACING = {
    MILLIMETRES: "from the NIfTI headers (mm)",
    PIXELS: "none in 2D images: distances in pixels",
}


def _fmt(value: float) -> str:
    return "inf" if math.isinf(value) else "nan" if math.isnan(value) else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    from ..evaluation.evaluate_folder import DEFAULT_METRICS, evaluate_folder
    from ..evaluation.pixel_level import PIXEL_SCORES
    from ..metrics import LesionOptions
    from ..metrics.lesion import ABSOLUTE_VOLUME_UNITS

    metrics = args.metrics or DEFAULT_METRICS
    refuse_unused(args, ("--connectivity", "--lesion-f1"), used=args.lesion, needs="with --lesion")
    refuse_unused(
        args, ("--nsd-tolerance",), used="nsd" in metrics, needs="with 'nsd' in --metrics"
    )
    refuse_unused(
        args,
        ("--missing",),
        used=any(m in DISTANCE_METRICS for m in metrics),
        needs=f"with a distance ({', '.join(DISTANCE_METRICS)}) in --metrics",
    )
    lesion: bool | LesionOptions = False
    if args.lesion:
        lesion = LesionOptions(connectivity=args.connectivity, f1=args.lesion_f1 or "wmh")
    result = evaluate_folder(
        args.pred_dir,
        args.ref_dir,
        mask_dir=args.mask_dir,
        labels=args.labels,
        output=args.output,
        metrics=metrics,
        id_regex=args.id_regex,
        ignore_label=args.ignore_label,
        lesion=lesion,
        missing=args.missing or "inf",
        empty=args.empty,
        nsd_tolerance=args.nsd_tolerance,
        workers=args.workers,
        progress=lambda line: print(line, file=sys.stderr),
    )
    summary = result.summary
    applied = summary["fov"]["applied"]
    fov = f"field of view from {summary['mask_dir']}" if applied else "no FOV mask"
    volume = summary["volume_difference"]
    volume_unit = f"; {volume} in {ABSOLUTE_VOLUME_UNITS[volume]}" if volume else ""
    spacing = _SPACING[summary["spacing_unit"]]
    print(f"{summary['num_cases']} cases; {fov}; spacing {spacing}{volume_unit}")
    print("per image (mean [95 % bootstrap CI] / std / median over cases):")
    for metric, per_class in summary["metrics"].items():
        for cls, stats in per_class.items():
            ci = f"[{_fmt(stats['ci_low'])}, {_fmt(stats['ci_high'])}]"
            print(
                f"  {metric:>23} class {cls}: {_fmt(stats['mean'])} {ci} / {_fmt(stats['std'])}"
                f" / {_fmt(stats['median'])}  missed {stats['n_missed']}  "
                f"spurious {stats['n_spurious']}  both-empty {stats['n_both_empty']}"
            )
    print("pixel level (voxel counts pooled over cases):")
    for cls, pooled in summary["pixel_level"].items():
        names = (*PIXEL_SCORES, "aupr") if "aupr" in pooled else PIXEL_SCORES
        print(f"  class {cls}: " + "  ".join(f"{m} {_fmt(pooled[m])}" for m in names))
    for line in screening_lines(summary):
        print(line)
    for path in result.written:
        print(f"wrote {path}")
    return 0
