"""``boundaryloss evaluate RUN_DIR``: per-case, per-class metrics of a trained run."""

from __future__ import annotations

import argparse
import math
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="evaluate a trained run", description=__doc__)
    parser.add_argument("run_dir", help="the run directory written by 'boundaryloss train'")
    parser.add_argument("--data", help="dataset root to evaluate on (default: the run's)")
    parser.add_argument("--checkpoint", default="best", help="best, last, or a checkpoint path")
    parser.add_argument("--split", default="val", choices=("val", "all"))
    parser.add_argument("--output", help="output folder (default RUN_DIR/evaluation)")
    parser.add_argument(
        "--missing",
        default="inf",
        choices=("inf", "nan", "diagonal"),
        help="distance reported for a missed structure",
    )
    parser.set_defaults(handler=run)


def _fmt(value: float) -> str:
    return "inf" if math.isinf(value) else "nan" if math.isnan(value) else f"{value:.4f}"


def run(args: argparse.Namespace) -> int:
    from ..training.evaluate import evaluate_run

    summary = evaluate_run(
        args.run_dir,
        args.data,
        args.checkpoint,
        args.split,
        args.output,
        args.missing,
        progress=lambda line: print(line, file=sys.stderr),
    )
    print(f"{summary['num_cases']} cases, checkpoint {summary['checkpoint']}")
    for metric, per_class in summary["metrics"].items():
        for cls, stats in per_class.items():
            print(
                f"{metric:>9} class {cls}: mean {_fmt(stats['mean'])}  std {_fmt(stats['std'])}  "
                f"median {_fmt(stats['median'])}  missed {stats['n_missed']}  "
                f"both-empty {stats['n_both_empty']}"
            )
    return 0
