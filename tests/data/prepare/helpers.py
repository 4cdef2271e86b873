"""Reading back what a preparer wrote."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np


def load_json(dst: Path) -> dict:
    return json.loads((dst / "dataset.json").read_text())


def load(path: Path) -> tuple[np.ndarray, nib.Nifti1Image]:
    image = nib.load(str(path))
    return np.asanyarray(image.dataobj), image


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def single_value(path: Path) -> float:
    data, _ = load(path)
    values = np.unique(data)
    assert values.size == 1, f"{path}: expected a constant image, got {values}"
    return float(values[0])
