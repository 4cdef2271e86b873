"""``boundaryloss predict CHECKPOINT INPUT OUTPUT``: segment NIfTI volumes or 2D images.

INPUT is a file or a folder of files; labels are written in the input's format (NIfTI
with the input's shape, affine and header, or PNG), one file per input. An existing file
is never replaced unless an earlier ``predict`` wrote it and ``--overwrite`` is given
(a hidden ``.boundaryloss-files.json`` beside the label maps records them). A 2D model
segments 2D images, including NIfTI of shape (X, Y) or (X, Y, 1) as nnU-Net's 2D
datasets ship them, and volumes slice by slice; a 3D model segments volumes only.

--probabilities also writes each label map's softmax probabilities beside it, every
class in one float32 file: CASE.probabilities.nii.gz for a NIfTI input (the input's
affine and header, classes on a last axis), CASE.probabilities.npz for a 2D image
(array 'probabilities', (C, H, W), nnU-Net's key). The label map is their argmax.
'evaluate-folder' scores such a folder, adding the area under the precision-recall curve.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="segment images with a trained model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("checkpoint", help="a checkpoint file (e.g. RUN_DIR/checkpoints/best.pt)")
    parser.add_argument("input", help="an image file or a folder of images")
    parser.add_argument("output", help="output file (single input) or folder")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace label maps an earlier predict wrote (never other files)",
    )
    parser.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="test-time mirroring (flip averaging); default: the run's inference.mirror",
    )
    parser.add_argument(
        "--probabilities",
        action="store_true",
        help="also write the softmax probabilities beside each label map "
        "(CASE.probabilities.nii.gz or CASE.probabilities.npz)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.predict import Predictor, collect_inputs, predict_paths, unsupported_files

    predictor = Predictor.from_checkpoint(args.checkpoint, args.device, args.mirror)
    inputs = collect_inputs(Path(args.input))
    skipped = unsupported_files(Path(args.input))
    if skipped:
        names = ", ".join(p.name for p in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        print(
            f"skipping {len(skipped)} file(s) that are not NIfTI or 2D images: {names}",
            file=sys.stderr,
        )
    written = predict_paths(
        predictor,
        inputs,
        Path(args.output),
        progress=lambda line: print(line, file=sys.stderr),
        probabilities=args.probabilities,
        overwrite=args.overwrite,
    )
    if args.probabilities:
        print(f"{len(inputs)} label map(s) and {len(inputs)} probability map(s) written")
    else:
        print(f"{len(written)} label map(s) written")
    return 0
