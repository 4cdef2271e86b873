"""Training through the Python route (``boundaryloss.nnunet.run``), final validation included."""

from __future__ import annotations

import multiprocessing
import os

import pytest
import torch

pytest.importorskip("nnunetv2", reason="nnunetv2 is not installed (extra boundaryloss[nnunet])")

from boundaryloss.nnunet import run, trainers

from .synthetic import DATASET_ID

CUDA = torch.device("cuda")  # nnU-Net's default device argument


class _Short(trainers.nnUNetTrainerBoundaryLoss):
    # nnU-Net records its __init__ arguments by name: keep its exact signature
    def __init__(self, plans, configuration, fold, dataset_json, device=CUDA):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.num_epochs = 1
        self.num_iterations_per_epoch = 2
        self.num_val_iterations_per_epoch = 1


def test_train_and_validate(nnunet_env, monkeypatch):
    # nnU-Net's export pool spawns workers that re-import torch; fork is enough here
    get_context = multiprocessing.get_context
    monkeypatch.setattr(multiprocessing, "get_context", lambda method=None: get_context("fork"))
    trainer = run.train(DATASET_ID, "3d_fullres", 0, _Short, device="cpu")
    folder = trainer.output_folder
    assert (nnunet_env / "results").as_posix() in folder
    assert os.path.isfile(f"{folder}/checkpoint_final.pth")
    summary = f"{folder}/validation/summary.json"
    assert os.path.isfile(summary)


def test_trainer_names():
    assert run.trainer_class("nnUNetTrainerRRW") is trainers.nnUNetTrainerRRW
    with pytest.raises(ValueError, match="unknown trainer 'nnUNetTrainerX'; one of"):
        run.trainer_class("nnUNetTrainerX")
    with pytest.raises(SystemExit):
        run.main(["4", "3d_fullres", "0", "-tr", "nnUNetTrainerX"])
