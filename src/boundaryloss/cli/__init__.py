"""The ``boundaryloss`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds
its parser and sets ``handler`` to a function taking the parsed arguments. Errors a user
can fix (bad paths, bad files, bad options) are raised as ``ValueError``, an
``OSError`` (unwritable or missing paths), :class:`~boundaryloss._lock.LockHeldError` or
``MemoryError`` and printed as one line on stderr with a non-zero exit code, never as a
traceback; ``--debug`` (or the environment variable ``BOUNDARYLOSS_DEBUG=1``) prints the
full traceback instead. Without the ``train`` extra (the training stack) a sub-command
that needs it stops with one line naming the extra to install.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import traceback
from collections.abc import Sequence

from .._lock import LockHeldError
from . import compare, demo, evaluate, evaluate_folder, nnunet, predict, prepare, train

COMMANDS = (prepare, train, evaluate, evaluate_folder, predict, compare, demo, nnunet)
#: Environment variable that turns ``--debug`` on (``1``, ``true``, ``yes`` or ``on``).
DEBUG_VARIABLE = "BOUNDARYLOSS_DEBUG"

#: The ``train`` extra, module name -> distribution: what the data, training, evaluation and
#: comparison code imports beyond the core (torch, NumPy, SciPy, edt).
TRAIN_EXTRA = {
    "lightning_fabric": "lightning-fabric",
    "matplotlib": "matplotlib",
    "nibabel": "nibabel",
    "PIL": "pillow",
    "tqdm": "tqdm",
    "yaml": "pyyaml",
}

#: Sub-commands that run on the core alone.
CORE_COMMANDS = frozenset({"nnunet-trainers-path"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="boundaryloss",
        description="Boundary and region-wise losses for unbalanced segmentation.",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"print the full traceback of an error instead of one line (also {DEBUG_VARIABLE}=1)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (an ``OSError`` as ``PATH: reason``)."""
    if isinstance(error, MemoryError):
        return f"out of memory ({error or 'no details'}); use a smaller model or batch"
    if isinstance(error, OSError) and error.strerror:
        where = error.filename if error.filename is not None else ""
        if error.filename2 is not None:
            where = f"{where} -> {error.filename2}"
        text = f"{where}: {error.strerror}" if where else error.strerror
    else:
        text = str(error)
    return " ".join(text.split())


def debug_requested(flag: bool) -> bool:
    """Whether errors show their traceback: ``--debug``, or :data:`DEBUG_VARIABLE` set on."""
    return flag or os.environ.get(DEBUG_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # e.g. a broken installation of the module
        return False


def missing_train_extra() -> list[str]:
    """Distributions of the ``train`` extra that are not installed (checked without importing)."""
    return [dist for module, dist in TRAIN_EXTRA.items() if not _installed(module)]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``boundaryloss`` console script; returns the exit code."""
    parser = build_parser()
    # Options may come after key=value overrides ("train a=1 --resume b=2"): argparse stops
    # filling a nargs="*" positional at the first option, so the rest arrive as extras.
    args, extra = parser.parse_known_args(argv)
    if extra:
        overrides = [e for e in extra if "=" in e and not e.startswith("-")]
        if hasattr(args, "overrides") and len(overrides) == len(extra):
            args.overrides = [*args.overrides, *overrides]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    # Checked before the command starts, so it cannot fail halfway (figures, progress bar
    # and image readers are imported only where they are used).
    missing = [] if args.command in CORE_COMMANDS else missing_train_extra()
    if missing:
        print(
            f"boundaryloss {args.command}: error: this command needs the training extra "
            f"(missing: {', '.join(missing)}); install it with: "
            'pip install "boundaryloss[train]"',
            file=sys.stderr,
        )
        return 1
    try:
        result = args.handler(args)
    except (ValueError, OSError, LockHeldError, MemoryError) as error:
        if debug_requested(args.debug):
            traceback.print_exception(type(error), error, error.__traceback__)
        else:
            print(f"boundaryloss {args.command}: error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"boundaryloss {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
