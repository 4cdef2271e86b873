"""What a run records about where it ran (``environment.json``), and JSON files."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from .._files import write_text_atomically


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
    """Write ``data`` to ``path`` as indented JSON, atomically (what JSON cannot hold, such
    as a path, as its ``str``)."""
    write_text_atomically(path, json.dumps(data, indent=2, default=str) + "\n")
