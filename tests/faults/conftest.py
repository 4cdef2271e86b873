"""Shared pieces of the fault tests: tiny runs, on-disk datasets, an unwritable folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from boundaryloss.cli import main
from boundaryloss.data.io import write_image_2d, write_nifti

#: A training run of about a second on synthetic data.
TINY = [
    "train.epochs=1",
    "data.synthetic.cases=6",
    "data.synthetic.shape=[32, 32]",
    "data.synthetic.foreground_fraction=0.05",
    "data.batch_size=2",
    "model.kwargs={base_channels: 4, depth: 2}",
    "train.progress=false",
    "train.figures=false",
]


def train(output_dir: Path, name: str, *extra: str) -> int:
    """``boundaryloss train`` of the tiny run; returns the exit code."""
    return main(["train", f"output_dir={output_dir}", f"name={name}", *TINY, *extra])


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> content)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def one_error_line(capsys) -> str:
    """The single stderr line of a failed command (asserts it is one line)."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1 and errors[0] == lines[-1], lines
    assert not any(line.startswith("Traceback") for line in lines), lines
    return errors[0]


def png_image(folder: Path) -> Path:
    """``folder/img.png``: a random 32x32 8-bit image (folder created)."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32), np.uint8)
    write_image_2d(folder / "img.png", pixels)
    return folder / "img.png"


def write_msd(root: Path, shapes: list[tuple[int, ...]], num_labels: int = 2) -> Path:
    """A Decathlon-layout dataset with one 3D case per shape (labels 0..num_labels-1)."""
    rng = np.random.default_rng(0)
    labels = {str(i): f"class{i}" for i in range(num_labels)}
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    (root / "dataset.json").write_text(
        json.dumps(
            {
                "name": "Faults",
                "modality": {"0": "MRI"},
                "labels": labels,
                "numTraining": len(shapes),
                "file_ending": ".nii.gz",
            }
        )
    )
    for i, shape in enumerate(shapes):
        image = rng.normal(size=shape).astype(np.float32)
        label = np.zeros(shape, dtype=np.uint8)
        label[2:-2, 2:-2, 1:-1] = rng.integers(0, num_labels, size=label[2:-2, 2:-2, 1:-1].shape)
        write_nifti(root / "imagesTr" / f"case_{i:03d}.nii.gz", image)
        write_nifti(root / "labelsTr" / f"case_{i:03d}.nii.gz", label)
    return root


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder path this process cannot create anything in."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
        yield folder / "out"
        folder.chmod(0o700)
    elif Path("/sys").is_dir():  # root writes anywhere but in sysfs
        yield Path("/sys/boundaryloss-fault-test/out")
    else:  # pragma: no cover
        pytest.skip("no unwritable folder for root on this system")


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """The ``last.pt`` of a tiny trained 2D run."""
    out = tmp_path_factory.mktemp("trained")
    assert train(out, "model") == 0
    return out / "model" / "checkpoints" / "last.pt"
