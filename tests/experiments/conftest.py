"""A miniature experiment: two losses, tiny synthetic 3-class data, two epochs."""

from __future__ import annotations

import pytest
import yaml

TINY_BASE = {
    "data": {
        "source": "synthetic",
        "num_classes": 3,
        "synthetic": {
            "cases": 8,
            "shape": [32, 32],
            "foreground_fraction": 0.08,
            "num_classes": 3,
            "seed": 0,
        },
        "val_fraction": 0.25,
        "batch_size": 4,
    },
    "model": {"name": "unet", "kwargs": {"base_channels": 4, "depth": 2}},
    "train": {"epochs": 2, "progress": False, "figures": False},
}


def tiny_experiment(**changes) -> dict:
    """The miniature experiment as plain data; ``changes`` replace top-level keys."""
    experiment = {
        "name": "tiny",
        "reference": "gdl",
        "seeds": 1,
        "base": TINY_BASE,
        "losses": [
            {"name": "gdl", "loss": {"terms": [{"name": "gdl"}]}},
            {"name": "rrw", "loss": {"terms": [{"name": "region_wise", "kwargs": {"map": "rrw"}}]}},
        ],
        "report": {"overlay_cases": 2, "n_permutations": 1000},
    }
    experiment.update(changes)
    return experiment


@pytest.fixture
def write_experiment(tmp_path):
    """``write(**changes)`` -> path of an experiment YAML under tmp_path."""

    def write(**changes):
        path = tmp_path / "experiment.yaml"
        path.write_text(yaml.safe_dump(tiny_experiment(output_dir=str(tmp_path), **changes)))
        return path

    return write
