"""Checkpoints hold plain data only and are loaded without running code."""

from __future__ import annotations

import pytest
import torch

from boundaryloss.cli import main
from boundaryloss.training.checkpoint_files import load_checkpoint

from .conftest import one_error_line


def test_checkpoint_loads_with_weights_only(trained):
    state = torch.load(trained, map_location="cpu", weights_only=True)
    assert isinstance(state["config"], dict) and state["config"]["name"] == "model"
    assert set(state["rng"]) >= {"python", "numpy", "torch"}


class _Payload:
    """Unpickling this object would create a file: code run by ``torch.load``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, capsys):
    marker = tmp_path / "code-was-run"
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "config": _Payload(str(marker))}, path)
    with pytest.raises(ValueError, match="refused to load"):
        load_checkpoint(path)
    assert main(["predict", str(path), str(tmp_path), str(tmp_path / "out")]) == 1
    assert "refused to load" in one_error_line(capsys)
    assert not marker.exists()


def test_a_file_that_is_no_checkpoint(tmp_path, capsys):
    path = tmp_path / "scan.pt"
    path.write_bytes(b"\x1f\x8b not a pickle")
    assert main(["predict", str(path), str(tmp_path), str(tmp_path / "out")]) == 1
    assert "not a torch checkpoint file" in one_error_line(capsys)
