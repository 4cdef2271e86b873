"""``boundaryloss demo``: GDL, GDL + boundary loss, RRW and boundary loss alone on
built-in synthetic data with under 1 % foreground, in a few CPU minutes; prints the
table and writes a report (``experiments/demo.yaml``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .compare import add_arguments, execute

#: The demo experiment, at the repository root (``experiments/demo.yaml``).
DEMO_NAME = Path("experiments") / "demo.yaml"


def demo_config() -> Path:
    """``experiments/demo.yaml`` of the source checkout, or of the working directory.

    Raises:
        FileNotFoundError: neither exists (an installed copy without the repository).
    """
    candidates = [Path(__file__).resolve().parents[3] / DEMO_NAME, Path.cwd() / DEMO_NAME]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"demo experiment not found at {candidates[0]} or {candidates[1]}; run from the "
        "repository root or use 'boundaryloss compare --config FILE'"
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="a few-minute loss comparison on synthetic data", description=__doc__
    )
    add_arguments(parser)
    parser.set_defaults(handler=run, output="runs/demo", threads=1)


def run(args: argparse.Namespace) -> int:
    return execute(demo_config(), args)
