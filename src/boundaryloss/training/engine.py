"""The training loop, on Lightning Fabric: the same run on CPU, one GPU or many (DDP).

A run directory holds ``config.yaml`` (resolved), ``splits.json``, ``environment.json``,
``metrics.csv`` / ``metrics.jsonl`` (one row per epoch), ``checkpoints/last.pt`` and
``checkpoints/best.pt`` (by validation Dice), ``figures/`` and ``summary.json``.
"""

from __future__ import annotations

import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from ..config import ConfigError
from ..data.slicing import most_foreground_slice
from ..metrics import SegmentationEvaluator
from .checkpoint import load_checkpoint, load_model_state, rng_state, save_checkpoint, set_rng_state
from .components import build_loss, build_lr_schedule, build_model, build_optimizer, required_maps
from .config import RunConfig, save_config
from .data import build_run_data, validation_dataset
from .figures import learning_curves, overlay
from .inference import inference_window, predict_with_config
from .run_log import MetricsLog, environment, write_json
from .supervision import batch_loss, full_resolution, training_loss


def snapshot_name(epoch: int) -> str:
    """File name of the end-of-epoch snapshot kept for ``snapshot_epochs``."""
    return f"epoch{epoch:04d}.pt"


def _tensorboard_writer(log_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ConfigError(
            "train.tensorboard: the tensorboard package is not installed "
            "(pip install 'boundaryloss[tensorboard]')"
        ) from error
    return SummaryWriter(log_dir=str(log_dir))


class TrainingDiverged(RuntimeError):
    """The loss became NaN or inf; the last good checkpoint is kept."""


def _fabric(config: RunConfig):
    from lightning_fabric import Fabric

    train = config.train
    return Fabric(
        accelerator=train.accelerator,
        devices=train.devices,
        strategy=train.strategy,
        precision=train.precision,
        num_nodes=train.num_nodes,
    )


class Trainer:
    """Train one configuration; ``fit()`` returns the run summary.

    Args:
        config: the resolved run configuration.
        resume: continue from ``checkpoints/last.pt`` of the run directory (exactly: the
            same batches, augmentations and random numbers as an uninterrupted run).
        overwrite: replace an existing run directory instead of refusing.
        snapshot_epochs: also keep the end-of-epoch checkpoint of these epochs (1-based)
            as ``checkpoints/epochNNNN.pt`` — the exact state a resumed run starts from.
    """

    def __init__(
        self,
        config: RunConfig,
        resume: bool = False,
        overwrite: bool = False,
        snapshot_epochs: tuple[int, ...] = (),
    ) -> None:
        self.config = config
        self.snapshot_epochs = frozenset(snapshot_epochs)
        self.resume = resume
        self.run_dir = config.run_dir
        self.checkpoint_dir = self.run_dir / "checkpoints"
        last = self.checkpoint_dir / "last.pt"
        if resume and not last.is_file():
            raise ValueError(f"--resume: no checkpoint at {last}")
        if not resume and self.run_dir.exists() and any(self.run_dir.iterdir()):
            if not overwrite:
                raise FileExistsError(
                    f"run directory {self.run_dir} exists and is not empty; use --resume to "
                    "continue it, --overwrite to replace it, or another name="
                )
        batch = config.data.batch_size
        if batch < 1:
            raise ConfigError(f"data.batch_size: must be >= 1, got {batch}")
        if config.train.epochs < 1:
            raise ConfigError(f"train.epochs: must be >= 1, got {config.train.epochs}")
        inference_window(config)  # a bad inference section fails now, not at validation

    # --- set-up -----------------------------------------------------------------------

    def _setup(self) -> None:
        config = self.config
        self.fabric = fabric = _fabric(config)
        fabric.launch()
        if not self.resume and fabric.is_global_zero and self.run_dir.exists():
            shutil.rmtree(self.run_dir)  # --overwrite was given (checked in __init__)
        fabric.barrier()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fabric.seed_everything(config.train.seed, verbose=False)

        self.loss_fn = build_loss(config.loss)
        self.map_specs = required_maps(self.loss_fn)
        self.loss_fn = training_loss(self.loss_fn, config, self.map_specs)
        self.data = build_run_data(
            config.data,
            self.map_specs,
            self.run_dir,
            self.resume,
            config.model.spatial_dims,
            config.train.seed,
        )
        num_classes = config.data.num_classes
        model = build_model(
            config.model, self.data.in_channels, num_classes, config.model.spatial_dims
        )
        optimizer = build_optimizer(config.optim, model.parameters())
        self.lr_schedule = build_lr_schedule(config.optim, optimizer, config.train.epochs)
        self.model, self.optimizer = fabric.setup(model, optimizer)
        self.loss_fn = self.loss_fn.to(fabric.device)

        world = fabric.world_size
        if config.data.batch_size % world:
            raise ConfigError(
                f"data.batch_size: {config.data.batch_size} is not divisible by the "
                f"{world} processes"
            )
        self.sampler = DistributedSampler(
            self.data.train,
            num_replicas=world,
            rank=fabric.global_rank,
            shuffle=True,
            seed=config.train.seed,
        )
        self.metrics_log = MetricsLog(self.run_dir)
        self.tensorboard = None
        if config.train.tensorboard and fabric.is_global_zero:
            self.tensorboard = _tensorboard_writer(self.run_dir / "tensorboard")
        if fabric.is_global_zero:
            save_config(config, self.run_dir / "config.yaml")
            write_json(self.run_dir / "environment.json", environment())

    def _loader(self, epoch: int) -> DataLoader:
        config = self.config
        self.sampler.set_epoch(epoch)
        generator = torch.Generator().manual_seed(config.train.seed * 100_003 + epoch)
        per_rank = config.data.batch_size // self.fabric.world_size
        loader = DataLoader(
            self.data.train,
            batch_size=per_rank,
            sampler=self.sampler,
            num_workers=config.data.num_workers,
            drop_last=len(self.sampler) >= 2 * per_rank,  # no batch of 1 for batch norm
            generator=generator,
            persistent_workers=False,
        )
        return self.fabric.setup_dataloaders(loader, use_distributed_sampler=False)

    # --- checkpoints ------------------------------------------------------------------

    def _state(self, epoch: int, step_in_epoch: int, global_step: int) -> dict[str, Any]:
        return {
            "model": self.fabric.strategy.get_module_state_dict(self.model)
            if hasattr(self.fabric.strategy, "get_module_state_dict")
            else self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "lr_schedule": self.lr_schedule.state_dict(),
            "loss": self.loss_fn.state_dict(),
            "epoch": epoch,
            "step_in_epoch": step_in_epoch,
            "global_step": global_step,
            "best_score": self.best_score,
            "rng": rng_state(),
            "config": self.config,
            "in_channels": self.data.in_channels,
            "running": self.running,
        }

    def _save(self, name: str, epoch: int, step_in_epoch: int, global_step: int) -> None:
        if self.fabric.is_global_zero:
            save_checkpoint(
                self.checkpoint_dir / name, self._state(epoch, step_in_epoch, global_step)
            )
        self.fabric.barrier()

    def _restore(self) -> tuple[int, int, int]:
        path = self.checkpoint_dir / "last.pt"
        state = load_checkpoint(path)
        module = self.model.module if hasattr(self.model, "module") else self.model
        load_model_state(module, state["model"], str(path))
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_schedule.load_state_dict(state["lr_schedule"])
        self.loss_fn.load_state_dict(state["loss"])
        self.best_score = state["best_score"]
        self.running = state.get("running", {})
        # "epoch" counts completed epochs, both mid-epoch and at an epoch's end.
        self.metrics_log.load(up_to_epoch=state["epoch"])
        self._resume_rng = state["rng"]
        return state["epoch"], state["step_in_epoch"], state["global_step"]

    # --- validation -------------------------------------------------------------------

    def validate(self) -> dict[str, float]:
        """3D Dice and HD95 per foreground class on whole validation cases (mm)."""
        config = self.config
        model = self.model
        model.eval()
        evaluator = SegmentationEvaluator(
            metrics=("dice", "hd95"),
            num_classes=config.data.num_classes,
            hd_mode="max",
            missing="diagonal",
            empty="perfect",
        )
        dataset = validation_dataset(self.data)
        self.last_predictions: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        for i in range(len(dataset)):
            sample = dataset[i]
            image = sample["image"].to(self.fabric.device)
            probabilities = predict_with_config(model, image, config)
            prediction = probabilities.argmax(0).cpu().numpy()
            label = sample["label"].numpy()
            evaluator.update(
                sample["case_id"], prediction, label, spacing=tuple(sample["spacing"].tolist())
            )
            if len(self.last_predictions) < 3:
                self.last_predictions.append(
                    (sample["case_id"], sample["image"].numpy(), label, prediction)
                )
        model.train()
        summary = evaluator.summary()
        row: dict[str, float] = {}
        dice_means = []
        for metric in ("dice", "hd95"):
            for cls, stats in summary[metric].items():
                row[f"val_{metric}/{cls}"] = float(stats["mean"])
                if metric == "dice":
                    dice_means.append(float(stats["mean"]))
        row["val_dice_mean"] = float(np.mean(dice_means)) if dice_means else float("nan")
        self.evaluator = evaluator
        return row

    # --- the loop ---------------------------------------------------------------------

    def fit(self) -> dict[str, Any]:
        self._setup()
        config, fabric = self.config, self.fabric
        self.best_score = -math.inf
        self.running: dict[str, float] = {}
        start_epoch, skip_steps, global_step = 0, 0, 0
        if self.resume:
            start_epoch, skip_steps, global_step = self._restore()
        started = time.perf_counter()
        schedule = self.loss_fn.schedule
        epochs = config.train.epochs
        for epoch in range(start_epoch, epochs):
            epoch_started = time.perf_counter()
            # Per-epoch seeding makes an epoch's batches and augmentations independent of
            # whether the run was resumed.
            torch.manual_seed(config.train.seed * 100_003 + epoch + 1)
            loader = self._loader(epoch)
            weights = dict(self.loss_fn.weights)
            if skip_steps == 0:
                self.running = {"loss": 0.0, "count": 0}
            progress = self._progress(loader, epoch)
            for step, batch in enumerate(loader):
                if step < skip_steps:
                    if step == skip_steps - 1:
                        set_rng_state(self._resume_rng)
                    continue
                if config.train.max_steps_per_epoch and step >= config.train.max_steps_per_epoch:
                    break
                loss = self._train_step(batch, epoch, step)
                global_step += 1
                if schedule.interval == "iteration":
                    self.loss_fn.step()
                self.running["loss"] += float(loss)
                self.running["count"] += 1
                for name, value in self.loss_fn.last_values.items():
                    self.running[f"term/{name}"] = self.running.get(f"term/{name}", 0.0) + value
                if progress is not None:
                    progress.update(1)
                    progress.set_postfix(loss=f"{float(loss):.4f}")
                every = config.train.checkpoint_every_steps
                if every and global_step % every == 0:
                    self._save("last.pt", epoch, step + 1, global_step)
            skip_steps = 0
            if progress is not None:
                progress.close()

            row: dict[str, Any] = {"epoch": epoch + 1}
            count = max(self.running.get("count", 0), 1)
            row["train_loss"] = self.running.get("loss", 0.0) / count
            for key, value in self.running.items():
                if key.startswith("term/"):
                    row[key] = value / count
            for name, weight in weights.items():
                row[f"weight/{name}"] = weight
            row["lr"] = self.optimizer.param_groups[0]["lr"]
            score = None
            if (epoch + 1) % config.train.val_every == 0 or epoch + 1 == epochs:
                row.update(self.validate())
                score = row["val_dice_mean"]
            row["epoch_seconds"] = time.perf_counter() - epoch_started
            self.lr_schedule.step(score)
            if schedule.interval == "epoch":
                self.loss_fn.step()
            improved = score is not None and score > self.best_score
            if improved:
                self.best_score = score
            if fabric.is_global_zero:
                self.metrics_log.append(row)
                self._log_line(row)
                if self.tensorboard is not None:
                    for key, value in row.items():
                        if key != "epoch" and isinstance(value, (int, float)):
                            self.tensorboard.add_scalar(key, value, epoch + 1)
                    self.tensorboard.flush()
            self._save("last.pt", epoch + 1, 0, global_step)
            if epoch + 1 in self.snapshot_epochs:
                self._save(snapshot_name(epoch + 1), epoch + 1, 0, global_step)
            if improved:
                self._save("best.pt", epoch + 1, 0, global_step)
            if fabric.is_global_zero and config.train.figures:
                learning_curves(self.metrics_log.rows, self.run_dir / "figures" / "curves.png")
        summary = self._finish(time.perf_counter() - started)
        return summary

    def _train_step(self, batch: dict[str, Any], epoch: int, step: int) -> torch.Tensor:
        maps = {spec.argument: batch[spec.argument] for spec in self.map_specs}
        outputs = self.model(batch["image"])
        logits = full_resolution(outputs)
        where = (
            f"at epoch {epoch + 1}, step {step + 1}; stopping. The last good checkpoint is "
            f"kept at {self.checkpoint_dir / 'last.pt'}"
        )
        if not bool(torch.isfinite(logits.detach()).all()):
            raise TrainingDiverged(f"the network output became NaN or inf {where}")
        loss = batch_loss(self.loss_fn, outputs, batch, maps)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"the loss became {float(loss)} {where}")
        self.optimizer.zero_grad(set_to_none=True)
        self.fabric.backward(loss)
        self.optimizer.step()
        return loss.detach()

    def _progress(self, loader, epoch: int):
        if not (self.config.train.progress and self.fabric.is_global_zero):
            return None
        from tqdm.auto import tqdm

        total = len(loader)
        if self.config.train.max_steps_per_epoch:
            total = min(total, self.config.train.max_steps_per_epoch)
        return tqdm(
            total=total,
            desc=f"epoch {epoch + 1}/{self.config.train.epochs}",
            leave=False,
            dynamic_ncols=True,
        )

    def _log_line(self, row: dict[str, Any]) -> None:
        if not self.config.train.progress:
            return
        parts = [f"epoch {row['epoch']:>3}", f"loss {row['train_loss']:.4f}"]
        if "val_dice_mean" in row:
            parts.append(f"val Dice {row['val_dice_mean']:.3f}")
            hd = [v for k, v in row.items() if k.startswith("val_hd95/")]
            if hd:
                parts.append(f"HD95 {np.mean(hd):.2f}")
        parts.append(f"{row['epoch_seconds']:.1f}s")
        self.fabric.print(" | ".join(parts))

    def _finish(self, seconds: float) -> dict[str, Any]:
        summary = {
            "run_dir": str(self.run_dir),
            "epochs": self.config.train.epochs,
            "best_val_dice_mean": self.best_score,
            "train_seconds": seconds,
            "device": str(self.fabric.device),
            "world_size": self.fabric.world_size,
            "final": self.metrics_log.rows[-1] if self.metrics_log.rows else {},
        }
        if self.tensorboard is not None:
            self.tensorboard.close()
        if self.fabric.is_global_zero:
            write_json(self.run_dir / "summary.json", summary)
            if self.config.train.figures:
                for case_id, image, label, prediction in getattr(self, "last_predictions", []):
                    image2d, label2d, pred2d = _middle_slice(
                        image, label, prediction, self.data.slice_axis
                    )
                    overlay(
                        image2d,
                        label2d,
                        pred2d,
                        self.run_dir / "figures" / f"overlay_{case_id}.png",
                        title=case_id,
                    )
        return summary


def _middle_slice(image, label, prediction, axis: int):
    """The slice with the most reference foreground (2D cases are returned as they are)."""
    if label.ndim == 2:
        return image, label, prediction
    index = most_foreground_slice(label, axis)
    take = lambda a, off=0: np.take(a, index, axis=axis + off)  # noqa: E731
    return take(image, 1), take(label), take(prediction)
