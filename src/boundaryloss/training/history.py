"""The per-epoch history of a run: ``metrics.csv`` and ``metrics.jsonl``."""

from __future__ import annotations

import csv
import io
import json
import os
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
