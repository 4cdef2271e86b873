"""nnU-Net training iterations with and without the boundary term, same data and plan.

Compares nnU-Net's ``nnUNetTrainer`` (Dice + CE) with ``nnUNetTrainerDiceCEBoundaryConstant``
(Dice + CE + boundary loss at every deep-supervision output, the term always active):

- ``train_step_s``: median ``train_step`` time on prefetched batches (forward, loss,
  backward, optimizer step): what the boundary term adds to the training loop;
- ``batch_s``: median time to produce one batch with nnU-Net's augmentation in this
  process (``nnUNet_n_proc_DA=0``), maps included: the work nnU-Net's augmentation
  workers do in parallel to the loop during real training;
- ratios boundary / nnU-Net for both, and for their sum (the serial worst case);
- the same for the boundary trainer with a map margin (``--map-margin``, voxels of
  augmented context the maps are computed on; 0 skips this row).

Default: a tiny synthetic dataset planned into a temporary folder, CPU (smoke size; a few
minutes). On a GPU machine, for the real ratio (goal <= 1.05)::

    python bench/bench_nnunet.py --dataset 4 --configuration 3d_fullres --device cuda

with ``nnUNet_preprocessed`` / ``nnUNet_results`` set and the dataset preprocessed.
Writes ``bench/results/nnunet_<tag>.json`` and ``.md`` (``make bench-nnunet``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS_DIR, machine, write_atomically, write_json  # noqa: E402


def _synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _median_time(fn, repeats: int, device: str) -> float:
    times = []
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        fn()
        _synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_trainer(name: str, args: argparse.Namespace, margin: int = 0) -> dict:
    """Median batch and train_step times of one trainer (fixed seeds, same batches)."""
    import numpy as np
    import torch

    from boundaryloss.nnunet.run import build_trainer

    os.environ["BOUNDARYLOSS_MAP_MARGIN"] = str(margin)
    torch.manual_seed(0)
    np.random.seed(0)  # noqa: NPY002 - nnU-Net's data loader draws from the legacy global state
    trainer = build_trainer(args.dataset, args.configuration, 0, name, device=args.device)
    trainer.on_train_start()
    for _ in range(args.warmup):
        trainer.train_step(next(trainer.dataloader_train))
    batch_s = _median_time(lambda: next(trainer.dataloader_train), args.repeats, "cpu")
    batches = [next(trainer.dataloader_train) for _ in range(args.repeats)]
    queue = iter(batches)
    step_s = _median_time(lambda: trainer.train_step(next(queue)), args.repeats, args.device)
    trainer.on_train_end()
    return {"batch_s": batch_s, "train_step_s": step_s, "total_s": batch_s + step_s}


def _tiny_dataset(folder: Path) -> None:
    """Write and plan the tests' tiny synthetic dataset (16^3 patches) under ``folder``."""
    from tests.nnunet.synthetic import plan_and_preprocess, write_raw_dataset

    for name in ("raw", "preprocessed", "results"):
        os.environ[f"nnUNet_{name}"] = str(folder / name)
    os.environ["nnUNet_n_proc_DA"] = "1"  # nnU-Net's planner sets torch threads to this
    write_raw_dataset(folder / "raw")
    plan_and_preprocess()


def to_markdown(results: dict) -> str:
    rows = results["trainers"]
    base = rows["nnUNetTrainer"]
    others = [name for name in rows if name != "nnUNetTrainer"]
    lines = [
        f"# nnU-Net iterations with and without the boundary term ({results['tag']})",
        "",
        f"Written by `python bench/bench_nnunet.py` on {results['date']}: dataset "
        f"{results['dataset']}, {results['configuration']}, device {results['device']}, "
        f"medians of {results['repeats']}. Machine: {results['machine']['platform']}, "
        f"{results['machine']['cpu_count']} CPUs, torch {results['machine']['torch']}.",
        "",
        "| measure | nnUNetTrainer | " + " | ".join(f"{n} (ratio)" for n in others) + " |",
        "|---|---|" + "---|" * len(others),
    ]
    for key in ("train_step_s", "batch_s", "total_s"):
        cells = [f"{rows[n][key]:.4g} ({rows[n][key] / base[key]:.3f})" for n in others]
        lines.append(f"| {key} | {base[key]:.4g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=None, help="preprocessed dataset id (default: tiny)")
    parser.add_argument("--configuration", default="3d_fullres")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--map-margin", type=int, default=8, help="0: no margin row")
    parser.add_argument("--tag", default=None, help="results name (default: tiny_cpu or id_device)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.dataset is None:
            _tiny_dataset(Path(tmp))
            from tests.nnunet.synthetic import DATASET_ID

            args.dataset = DATASET_ID
            tag = args.tag or f"tiny_{args.device}"
        else:
            tag = args.tag or f"{args.dataset}_{args.configuration}_{args.device}"
            if "nnUNet_results" not in os.environ:
                os.environ["nnUNet_results"] = str(Path(tmp) / "results")
        os.environ["nnUNet_n_proc_DA"] = "0"  # batches produced in this process, timed
        trainers = {
            name: measure_trainer(name, args)
            for name in ("nnUNetTrainer", "nnUNetTrainerDiceCEBoundaryConstant")
        }
        if args.map_margin:
            trainers[f"nnUNetTrainerDiceCEBoundaryConstant margin {args.map_margin}"] = (
                measure_trainer("nnUNetTrainerDiceCEBoundaryConstant", args, args.map_margin)
            )
    base = trainers["nnUNetTrainer"]
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tag": tag,
        "dataset": str(args.dataset),
        "configuration": args.configuration,
        "device": args.device,
        "repeats": args.repeats,
        "machine": machine(),
        "trainers": trainers,
        "ratios": {
            name: {key: row[key] / base[key] for key in base}
            for name, row in trainers.items()
            if name != "nnUNetTrainer"
        },
    }
    output = RESULTS_DIR / f"nnunet_{tag}.json"
    write_json(output, results)
    write_atomically(output.with_suffix(".md"), to_markdown(results))
    print(to_markdown(results))


if __name__ == "__main__":
    main()
