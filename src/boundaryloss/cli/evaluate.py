"""``boundaryloss evaluate RUN_DIR``: per-case, per-class metrics of a trained run.

``--split val`` (default) scores the run's validation cases, ``all`` every case of its
training data, ``test`` the dataset's own test split (MSD/nnU-Net and prepared
datasets: imagesTs + labelsTs; DRIVE: test/; CHASE_DB1: the conventional last 8
images; STARE has none) into RUN_DIR/evaluation_test. Retinal cases are scored inside
their field of view; the summary reports per-image means and pixel-level scores, among
them the area under the precision-recall curve (aupr) of the pooled pixels'
probabilities per foreground class, as the IDRiD challenge ranks lesion segmentation.
"""

from __future__ import annotations

import argparse
import math
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a trained run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", help="the run directory written by 'boundaryloss train'")
    parser.add_argument("--data", help="dataset root to evaluate on (default: the run's)")
    parser.add_argument("--checkpoint", default="best", help="best, last, or a checkpoint path")
    parser.add_argument(
        "--split",
        default="val",
        choices=("val", "all", "test"),
        help="the run's validation cases, all its cases, or the dataset's test split",
    )
    parser.add_argument(
        "--output",
        help="output folder (default RUN_DIR/evaluation, RUN_DIR/evaluation_test for test)",
    )
    parser.add_argument(
        "--missing",
        default="inf",
        choices=("inf", "nan", "diagonal"),
        help="distance reported for a missed structure",
    )
    parser.add_argument(
        "--lesion",
        action="store_true",
        help="add lesion-wise metrics (lesion counts, recall, precision, F1, volume "
        "differences: in percent, and in ml for 3D NIfTI data or as a voxel count for "
        "2D image files and synthetic data, whose spacing is in px) and write lesions.csv "
        "(every lesion with its size and whether it is matched)",
    )
    parser.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="test-time mirroring (flip averaging); default: the run's inference.mirror",
    )
    parser.add_argument(
        "--aupr",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="pooled area under the precision-recall curve per foreground class (default "
        "on; it holds 4 bytes per scored voxel and class until the end: --no-aupr spares "
        "that on large 3D sets)",
    )
    parser.set_defaults(handler=run)


def _fmt(value: float) -> str:
    return "inf" if math.isinf(value) else "nan" if math.isnan(value) else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    from ..evaluation.evaluate_run import evaluate_run
    from ..evaluation.pixel_level import PIXEL_SCORES
    from ..metrics.lesion import ABSOLUTE_VOLUME_UNITS

    summary = evaluate_run(
        args.run_dir,
        args.data,
        args.checkpoint,
        args.split,
        args.output,
        args.missing,
        progress=lambda line: print(line, file=sys.stderr),
        lesion=args.lesion,
        mirror=args.mirror,
        aupr=args.aupr,
    )
    fov = summary["fov"]
    where = f"inside the field of view ({fov['num_cases']} cases)" if fov["applied"] else "no FOV"
    volume = summary["volume_difference"]
    volume_unit = f"; {volume} in {ABSOLUTE_VOLUME_UNITS[volume]}" if volume else ""
    print(
        f"{summary['num_cases']} cases ({summary['split']}), checkpoint "
        f"{summary['checkpoint']}, {where}; distances (hd, hd95, assd) in "
        f"{summary['spacing_unit']}{volume_unit}"
    )
    for metric, per_class in summary["metrics"].items():
        for cls, stats in per_class.items():
            print(
                f"{metric:>9} class {cls}: mean {_fmt(stats['mean'])}  std {_fmt(stats['std'])}  "
                f"median {_fmt(stats['median'])}  missed {stats['n_missed']}  "
                f"spurious {stats['n_spurious']}  both-empty {stats['n_both_empty']}"
            )
    for cls, stats in next(iter(summary["metrics"].values())).items():
        if stats["n"] and stats["n_both_empty"] == stats["n"]:
            print(
                f"warning: class {cls} is in no reference and no prediction of these cases; "
                "its scores are the empty-mask convention (Dice 1, distances 0), not a "
                "measurement",
                file=sys.stderr,
            )
    for cls, scores in summary["pixel_level"].items():
        names = (*PIXEL_SCORES, "aupr") if "aupr" in scores else PIXEL_SCORES
        pooled = "  ".join(f"{name} {_fmt(scores[name])}" for name in names)
        print(f"pixel-level class {cls}: {pooled}")
    for line in screening_lines(summary):
        print(line)
    return 0


def screening_lines(summary: dict) -> list[str]:
    """The pooled lesion scores of a summary's ``screening`` block, a line per class
    (``evaluate`` and ``evaluate-folder`` with ``--lesion``)."""
    lines = []
    for cls, scores in summary.get("screening", {}).items():
        lines.append(
            f"lesions class {cls}: pooled lesion F1 {_fmt(scores['lesion_f1'])}  recall "
            f"{_fmt(scores['lesion_recall'])} ({scores['detected_lesions']}/"
            f"{scores['reference_lesions']})  precision {_fmt(scores['lesion_precision'])}  "
            f"false lesions per lesion-free image {_fmt(scores['false_lesions_per_free_case'])} "
            f"({scores['lesion_free_cases']} such)  Dice over the {scores['lesion_cases']} "
            f"images with lesions {_fmt(scores['dice_lesion_cases'])}"
            + (
                f"  AVD over them {_fmt(scores['avd_percent_lesion_cases'])} %"
                if "avd_percent_lesion_cases" in scores
                else ""
            )
        )
    return lines
