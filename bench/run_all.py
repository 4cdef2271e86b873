"""Run every benchmark and write ``bench/results/latest.json`` and ``latest.md``.

Usage: ``make bench`` (or ``python bench/run_all.py [--repeats N] [--only maps,losses]``).
Timings are medians of ``--repeats`` runs on this machine; the ratios compare with the
baseline a user would otherwise run, measured in the same process and run.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS_DIR, machine, write_atomically, write_json  # noqa: E402

# gpu_maps prints "skipped: no CUDA" (and records a note) on machines without CUDA; with
# CUDA it also writes bench/results/gpu_<device>.json/.md.
BENCHMARKS = (
    "maps",
    "losses",
    "metrics",
    "evaluate_folder",
    "data",
    "training",
    "training_pipeline",
    "gpu_maps",
)


def to_markdown(results: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {results['date']}; medians of {results['repeats']} runs.",
        f"Machine: {results['machine']['platform']}, {results['machine']['cpu_count']} CPUs, "
        f"torch {results['machine']['torch']} ({results['machine']['torch_threads']} threads).",
        "",
    ]
    for bench, cases in results["benchmarks"].items():
        lines += [f"## {bench}", ""]
        for case, row in cases.items():
            if not isinstance(row, dict):  # e.g. a list of notes
                items = row if isinstance(row, list) else [row]
                if not items:
                    continue
                lines += [f"{case}:", "", *(f"- {item}" for item in items), ""]
                continue
            lines += [f"### {case}", "", "| measure | value |", "|---|---|"]
            for key, value in row.items():
                shown = f"{value:.4g}" if isinstance(value, float) else str(value)
                lines.append(f"| {key} | {shown} |")
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default=",".join(BENCHMARKS))
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json")
    args = parser.parse_args()

    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "repeats": args.repeats,
        "benchmarks": {},
    }
    for name in args.only.split(","):
        if name not in BENCHMARKS:
            parser.error(f"--only: unknown benchmark {name!r}; choose from {BENCHMARKS}")
        print(f"running bench_{name} ...", flush=True)
        module = importlib.import_module(f"bench.bench_{name}")
        results["benchmarks"][name] = module.run(args.repeats)
    results["machine"] = machine()
    write_json(args.output, results)
    write_atomically(args.output.with_suffix(".md"), to_markdown(results))
    print(f"wrote {args.output} and {args.output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
