"""A miniature experiment: two losses, tiny synthetic 3-class data, two epochs."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from scipy import ndimage

from boundaryloss.data.splits import load_splits
from boundaryloss.evaluation.predict import Predictor
from boundaryloss.experiments.results import validation_cases
from boundaryloss.training.run_dir import RunDirectory

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


def recounted_lesion_differences(experiment, checkpoint: str = "best") -> dict[tuple, float]:
    """``|lesions(pred) - lesions(ref)|`` per ``(loss, seed, case, class)``, recounted
    without :mod:`boundaryloss.metrics`: each run's ``checkpoint`` segments its
    validation cases again, both maps are set to background outside a case's field of
    view, and lesions are the fully connected components (8 in 2D, 26 in 3D) that
    ``scipy.ndimage.label`` finds in each foreground class."""
    out = {}
    for spec in experiment.runs:
        run = RunDirectory(spec.run_dir)
        predictor = Predictor.from_checkpoint(run.checkpoint(checkpoint))
        cases = validation_cases(experiment, load_splits(run.splits)[0].val)
        for i in range(len(cases)):
            case = cases[i]
            pred, ref = predictor.segment(case), np.asarray(case.label)
            if case.fov is not None:
                pred, ref = np.where(case.fov, pred, 0), np.where(case.fov, ref, 0)
            structure = np.ones((3,) * pred.ndim, bool)
            for cls in range(1, spec.config.data.num_classes):
                n_pred = ndimage.label(pred == cls, structure)[1]
                n_ref = ndimage.label(ref == cls, structure)[1]
                out[(spec.loss, spec.seed, case.case_id, cls)] = float(abs(n_pred - n_ref))
    return out
