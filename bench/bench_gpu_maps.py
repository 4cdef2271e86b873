"""Distance maps of CUDA tensors: ours on the GPU against MONAI's path and the CPU.

Cases (the same labels as ``bench_maps``): one 128³ volume with 2 classes (isotropic
and with spacing (1, 1, 3)), and a batch of 8 × 256² with 4 classes. Per case, medians of
``--repeats`` runs, each timed with ``torch.cuda.synchronize()``:

- ``ours_gpu_s``: ``signed_distance_map`` of the CUDA label (cuCIM when installed, else
  the CPU round trip: ``gpu_backend`` says which), official and paper conventions;
- ``monai_gpu_s``: ``monai.losses.BoundaryLoss.compute_distance_map`` of the CUDA one-hot
  target (MONAI's ``distance_transform_edt``, also cuCIM when installed; no spacing, so
  isotropic cases only);
- ``ours_cpu_s``: ``signed_distance_map`` of the same label on the CPU.

``max_abs_diff_gpu_cpu`` checks that the GPU maps equal the CPU maps. Results go to
``bench/results/gpu_<device name>.json`` and ``.md``. Without CUDA it prints
``skipped: no CUDA`` and exits 0 (``make bench`` includes it that way).

Usage: ``python bench/bench_gpu_maps.py [--repeats 5] [--small]``.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_maps import blobs_2d, blobs_3d, monai_maps  # noqa: E402
from bench.common import RESULTS_DIR, machine, median_seconds, write_atomically, write_json  # noqa: E402
from boundaryloss.maps import CPUFallbackWarning, signed_distance_map  # noqa: E402
from boundaryloss.maps._backend import cucim_available  # noqa: E402

SKIPPED = "skipped: no CUDA"


def _timed(fn, device: torch.device, repeats: int) -> float:
    def synchronised():
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return median_seconds(synchronised, repeats)


def _cases(small: bool) -> dict:
    rng = np.random.default_rng(0)
    size_3d, size_2d, batch = (32, 64, 2) if small else (128, 256, 8)
    return {
        f"{size_3d}^3, 2 classes": (blobs_3d(rng, size_3d)[None], 2, None),
        f"{size_3d}^3, 2 classes, spacing (1,1,3)": (blobs_3d(rng, size_3d)[None], 2, (1, 1, 3)),
        f"batch {batch}x{size_2d}^2, 4 classes": (
            np.stack([blobs_2d(rng, size_2d, 4) for _ in range(batch)]),
            4,
            None,
        ),
    }


def _bench_case(labels, num_classes, spacing, device, repeats) -> dict:
    cpu = torch.from_numpy(labels)
    gpu = cpu.to(device)
    row: dict = {}
    for convention in ("official", "paper"):

        def ours(label=gpu, convention=convention):
            return signed_distance_map(label, num_classes, spacing, convention, batch=True)

        row[f"ours_gpu_{convention}_s"] = _timed(ours, device, repeats)
        row[f"ours_cpu_{convention}_s"] = median_seconds(
            lambda convention=convention: signed_distance_map(
                cpu, num_classes, spacing, convention, batch=True
            ),
            repeats,
        )
        difference = (ours().cpu() - ours(cpu)).abs().max()
        row[f"max_abs_diff_gpu_cpu_{convention}"] = float(difference)
        row[f"cpu_over_gpu_{convention}"] = (
            row[f"ours_cpu_{convention}_s"] / row[f"ours_gpu_{convention}_s"]
        )
    if spacing is None:
        one_hot = torch.nn.functional.one_hot(gpu, num_classes).movedim(-1, 1).float()
        row["monai_gpu_s"] = _timed(lambda: monai_maps(one_hot), device, repeats)
        row["monai_over_ours_gpu_official"] = row["monai_gpu_s"] / row["ours_gpu_official_s"]
        official = signed_distance_map(gpu, num_classes, None, "official", batch=True)
        row["max_abs_diff_monai_official"] = float((monai_maps(one_hot) - official).abs().max())
    return row


def run(
    repeats: int = 5, small: bool = False, device: str = "cuda", output: Path | None = None
) -> dict:
    """Measure every case and write the report (``output``, default
    ``bench/results/gpu_<device>.json`` and ``.md``); ``{"notes": [SKIPPED]}`` without CUDA."""
    if device == "cuda" and not torch.cuda.is_available():
        print(SKIPPED)
        return {"notes": [SKIPPED]}
    target = torch.device(device)
    results: dict = {
        "device": torch.cuda.get_device_name(target) if target.type == "cuda" else "cpu",
        "gpu_backend": "cucim" if cucim_available() else "cpu round trip (cuCIM missing)",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CPUFallbackWarning)
        for name, (labels, num_classes, spacing) in _cases(small).items():
            print(f"  {name} ...", flush=True)
            results[name] = _bench_case(labels, num_classes, spacing, target, repeats)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "repeats": repeats,
        "small": small,
        "machine": machine(),
        "results": results,
    }
    output = output or output_path(results["device"])
    write_json(output, report)
    write_atomically(output.with_suffix(".md"), to_markdown(report))
    print(f"wrote {output} and {output.with_suffix('.md')}")
    return results


def output_path(device_name: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "_", device_name.lower()).strip("_")
    return RESULTS_DIR / f"gpu_{slug}.json"


def to_markdown(report: dict) -> str:
    lines = [
        f"# GPU distance maps on {report['results']['device']}",
        "",
        f"Written by `bench/bench_gpu_maps.py` on {report['date']}; medians of "
        f"{report['repeats']} runs. GPU backend: {report['results']['gpu_backend']}.",
        f"Host: {report['machine']['platform']}, {report['machine']['cpu_count']} CPUs, "
        f"torch {report['machine']['torch']}.",
        "",
    ]
    for case, row in report["results"].items():
        if not isinstance(row, dict):
            continue
        lines += [f"## {case}", "", "| measure | value |", "|---|---|"]
        lines += [
            f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |"
            for k, v in row.items()
        ]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--small", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (smoke run)")
    parser.add_argument("--output", type=Path, help="default bench/results/gpu_<device>.json")
    args = parser.parse_args(argv)
    run(args.repeats, args.small, args.device, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
