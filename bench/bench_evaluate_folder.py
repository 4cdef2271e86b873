"""``evaluate-folder`` with 1 and N worker processes, against nnU-Net's
``compute_metrics_on_folder`` on the same folder.

Cases: 200 small 3D NIfTI pairs (48 x 48 x 32, spacing (1, 1, 2.5) mm; a smooth blob
and a perturbed, shifted prediction). ``evaluate_folder`` scores Dice and HD95 (HD95
dominates its cost); nnU-Net scores Dice/IoU and the confusion counts only, with
``num_processes`` = N as its default of 8 does. nnU-Net spawns its workers in every
call (each imports nnU-Net and torch); ours fork from a server process started by the
first call of a process (``seconds_n_workers_first_call`` includes that start, the
other timings do not). The mean Dice of both tools must agree, and the per-case rows
of 1 and N workers must be identical.

Usage: part of ``make bench``; alone ``python bench/bench_evaluate_folder.py [--cases 200]
[--workers 8] [--repeats 3]`` (a smoke run: ``--cases 8 --repeats 1``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from boundaryloss.data.io import write_nifti
from boundaryloss.evaluation.evaluate_folder import evaluate_folder

try:
    from .common import median_seconds
except ImportError:  # run as a script
    from common import median_seconds

SHAPE = (48, 48, 32)
SPACING = (1.0, 1.0, 2.5)
CASES = 200
#: nnU-Net's default number of processes for ``compute_metrics_on_folder``.
NNUNET_WORKERS = 8
METRICS = ("dice", "hd95")


def _blob(rng: np.random.Generator, center, radius: float, roughness: float) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in SHAPE], indexing="ij")
    axes = zip(grids, center, SPACING, strict=True)
    distance = np.sqrt(sum(((g - c) * s) ** 2 for g, c, s in axes))
    noise = gaussian_filter(rng.standard_normal(SHAPE).astype(np.float32), 3)
    noise *= roughness / max(float(np.abs(noise).max()), 1e-12)
    return distance + noise < radius


def write_cases(root: Path, cases: int, seed: int = 0) -> tuple[Path, Path]:
    """``cases`` prediction/reference pairs as NIfTI in ``root/pred`` and ``root/ref``."""
    rng = np.random.default_rng(seed)
    pred_dir, ref_dir = root / "pred", root / "ref"
    for index in range(cases):
        center = [n / 2 + rng.uniform(-3, 3) for n in SHAPE]
        radius = rng.uniform(8, 16)
        ref = _blob(rng, center, radius, roughness=1.5)
        shifted = [c + rng.uniform(-1.5, 1.5) for c in center]
        pred = _blob(rng, shifted, radius * rng.uniform(0.9, 1.05), roughness=3.0)
        write_nifti(ref_dir / f"case_{index:03d}.nii.gz", ref.astype(np.uint8), spacing=SPACING)
        write_nifti(pred_dir / f"case_{index:03d}.nii.gz", pred.astype(np.uint8), spacing=SPACING)
    return pred_dir, ref_dir


def _ours(pred_dir: Path, ref_dir: Path, workers: int):
    return evaluate_folder(pred_dir, ref_dir, metrics=METRICS, workers=workers)


def _nnunet(pred_dir: Path, ref_dir: Path, workers: int) -> dict:
    from nnunetv2.evaluation.evaluate_predictions import compute_metrics_on_folder
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO

    return compute_metrics_on_folder(
        str(ref_dir), str(pred_dir), None, SimpleITKIO(), ".nii.gz", [1], num_processes=workers
    )


def run(repeats: int = 3, cases: int = CASES, workers: int | None = None) -> dict:
    """Time 1 and N workers and nnU-Net; return a JSON-serialisable dict."""
    workers = workers or min(NNUNET_WORKERS, os.cpu_count() or 1)
    repeats = min(repeats, 3)  # each repeat scores every case: minutes at 200 cases
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-folder-") as folder:
        pred_dir, ref_dir = write_cases(Path(folder), cases)
        one = _ours(pred_dir, ref_dir, 1)
        started = time.perf_counter()  # the first call also starts the worker server
        many = _ours(pred_dir, ref_dir, workers)
        first_call = time.perf_counter() - started
        ours_dice = float(np.mean(one.evaluator.values("dice", 1)))
        result = {
            "cases": cases,
            "shape": "x".join(map(str, SHAPE)),
            "metrics": ",".join(METRICS),
            "workers": workers,
            "rows_identical_1_vs_n": one.evaluator.rows() == many.evaluator.rows(),
            "mean_dice": ours_dice,
            "seconds_1_worker": median_seconds(lambda: _ours(pred_dir, ref_dir, 1), repeats, 0),
            "seconds_n_workers": median_seconds(
                lambda: _ours(pred_dir, ref_dir, workers), repeats, 0
            ),
            "seconds_n_workers_first_call": first_call,
        }
        result["speedup_n_vs_1"] = result["seconds_1_worker"] / result["seconds_n_workers"]
        try:
            nnunet = _nnunet(pred_dir, ref_dir, workers)
        except ImportError as error:  # nnunetv2 is an optional extra
            result["nnunet"] = f"skipped: {error}"
            return result
        nnunet_dice = float(nnunet["mean"][1]["Dice"])
        result["mean_dice_nnunet"] = nnunet_dice
        result["dice_equal_nnunet"] = bool(np.isclose(ours_dice, nnunet_dice, rtol=1e-9))
        result["seconds_nnunet_dice_n_workers"] = median_seconds(
            lambda: _nnunet(pred_dir, ref_dir, workers), repeats, 0
        )
    return result


if __name__ == "__main__":
    import json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=CASES)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.repeats, args.cases, args.workers), indent=2))
