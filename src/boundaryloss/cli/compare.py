"""``boundaryloss compare --config experiments/NAME.yaml``: train several loss
configurations on the same data and write a comparison report (report.html, report.md)."""

from __future__ import annotations

import argparse
import shlex
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare loss configurations: train, evaluate, report",
        description=__doc__
        + "\n\nAn interrupted comparison continues where it stopped: finished runs are "
        "not retrained and an interrupted run resumes from its last checkpoint.",
    )
    add_arguments(parser)
    parser.add_argument("--config", required=True, help="experiment YAML")
    parser.add_argument(
        "--losses",
        nargs="+",
        metavar="NAME",
        help="train and report only these losses of the file, the reference among them "
        "(default: all; with --train-only the reference may be left out); their runs keep "
        "their folders, so a later compare of every loss reuses them",
    )
    parser.add_argument(
        "--train-only",
        action="store_true",
        help="train (or resume) the runs and stop: no evaluation, no report, and the "
        "output folder is not locked. Each run is locked while it trains, so two "
        "processes with --threads 1 can train one comparison side by side (a run the "
        "other is training is passed over); then compare without --train-only reuses "
        "every run and writes the report",
    )
    parser.set_defaults(handler=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``compare`` and ``demo``."""
    parser.add_argument("--seeds", type=int, help="number of seeds per loss (overrides the file)")
    parser.add_argument("--output", help="output folder (default OUTPUT_DIR/NAME of the file)")
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads for torch (default: torch's choice; the demo uses 1, which is "
        "faster for its small network and robust on a busy machine)",
    )
    parser.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="reuse finished runs and resume interrupted ones (default); --no-resume "
        "retrains everything",
    )


def execute(config_path, args: argparse.Namespace) -> int:
    """Load the experiment, run it, print the table and where the report is."""
    from ..experiments import load_experiment, run_compare

    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise ValueError(f"--threads: must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    train_only = getattr(args, "train_only", False)
    experiment = load_experiment(
        config_path,
        seeds=args.seeds,
        output=args.output,
        losses=getattr(args, "losses", None),
        keep_reference=not train_only,
    )
    left_out = (
        f" (left out: {', '.join(experiment.omitted_losses)})" if experiment.omitted_losses else ""
    )
    print(
        f"{experiment.config.name}: {len(experiment.loss_names)} loss configurations x "
        f"{experiment.config.seeds} seed(s){left_out} -> {experiment.output}",
        file=sys.stderr,
    )
    if train_only:
        return _train_only(experiment, args, config_path)
    output = run_compare(
        experiment, resume=args.resume, log=lambda line: print(line, file=sys.stderr)
    )
    print(output.table_text)
    for line in output.findings:
        print(f"- {line}")
    print(f"\nreport: {output.html}\n        {output.markdown}")
    return 0


def _train_only(experiment, args: argparse.Namespace, config_path) -> int:
    """``--train-only``: train, then say what happened and how to write the report."""
    from ..experiments import train_runs

    outcomes = train_runs(
        experiment, resume=args.resume, log=lambda line: print(line, file=sys.stderr)
    )
    counts = {action: 0 for action in ("trained", "resumed", "skipped", "busy")}
    for outcome in outcomes:
        counts[outcome.action] += 1
    print(
        f"{len(outcomes)} run(s): {counts['trained']} trained, {counts['resumed']} resumed, "
        f"{counts['skipped']} finished earlier, {counts['busy']} taken by another "
        "process"
    )
    report = ["boundaryloss", "compare", "--config", str(config_path)]
    if args.seeds is not None:
        report += ["--seeds", str(args.seeds)]
    if args.output is not None:
        report += ["--output", str(args.output)]
    waiting = " when the other process has finished" if counts["busy"] else ""
    print(f"report{waiting}: {shlex.join(report)}")
    return 0


def run(args: argparse.Namespace) -> int:
    return execute(args.config, args)
