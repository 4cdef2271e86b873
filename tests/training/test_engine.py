"""The training loop: outputs, exact resume (at epoch ends and mid-epoch), divergence."""

from __future__ import annotations

import json

import pytest
import torch

from boundaryloss.training import engine as engine_module
from boundaryloss.training.engine import Trainer, TrainingDiverged
from tests.tiny_runs import TINY_3D

BOUNDARY = [
    "loss.terms=[{name: gdl}, {name: boundary, kwargs: {include_background: false}}]",
    "loss.schedule={name: rebalance, kwargs: {step: 0.25}}",
]


def final_weights(run_dir):
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=False)["model"]


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_tiny_run_writes_everything(tiny_config):
    config = tiny_config(*BOUNDARY, "train.figures=true", "train.tensorboard=true")
    summary = Trainer(config).fit()
    run = config.run_dir
    for name in (
        "config.yaml",
        "splits.json",
        "environment.json",
        "metrics.csv",
        "metrics.jsonl",
        "summary.json",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
        "figures/curves.png",
    ):
        assert (run / name).is_file(), name
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    # Rebalance with step 0.25: epoch 1 trains with (1, 0), epoch 2 with (0.75, 0.25).
    assert rows[0]["weight/gdl"] == 1.0 and rows[1]["weight/gdl"] == 0.75
    assert rows[1]["weight/boundary"] == pytest.approx(0.25)
    assert {"val_dice/1", "val_hd95/1", "val_dice_mean", "term/boundary"} <= set(rows[1])
    assert summary["best_val_dice_mean"] == max(r["val_dice_mean"] for r in rows)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=False)
    assert state["epoch"] == 2 and state["step_in_epoch"] == 0
    assert {"model", "optimizer", "lr_schedule", "loss", "rng", "config"} <= set(state)


def test_refuses_to_overwrite_a_run(tiny_config):
    config = tiny_config("train.epochs=1")
    Trainer(config).fit()
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        Trainer(config)
    with pytest.raises(ValueError, match="no checkpoint"):
        Trainer(tiny_config(name="other"), resume=True)


def test_resume_at_epoch_end_equals_uninterrupted(tiny_config):
    full = tiny_config(*BOUNDARY, "train.epochs=4", name="full")
    Trainer(full).fit()
    half = tiny_config(*BOUNDARY, "train.epochs=2", name="half")
    Trainer(half).fit()
    resumed = tiny_config(*BOUNDARY, "train.epochs=4", name="half")
    Trainer(resumed, resume=True).fit()
    assert_same_weights(final_weights(full.run_dir), final_weights(half.run_dir))
    rows_full = (full.run_dir / "metrics.jsonl").read_text().splitlines()
    rows_half = (half.run_dir / "metrics.jsonl").read_text().splitlines()
    strip = lambda r: {k: v for k, v in json.loads(r).items() if k != "epoch_seconds"}  # noqa: E731
    assert [strip(r) for r in rows_full] == [strip(r) for r in rows_half]


def test_killed_mid_epoch_resumes_from_its_last_checkpoint(tiny_config, monkeypatch):
    overrides = (*BOUNDARY, "train.epochs=2", "train.checkpoint_every_steps=1")
    reference = tiny_config(*overrides, name="reference")
    Trainer(reference).fit()

    interrupted = tiny_config(*overrides, name="interrupted")
    original = Trainer._train_step
    calls = {"n": 0}

    def killed_at_step_3(self, batch, epoch, step):
        calls["n"] += 1
        if calls["n"] == 3:  # epoch 2, step 1 (2 steps per epoch)
            raise KeyboardInterrupt
        return original(self, batch, epoch, step)

    monkeypatch.setattr(Trainer, "_train_step", killed_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        Trainer(interrupted).fit()
    state = torch.load(interrupted.run_dir / "checkpoints" / "last.pt", weights_only=False)
    assert (state["epoch"], state["global_step"]) == (1, 2)
    monkeypatch.setattr(Trainer, "_train_step", original)
    Trainer(interrupted, resume=True).fit()
    assert_same_weights(final_weights(reference.run_dir), final_weights(interrupted.run_dir))


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tiny_config, monkeypatch):
    config = tiny_config("train.epochs=3")
    calls = {"n": 0}
    original = engine_module.Trainer._train_step

    def poisoned(self, batch, epoch, step):
        calls["n"] += 1
        if calls["n"] == 3:
            batch = dict(batch, image=batch["image"] * float("nan"))
        return original(self, batch, epoch, step)

    monkeypatch.setattr(engine_module.Trainer, "_train_step", poisoned)
    with pytest.raises(TrainingDiverged, match=r"became NaN or inf at epoch 2, step 1"):
        Trainer(config).fit()
    state = torch.load(config.run_dir / "checkpoints" / "last.pt", weights_only=False)
    assert state["epoch"] == 1  # the checkpoint of the last good epoch


def test_3d_patch_training_with_sliding_window_validation(tiny_config):
    config = tiny_config(
        *BOUNDARY,
        "train.epochs=1",
        *TINY_3D,
        "data.patch_size=[8, 12, 8]",  # not square in (0, 1): no 90-degree rotations
    )
    summary = Trainer(config).fit()
    row = summary["final"]
    assert row["epoch"] == 1 and 0.0 <= row["val_dice_mean"] <= 1.0
    assert "val_hd95/1" in row


def test_smallest_batch_matches_the_loader():
    from torch.utils.data import DataLoader

    from boundaryloss.training.batching import drop_last, smallest_batch

    for samples in range(1, 12):
        for per_rank in (1, 2, 3, 4):
            loader = DataLoader(
                list(range(samples)),
                batch_size=per_rank,
                drop_last=drop_last(samples, per_rank),
            )
            assert smallest_batch(samples, per_rank) == min(len(b) for b in loader)
