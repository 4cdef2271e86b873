"""The README's ten-line MONAI pipeline runs as written (on two hippocampus cases)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("monai")

ROOT = Path(__file__).resolve().parents[2]
IMPORTS = """
from monai.data import DataLoader, Dataset
from monai.networks.nets import UNet
from monai.transforms import (
    Compose, EnsureChannelFirstd, LoadImaged, RandAffined, RandCropByPosNegLabeld,
)
from boundaryloss.losses import BoundaryLoss, CompoundLoss, GeneralizedDiceLoss
from boundaryloss.monai import DistanceMapd, MapLoss
from boundaryloss.schedules import Rebalance
"""


def _readme_pipeline() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## MONAI (`boundaryloss.monai`)") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_monai_pipeline_runs():
    from boundaryloss.monai.example import hippocampus_files

    from .test_example import _data

    code = _readme_pipeline()
    assert len(code.strip().splitlines()) <= 10
    namespace: dict = {}
    exec(IMPORTS, namespace)
    namespace["files"] = hippocampus_files(_data())[:2]
    namespace["network"] = namespace["UNet"](3, 1, 3, channels=(4, 8), strides=(2,))
    exec(code, namespace)
    batch = namespace["batch"]
    assert batch["dist_map"].shape == (4, 3, 32, 32, 32)
    grads = [p.grad for p in namespace["network"].parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
