"""Train one of this project's nnU-Net trainers without nnU-Net's trainer lookup.

``nnUNetv2_train`` finds a ``-tr`` class by importing every trainer module of nnU-Net,
one of which imports timm and so torchvision; with a CPU-only torch whose torchvision
operators do not load (``operator torchvision::nms does not exist``) the command fails
before training. This module takes the class directly and otherwise runs nnU-Net's own
steps (plans and dataset.json from ``nnUNet_preprocessed``, ``--c`` checkpoint choice by
``nnunetv2.run.run_training.maybe_load_checkpoint``, ``run_training``,
``perform_actual_validation``)::

    python -m boundaryloss.nnunet.run 4 3d_fullres 0 -tr nnUNetTrainerBoundaryLoss -device cpu

Single process only (use ``nnUNetv2_train -num_gpus N`` for DDP).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from ._extra import missing_extra

#: The program name in usage lines and errors.
PROG = "python -m boundaryloss.nnunet.run"

try:
    from nnunetv2.paths import nnUNet_preprocessed
    from nnunetv2.run.run_training import maybe_load_checkpoint
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.dataset_name_id_conversion import maybe_convert_to_dataset_name

    from .trainers import TRAINERS
except ModuleNotFoundError as error:  # without the extra: say which one to install
    if __name__ == "__main__":  # run as a program: one line, no traceback
        raise SystemExit(f"{PROG}: error: {missing_extra(error)}") from None
    raise missing_extra(error) from None


def trainer_class(name: str | type[nnUNetTrainer]) -> type[nnUNetTrainer]:
    """This project's trainer called ``name`` (or nnU-Net's plain ``nnUNetTrainer``).

    A class (e.g. a user's subclass of a shipped trainer) is returned as it is.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    if isinstance(name, type) and issubclass(name, nnUNetTrainer):
        return name
    known = {cls.__name__: cls for cls in (nnUNetTrainer, *TRAINERS)}
    if name not in known:
        raise ValueError(f"unknown trainer {name!r}; one of {sorted(known)}")
    return known[name]


def build_trainer(
    dataset: str | int,
    configuration: str,
    fold: int | str,
    trainer: str | type[nnUNetTrainer] = "nnUNetTrainerBoundaryLoss",
    *,
    plans_identifier: str = "nnUNetPlans",
    device: str = "cuda",
    continue_training: bool = False,
) -> nnUNetTrainer:
    """The trainer nnUNetv2_train would build for these arguments (not yet trained)."""
    name = maybe_convert_to_dataset_name(int(dataset) if str(dataset).isdigit() else dataset)
    folder = Path(str(nnUNet_preprocessed)) / name
    plans = json.loads((folder / f"{plans_identifier}.json").read_text())
    plans["continue_training"] = continue_training
    dataset_json = json.loads((folder / "dataset.json").read_text())
    fold = fold if fold == "all" else int(fold)
    return trainer_class(trainer)(
        plans=plans,
        configuration=configuration,
        fold=fold,
        dataset_json=dataset_json,
        device=torch.device(device),
    )


def train(
    dataset: str | int,
    configuration: str,
    fold: int | str,
    trainer: str | type[nnUNetTrainer] = "nnUNetTrainerBoundaryLoss",
    *,
    plans_identifier: str = "nnUNetPlans",
    device: str = "cuda",
    continue_training: bool = False,
    validate: bool = True,
    save_probabilities: bool = False,
) -> nnUNetTrainer:
    """Train (or continue, ``continue_training=True`` as ``--c``) and validate like nnU-Net.

    ``validate`` runs nnU-Net's final validation (sliding-window prediction of the fold's
    validation cases, written to ``fold_X/validation``); ``save_probabilities`` is ``--npz``.
    """
    nnunet_trainer = build_trainer(
        dataset,
        configuration,
        fold,
        trainer,
        plans_identifier=plans_identifier,
        device=device,
        continue_training=continue_training,
    )
    maybe_load_checkpoint(nnunet_trainer, continue_training, validation_only=False)
    nnunet_trainer.run_training()
    if validate:
        nnunet_trainer.perform_actual_validation(save_probabilities)
    return nnunet_trainer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="nnUNetv2_train for this project's trainers (no trainer lookup).",
    )
    parser.add_argument("dataset_name_or_id")
    parser.add_argument("configuration")
    parser.add_argument("fold")
    parser.add_argument("-tr", dest="trainer", default="nnUNetTrainerBoundaryLoss")
    parser.add_argument("-p", dest="plans_identifier", default="nnUNetPlans")
    parser.add_argument("-device", dest="device", default="cuda", choices=("cuda", "cpu", "mps"))
    parser.add_argument("--c", dest="continue_training", action="store_true")
    parser.add_argument("--npz", action="store_true", help="save validation probabilities")
    args = parser.parse_args(argv)
    try:
        trainer_class(args.trainer)
    except ValueError as error:
        parser.error(str(error))
    train(
        args.dataset_name_or_id,
        args.configuration,
        args.fold,
        args.trainer,
        plans_identifier=args.plans_identifier,
        device=args.device,
        continue_training=args.continue_training,
        save_probabilities=args.npz,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
