"""``boundaryloss prepare DATASET SRC DST``: convert a challenge download to the standard layout.

Writes the Medical Segmentation Decathlon / nnU-Net raw layout (``imagesTr/``,
``labelsTr/``, optional ``imagesTs/``, ``dataset.json``) into DST, which must be absent
or empty unless ``--overwrite`` is given. ``--overwrite`` replaces only a dataset that
``prepare`` wrote (never another non-empty folder), and only once the new dataset is
complete, so a failure leaves it as it was.
"""

from __future__ import annotations

import argparse
import sys

from ..data.prepare import PREPARERS, prepare_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="convert a challenge download into the MSD/nnU-Net raw layout",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="expected SRC layouts:\n"
        + "\n".join(f"  {name:<10} {p.layout}" for name, p in PREPARERS.items()),
    )
    parser.add_argument(
        "dataset",
        metavar="DATASET",
        help=f"which challenge the download comes from: {', '.join(PREPARERS)}",
    )
    parser.add_argument("src", metavar="SRC", help="the download's root folder")
    parser.add_argument(
        "dst", metavar="DST", help="destination folder (must be empty unless --overwrite)"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a dataset prepare wrote at DST once the new one is done",
    )
    parser.add_argument(
        "--no-flair",
        action="store_true",
        help="isles2022: leave FLAIR out (channels DWI, ADC). By default FLAIR is channel 2, "
        "resampled into DWI's voxel grid through the affines (trilinear, 0 outside FLAIR's "
        "field of view)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no per-case progress lines on stderr"
    )
    parser.set_defaults(handler=run)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    result = prepare_dataset(
        args.dataset,
        args.src,
        args.dst,
        overwrite=args.overwrite,
        progress=None if args.quiet else _progress,
        leave_out=("FLAIR",) if args.no_flair else (),
    )
    test = f" + {result.num_test} test" if result.num_test else ""
    print(f"{result.name}: {result.num_training} training{test} cases written to {result.dst}")
    return 0
