"""``boundaryloss nnunet-trainers-path``: print the folder to put in ``nnUNet_extTrainer``.

    export nnUNet_extTrainer=$(boundaryloss nnunet-trainers-path)
    nnUNetv2_train 4 3d_fullres 0 -tr nnUNetTrainerBoundaryLoss

nnU-Net then finds this project's trainers (``-tr nnUNetTrainerBoundaryLoss``,
``nnUNetTrainerGDLBoundary``, ``nnUNetTrainerRRW``, ...) by name; see docs/nnunet.md.
"""

from __future__ import annotations

import argparse

from ..nnunet.paths import trainers_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "nnunet-trainers-path",
        help="print the folder to set as nnUNet_extTrainer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        path = trainers_path()
    except ModuleNotFoundError as error:
        raise ValueError(str(error)) from None
    print(path)
    return 0
