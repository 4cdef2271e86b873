"""Per-epoch metrics as CSV and JSON lines, and the environment of a run."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from .._files import write_text_atomically
from .run_dir import RunDirectory


class MetricsLog:
    """Rows of per-epoch metrics kept in memory and rewritten atomically after each epoch
    (``metrics.csv`` and ``metrics.jsonl`` in the run directory).

    On resume, rows after the checkpoint's epoch are dropped, so the log matches the
    state training continues from.

    Args:
        run: the run directory (a :class:`RunDirectory` or its path).
    """

    def __init__(self, run: RunDirectory | str | os.PathLike) -> None:
        self.run = run if isinstance(run, RunDirectory) else RunDirectory(run)
        self.rows: list[dict[str, Any]] = []

    @property
    def csv_path(self) -> Path:
        return self.run.metrics_csv

    @property
    def jsonl_path(self) -> Path:
        return self.run.metrics_jsonl

    def load(self, up_to_epoch: int | None = None) -> list[dict[str, Any]]:
        """Read ``metrics.jsonl`` (rows up to ``up_to_epoch`` when given); returns the rows.

        Raises:
            FileNotFoundError: ``up_to_epoch`` is None (read everything) and there is no
                ``metrics.jsonl``.
        """
        self.rows = []
        if not self.jsonl_path.is_file():
            if up_to_epoch is None:
                raise FileNotFoundError(f"{self.jsonl_path}: no training history")
            return self.rows
        for line in self.jsonl_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                if up_to_epoch is None or row["epoch"] <= up_to_epoch:
                    self.rows.append(row)
        return self.rows

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.write()

    def write(self) -> None:
        keys: list[str] = []
        for row in self.rows:
            keys += [k for k in row if k not in keys]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys)
        writer.writeheader()
        writer.writerows(self.rows)
        write_text_atomically(self.csv_path, buffer.getvalue())
        write_text_atomically(self.jsonl_path, "".join(json.dumps(row) + "\n" for row in self.rows))


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment() -> dict[str, Any]:
    """Versions, platform and git commit, saved as ``environment.json`` in a run."""
    import torch

    versions = {}
    for package in ("boundaryloss", "torch", "numpy", "scipy", "edt", "lightning-fabric"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "packages": versions,
        "git_commit": _git_commit(),
        "command": sys.argv,
    }


def write_json(path: str | os.PathLike, data: Any) -> None:
    write_text_atomically(path, json.dumps(data, indent=2, default=str) + "\n")
