"""A planned and preprocessed tiny nnU-Net dataset, shared by the nnU-Net tests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .synthetic import DATASET_NAME, plan_and_preprocess, write_raw_dataset


@pytest.fixture(scope="session")
def nnunet_env(tmp_path_factory) -> Path:
    """nnU-Net's raw/preprocessed/results folders in a temporary directory, dataset planned.

    Sets ``nnUNet_raw``, ``nnUNet_preprocessed``, ``nnUNet_results`` and
    ``nnUNet_n_proc_DA=0`` (augmentation in the main process) for the session.
    """
    pytest.importorskip("nnunetv2", reason="nnunetv2 is not installed (extra boundaryloss[nnunet])")
    root = tmp_path_factory.mktemp("nnunet")
    patch = pytest.MonkeyPatch()
    for name in ("raw", "preprocessed", "results"):
        patch.setenv(f"nnUNet_{name}", str(root / name))
    # nnU-Net's planner sets torch's thread count to this number, so it must be >= 1 there
    patch.setenv("nnUNet_n_proc_DA", "1")
    patch.setenv("nnUNet_compile", "false")
    for name in ("BOUNDARYLOSS_SCHEDULE", "BOUNDARYLOSS_WEIGHT", "BOUNDARYLOSS_REBALANCE_STEP"):
        patch.delenv(name, raising=False)
    write_raw_dataset(root / "raw")
    plan_and_preprocess()
    patch.setenv("nnUNet_n_proc_DA", "0")
    yield root
    patch.undo()


def load_plans(root: Path) -> tuple[dict, dict]:
    """The shrunk plans (with nnU-Net's ``continue_training`` key) and dataset.json."""
    folder = root / "preprocessed" / DATASET_NAME
    plans = json.loads((folder / "nnUNetPlans.json").read_text())
    plans["continue_training"] = False
    return plans, json.loads((folder / "dataset.json").read_text())


def make_trainer(root: Path, trainer_class, *, continue_training: bool = False):
    """A trainer for fold 0 of the tiny dataset on the CPU (not initialised), seeded."""
    import numpy as np
    import torch

    torch.manual_seed(0)  # the network's initialisation
    np.random.seed(0)  # noqa: NPY002 - nnU-Net's data loader draws from the global state

    assert os.environ["nnUNet_preprocessed"] == str(root / "preprocessed")
    plans, dataset_json = load_plans(root)
    plans["continue_training"] = continue_training
    return trainer_class(
        plans=plans,
        configuration="3d_fullres",
        fold=0,
        dataset_json=dataset_json,
        device=torch.device("cpu"),
    )
