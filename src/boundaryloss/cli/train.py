"""``boundaryloss train [--config FILE] [key=value ...]``: train one configuration."""

from __future__ import annotations

import argparse
import sys

from ._options import refuse_unused


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a network with a loss configuration",
        description=__doc__ + "\n\nOverrides use dotted keys, e.g. train.epochs=5 "
        "'loss.terms=[{name: gdl}]'; the resolved configuration is saved in the run directory.",
    )
    parser.add_argument("--config", help="YAML configuration (defaults: synthetic data, GDL)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run from its last checkpoint"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing run directory (only a run train made); the old run is "
        "deleted only once the new one has written its first checkpoint",
    )
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="configuration overrides")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..training.config import load_config
    from ..training.engine import NoCheckpointError, RunExistsError, Trainer, TrainingDiverged
    from ..training.validation import best_score_line

    refuse_unused(
        args,
        ("--overwrite",),
        used=not args.resume,
        needs="without --resume (a resumed run continues in place)",
    )
    config = load_config(args.config, args.overrides)
    try:
        trainer = Trainer(config, resume=args.resume, overwrite=args.overwrite)
        summary = trainer.fit()
    except RunExistsError as error:
        options = "" if args.overwrite else "--resume to continue it, --overwrite to replace it or "
        raise RunExistsError(f"{error}; use {options}another name=") from None
    except NoCheckpointError as error:
        raise NoCheckpointError(str(error).replace("resume:", "--resume:", 1)) from None
    except TrainingDiverged as error:
        print(f"boundaryloss train: error: {error}", file=sys.stderr)
        return 1
    if trainer.fabric.is_global_zero:
        inside = " (inside the field of view)" if (summary["val_fov"] or {}).get("applied") else ""
        print(f"{best_score_line(summary, inside)}; run in {summary['run_dir']}")
    return 0
