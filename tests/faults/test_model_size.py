"""A network too large to build or to run is refused in one line before memory is spent.

``model.kwargs.depth=25`` gave a 40-line traceback in training, and a checkpoint whose
configuration asks for such a network made ``predict`` allocate until the OOM killer
fired. Training, ``predict`` and ``evaluate`` build their network through one checked
function (``build_checked_model``).
"""

from __future__ import annotations

import numpy as np
import torch

from boundaryloss.cli import main
from boundaryloss.data.io import write_nifti
from boundaryloss.nets import UNet
from boundaryloss.training import components

from .conftest import one_error_line, train

#: A UNet whose widths stay small (capped) but that pads its input to 2**25 per axis.
DEEP_CAPPED = {"base_channels": 4, "depth": 25, "max_channels": 8}


def test_a_depth_whose_widths_overflow_is_one_line(tmp_path, capsys):
    output = tmp_path / "out"
    assert train(output, "run", "model.kwargs={depth: 25}") == 1
    line = one_error_line(capsys)
    assert "model.kwargs: {'depth': 25} does not build a unet" in line
    assert not output.exists()


def test_a_depth_that_pads_the_input_beyond_memory_is_one_line(tmp_path, capsys):
    output = tmp_path / "out"
    kwargs = "model.kwargs={base_channels: 4, depth: 25, max_channels: 8}"
    assert train(output, "run", kwargs) == 1
    line = one_error_line(capsys)
    assert "makes a layer output of" in line and "of size [32, 32]" in line
    assert not output.exists()


def _checkpoint_asking_for(trained, tmp_path, kwargs: dict, weights: dict | None = None):
    state = torch.load(trained, map_location="cpu", weights_only=True)
    state["config"]["model"]["kwargs"] = kwargs
    if weights is not None:
        state["model"] = weights
    path = tmp_path / "deep.pt"
    torch.save(state, path)
    return path


def _scan(tmp_path):
    scan = tmp_path / "scan.nii.gz"
    write_nifti(scan, np.random.default_rng(0).random((20, 24, 3)).astype(np.float32))
    return scan


def test_predict_refuses_a_stored_network_that_does_not_build(trained, tmp_path, capsys):
    # Widths whose second level overflows a tensor's size. (A stored depth of 25 with
    # the default widths allocated layer after layer until the OOM killer fired; this
    # one fails at its first layer without the check too.)
    checkpoint = _checkpoint_asking_for(trained, tmp_path, {"base_channels": 2**31, "depth": 2})
    out = tmp_path / "out.nii.gz"
    assert main(["predict", str(checkpoint), str(_scan(tmp_path)), str(out)]) == 1
    line = one_error_line(capsys)
    assert f"{checkpoint}: stored model does not build" in line
    assert "model.kwargs: {'base_channels': 2147483648, 'depth': 2} does not build" in line
    assert not out.exists()


def test_predict_refuses_stored_weights_beyond_the_available_memory(
    trained, tmp_path, capsys, monkeypatch
):
    # Not a real network beyond memory: before the check, building one allocated until
    # the OOM killer stopped the test run. The same estimate with a tiny memory instead.
    monkeypatch.setattr(components, "available_memory", lambda: 1024)
    out = tmp_path / "out.nii.gz"
    assert main(["predict", str(trained), str(_scan(tmp_path)), str(out)]) == 1
    line = one_error_line(capsys)
    assert f"{trained}: stored model does not build" in line
    assert "for its weights; 0.0 GiB is available" in line
    assert not out.exists()


def test_predict_refuses_an_input_the_stored_network_would_pad_beyond_memory(
    trained, tmp_path, capsys
):
    weights = UNet(1, 2, spatial_dims=2, **DEEP_CAPPED).state_dict()
    checkpoint = _checkpoint_asking_for(trained, tmp_path, DEEP_CAPPED, weights)
    scan = _scan(tmp_path)
    out = tmp_path / "out.nii.gz"
    assert main(["predict", str(checkpoint), str(scan), str(out)]) == 1
    line = one_error_line(capsys)
    assert f"{scan}: model.kwargs:" in line and "makes a layer output of" in line
    assert not out.exists()
