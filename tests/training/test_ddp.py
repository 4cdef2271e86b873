"""DDP with 2 CPU processes (gloo) matches one process on the same global batch."""

from __future__ import annotations

import subprocess
import sys

import torch

from tests.tiny_runs import TINY

# Same global batch in both runs: no augmentation (each rank has its own random stream)
# and instance norm (batch norm statistics would differ per process).
DETERMINISTIC = [
    "data.augment.flip=false",
    "data.augment.rot90=false",
    "data.augment.intensity=false",
    "model.kwargs={base_channels: 4, depth: 2, norm: instance}",
]


def train(tmp_path, name, *extra):
    command = [
        sys.executable,
        "-m",
        "boundaryloss",
        "train",
        f"output_dir={tmp_path}",
        f"name={name}",
        *TINY,
        *DETERMINISTIC,
        *extra,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return torch.load(tmp_path / name / "checkpoints" / "last.pt", weights_only=False)


def test_two_cpu_processes_match_one(tmp_path):
    single = train(tmp_path, "single")
    ddp = train(tmp_path, "ddp", "train.devices=2", "train.strategy=ddp")
    assert ddp["global_step"] == single["global_step"] > 0
    for key, value in single["model"].items():
        torch.testing.assert_close(ddp["model"][key], value, rtol=1e-4, atol=1e-5)
