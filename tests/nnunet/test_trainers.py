"""Each shipped trainer plans, preprocesses and trains the tiny dataset on the CPU.

Slow-ish by nature (nnU-Net's import, planning and preprocessing take seconds); every
trainer trains a handful of iterations of a 4..8-feature network on 16^3 patches.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest
import torch

pytest.importorskip("nnunetv2", reason="nnunetv2 is not installed (extra boundaryloss[nnunet])")

from boundaryloss.losses import BoundaryLoss, GeneralizedDiceLoss
from boundaryloss.maps import rrw_map, signed_distance_map
from boundaryloss.nnunet import trainers
from boundaryloss.nnunet.loss import DeepSupervisionMapLoss, ScheduledMapLoss
from boundaryloss.registry import LOSSES, register_loss
from boundaryloss.schedules import Constant, Rebalance

from .conftest import load_plans, make_trainer
from .synthetic import PATCH, STRIDES

STEPS = 6


def _fixed_batch_losses(trainer, steps: int = STEPS) -> list[float]:
    batch = next(trainer.dataloader_train)
    return [float(trainer.train_step(batch)["loss"]) for _ in range(steps)]


@pytest.mark.parametrize("trainer_class", trainers.TRAINERS, ids=lambda c: c.__name__)
def test_trainer_trains(nnunet_env, monkeypatch, trainer_class):
    # Rebalance at epoch 0 gives the boundary term weight 0; a large step puts it in play.
    monkeypatch.setenv("BOUNDARYLOSS_REBALANCE_STEP", "0.25")
    trainer = make_trainer(nnunet_env, trainer_class)
    trainer.on_train_start()
    trainer.current_epoch = 2
    trainer.on_epoch_start()
    if trainer.regional is not None and trainer.settings.schedule == "rebalance":
        assert trainer.loss_schedule.weights == pytest.approx((0.5, 0.5))
    losses = _fixed_batch_losses(trainer)
    assert all(math.isfinite(v) for v in losses), losses
    # falling on a fixed batch: the last two iterations below the first two
    assert np.mean(losses[-2:]) < np.mean(losses[:2]), losses
    with torch.no_grad():
        trainer.network.eval()
        result = trainer.validation_step(next(trainer.dataloader_val))
    assert np.isfinite(result["loss"])
    assert result["tp_hard"].shape == (2,)  # two foreground classes, from target[0]
    trainer.on_train_end()


def _plan_scales() -> list[tuple[int, ...]]:
    """Shapes of the deep-supervision targets, written out from the plan's strides."""
    shapes, factor = [], np.ones(3)
    for stride in STRIDES[:-1]:
        factor = factor * np.asarray(stride)
        shapes.append(tuple(int(p // f) for p, f in zip(PATCH, factor, strict=True)))
    return shapes


@pytest.mark.parametrize(
    ("trainer_class", "reference"),
    [
        (trainers.nnUNetTrainerDiceCEBoundaryConstant, signed_distance_map),
        (trainers.nnUNetTrainerRRW, rrw_map),
    ],
    ids=["signed", "rrw"],
)
def test_maps_handed_to_loss(nnunet_env, trainer_class, reference):
    """The maps the loss receives are this project's maps of the augmented target, per scale."""
    trainer = make_trainer(nnunet_env, trainer_class)
    trainer.on_train_start()
    received = []
    per_scale = trainer.loss.per_scale
    original = per_scale.forward

    def recording(output, target, maps):
        received.append((target.clone(), maps.clone()))
        return original(output, target, maps)

    per_scale.forward = recording
    batch = next(trainer.dataloader_train)
    trainer.train_step(batch)

    spacing = np.asarray(trainer.configuration_manager.spacing, dtype=float)
    shapes = _plan_scales()
    labels, maps = batch["target"][: len(shapes)], batch["target"][len(shapes) :]
    assert [tuple(t.shape[2:]) for t in labels] == shapes
    nonzero = [s for s, w in enumerate(trainer.loss.weights) if w != 0]
    assert len(received) == len(nonzero) >= 2
    # the channels the loss reads: the boundary term leaves the background out
    read = list(trainer.loss.per_scale.map_spec.channels(3))
    assert read == ([1, 2] if reference is signed_distance_map else [0, 1, 2])
    unread = [k for k in range(3) if k not in read]
    for s, shape in enumerate(shapes):
        # each coarser target halves the patch along every axis: voxels twice as large
        spacing_s = tuple(spacing * (PATCH[0] / shape[0]))
        for b in range(labels[s].shape[0]):
            label = labels[s][b, 0].numpy().astype(np.int64)
            expected = reference(label, 3, spacing_s)
            got = maps[s][b].numpy()
            np.testing.assert_allclose(got[read], expected[read], rtol=1e-6, atol=1e-6)
            assert not got[unread].any()  # not computed: no consumer reads it
        if s in nonzero:
            target, handed = received[nonzero.index(s)]
            assert torch.equal(target, labels[s])
            assert torch.equal(handed, maps[s])
    trainer.on_train_end()


class _Recording(trainers.nnUNetTrainerGDLBoundary):
    """Records the loss weights of each epoch it trains."""

    epoch_weights: ClassVar[list] = []

    def on_train_epoch_start(self):
        type(self).epoch_weights.append((self.current_epoch, self.loss_schedule.weights))
        super().on_train_epoch_start()


def test_schedule_survives_continue(nnunet_env, monkeypatch):
    """A run stopped after two epochs and continued (``--c``) uses the weights it would have."""
    monkeypatch.setenv("BOUNDARYLOSS_REBALANCE_STEP", "0.25")
    expected = Rebalance(step=0.25)

    def short(trainer, epochs):
        trainer.num_iterations_per_epoch = 1
        trainer.num_val_iterations_per_epoch = 1
        trainer.num_epochs = epochs
        return trainer

    _Recording.epoch_weights = []
    first = short(make_trainer(nnunet_env, _Recording), 2)
    first.run_training()
    checkpoint = torch.load(
        f"{first.output_folder}/checkpoint_final.pth", map_location="cpu", weights_only=False
    )
    assert checkpoint["current_epoch"] == 2

    resumed = short(make_trainer(nnunet_env, _Recording, continue_training=True), 3)
    resumed.load_checkpoint(f"{first.output_folder}/checkpoint_final.pth")
    assert resumed.current_epoch == 2
    assert resumed.loss_schedule.weights == pytest.approx(expected.weights_at(2))
    resumed.run_training()
    epochs = [e for e, _ in _Recording.epoch_weights]
    assert epochs == [0, 1, 2]
    for epoch, weights in _Recording.epoch_weights:
        assert weights == pytest.approx(expected.weights_at(epoch))


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"background": 0, "anterior": 1, "posterior": 2, "ignore": 3}, "ignore label"),
        (
            {"background": 0, "whole": [1, 2], "posterior": 2},
            "does not support region-based training",
        ),
    ],
    ids=["ignore", "regions"],
)
def test_unsupported_datasets_are_refused(nnunet_env, labels, message):
    plans, dataset_json = load_plans(nnunet_env)
    dataset_json = {**dataset_json, "labels": labels}
    if "whole" in labels:
        dataset_json["regions_class_order"] = [1, 2]
    trainer = trainers.nnUNetTrainerBoundaryLoss(
        plans=plans,
        configuration="3d_fullres",
        fold=0,
        dataset_json=dataset_json,
        device=torch.device("cpu"),
    )
    with pytest.raises(ValueError, match=message):
        trainer.initialize()


def test_bad_environment_stops_the_trainer(nnunet_env, monkeypatch):
    monkeypatch.setenv("BOUNDARYLOSS_WEIGHT", "heavy")
    trainer = make_trainer(nnunet_env, trainers.nnUNetTrainerDiceCEBoundaryConstant)
    with pytest.raises(ValueError, match="BOUNDARYLOSS_WEIGHT must be a number >= 0, got 'heavy'"):
        trainer.initialize()


def test_map_margin(nnunet_env, monkeypatch):
    """Maps from an enlarged augmented patch, cropped back: nnU-Net's shapes, a trainable loss."""
    monkeypatch.setenv("BOUNDARYLOSS_MAP_MARGIN", "3")
    monkeypatch.setenv("BOUNDARYLOSS_REBALANCE_STEP", "0.25")
    trainer = make_trainer(nnunet_env, trainers.nnUNetTrainerBoundaryLoss)
    trainer.on_train_start()
    assert trainer.map_margin() == (4, 4, 4)  # 3 rounded up to the coarsest factor, 4
    plain = make_trainer(nnunet_env, trainers.nnUNetTrainerBoundaryLoss)
    monkeypatch.delenv("BOUNDARYLOSS_MAP_MARGIN")
    plain.initialize()
    initial = trainer.configure_rotation_dummyDA_mirroring_and_inital_patch_size()[2]
    base = plain.configure_rotation_dummyDA_mirroring_and_inital_patch_size()[2]
    assert all(a >= b + 8 for a, b in zip(initial, base, strict=True))
    trainer.current_epoch = 2
    trainer.on_epoch_start()
    batch = next(trainer.dataloader_train)
    assert tuple(batch["data"].shape[2:]) == tuple(PATCH)
    assert [tuple(t.shape[2:]) for t in batch["target"]] == _plan_scales() * 2
    losses = _fixed_batch_losses(trainer)
    assert all(math.isfinite(v) for v in losses), losses
    assert np.mean(losses[-2:]) < np.mean(losses[:2]), losses
    trainer.on_train_end()


class _BoundaryOnEveryClass(trainers.nnUNetTrainerDiceCEBoundaryConstant):
    """nnU-Net's way to change the loss: a subclass overriding ``_build_loss``; here the
    boundary term reads the background too."""

    def _build_loss(self):
        terms = [GeneralizedDiceLoss(), BoundaryLoss()]
        return DeepSupervisionMapLoss(ScheduledMapLoss(terms, Constant([1.0, 0.5])), [1.0, 0.5])


def test_the_maps_hold_every_channel_the_built_loss_reads():
    # no planning needed: the attributes map_transform reads, on an uninitialised trainer
    trainer = object.__new__(_BoundaryOnEveryClass)
    trainer.configuration_manager = type("Configuration", (), {})()
    trainer.configuration_manager.patch_size = [8, 8, 8]
    trainer.configuration_manager.spacing = [2.0, 1.0, 1.0]
    trainer.label_manager = type("Labels", (), {"num_segmentation_heads": 3})()
    trainer.loss = trainer._build_loss()
    transform = trainer.map_transform()
    assert transform.spec == trainer.loss.per_scale.map_spec
    label = torch.zeros((1, 8, 8, 8), dtype=torch.int16)
    label[0, 2:6, 1:5, 3:7] = 1
    label[0, 5:8, 5:8, 0:3] = 2
    data = transform(**{"segmentation": [label], "image": torch.zeros((1, 8, 8, 8))})
    (_, maps) = data["segmentation"]
    expected = signed_distance_map(label[0].long(), 3, (2.0, 1.0, 1.0))
    # the background channel the loss reads is computed, not left zeros
    torch.testing.assert_close(maps, expected, rtol=1e-6, atol=1e-6)


class _ForegroundSurface(BoundaryLoss):
    """A user's map term: the boundary loss on unsigned maps, foreground only."""

    def __init__(self) -> None:
        super().__init__(include_background=False, convention="rw")


def test_terms_come_from_the_shared_registry(monkeypatch):
    monkeypatch.setattr(LOSSES, "_entries", dict(LOSSES._entries))
    boundary = trainers.build_term("boundary", "map_term", takes_map=True)
    assert isinstance(boundary, BoundaryLoss) and not boundary.include_background
    assert isinstance(trainers.build_term("gdl", "regional", False), GeneralizedDiceLoss)
    register_loss("foreground_surface", _ForegroundSurface)
    term = trainers.build_term("foreground_surface", "map_term", takes_map=True)
    assert isinstance(term, _ForegroundSurface)
    with pytest.raises(ValueError, match="map_term must be one of"):
        trainers.build_term("bogus", "map_term", takes_map=True)
    with pytest.raises(ValueError, match="map_term 'gdl': GeneralizedDiceLoss declares no map"):
        trainers.build_term("gdl", "map_term", takes_map=True)
    with pytest.raises(ValueError, match="regional 'boundary': BoundaryLoss takes a map"):
        trainers.build_term("boundary", "regional", takes_map=False)
