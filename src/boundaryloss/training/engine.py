"""The training loop, on Lightning Fabric: the same run on CPU, one GPU or many (DDP).

The run directory's layout is :class:`~boundaryloss.training.run_dir.RunDirectory`'s;
per-epoch logging is :class:`~boundaryloss.training.epoch_log.EpochLog`'s and the
choice of checkpoints :class:`~boundaryloss.training.checkpoint_policy.CheckpointPolicy`'s.

Safety of the files: every value is checked before the first write; the run directory
is locked while training; a new run (or one replacing another) is built in a hidden
staging directory that becomes the run directory at its first checkpoint, so a failed
set-up leaves nothing behind and a replaced run is deleted only then; a resume rewrites
``config.yaml`` only once the checkpoint has been restored.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, DistributedSampler

from .._validation import all_finite
from ..config import ConfigError, to_dict
from ..data.splits import save_splits
from ..evaluation.inference import predict_with_config
from .batching import (
    MixedSizes,
    check_batch_size,
    check_batch_split,
    epoch_loader,
    smallest_batch,
)
from .checkpoint_files import (
    checkpoint_config,
    load_checkpoint,
    load_model_state,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .checkpoint_policy import CheckpointPolicy
from .checks import check_run_config
from .components import (
    build_checked_model,
    build_loss,
    build_lr_schedule,
    build_optimizer,
    required_maps,
)
from .config import RunConfig, check_resumable, load_config, save_config
from .data import RunData, build_run_data, validation_dataset
from .environment import environment, write_json
from .epoch_log import EpochLog
from .run_dir import (
    LAST_CHECKPOINT,
    NoCheckpointError,
    RunDirectory,
    RunExistsError,
    RunWorkspace,
    snapshot_name,
)
from .supervision import batch_loss, full_resolution, scale_targets_transform, training_loss
from .validation import SELECTION_COLUMNS, Validator

__all__ = [
    "NoCheckpointError",
    "RunExistsError",
    "Trainer",
    "TrainingDiverged",
    "snapshot_name",
]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or inf; the last good checkpoint is kept."""


def _fabric(config: RunConfig):
    """Lightning Fabric for ``train.accelerator/devices/strategy/precision/num_nodes``,
    not launched yet; its ``global_rank`` is already this process's (0 in the process
    the user started, whatever a stale ``RANK`` in the environment says).

    Raises:
        ConfigError: Fabric refuses one of them (its message names the value), or
            ``data.batch_size`` cannot be split over its processes (checked here, before
            launching: each launched process would stop with the same error).
    """
    from lightning_fabric import Fabric

    train = config.train
    try:
        fabric = Fabric(
            accelerator=train.accelerator,
            devices=train.devices,
            strategy=train.strategy,
            precision=train.precision,
            num_nodes=train.num_nodes,
        )
    except (ValueError, TypeError, RuntimeError) as error:
        raise ConfigError(f"train: {' '.join(str(error).split())}") from None
    check_batch_split(config.data.batch_size, fabric.world_size, train.devices, train.num_nodes)
    return fabric


def saved_config(run: RunDirectory) -> RunConfig:
    """The configuration a run was trained with: its ``config.yaml``, else (a run that
    lost it) the one in ``checkpoints/last.pt``.

    Raises:
        ConfigError: the file cannot be read or does not match this version's settings.
    """
    if run.config.is_file():
        return load_config(run.config)
    try:
        return checkpoint_config(load_checkpoint(run.last), run.last)
    except ValueError as error:
        raise ConfigError(str(error)) from None


class Trainer:
    """Train one configuration; ``fit()`` returns the run summary.

    Args:
        config: the resolved run configuration.
        resume: continue from ``checkpoints/last.pt`` of the run directory (exactly: the
            same batches, augmentations and random numbers as an uninterrupted run).
        overwrite: replace an existing run (see
            :meth:`~boundaryloss.training.run_dir.RunDirectory.is_run`) instead of
            refusing; the old run is deleted only when the new one writes its first
            checkpoint.
        snapshot_epochs: also keep the end-of-epoch checkpoint of these epochs (1-based)
            as ``checkpoints/epochNNNN.pt`` — the exact state a resumed run starts from.

    Raises:
        ConfigError: a wrong configuration value (names the key).
        NoCheckpointError: ``resume`` without a checkpoint.
        RunExistsError: neither ``resume`` nor ``overwrite`` and the run directory is
            not empty, or it is not empty and holds no run.
        ValueError: a new run whose run directory is a symbolic link.
    """

    def __init__(
        self,
        config: RunConfig,
        resume: bool = False,
        overwrite: bool = False,
        snapshot_epochs: tuple[int, ...] = (),
    ) -> None:
        check_run_config(config)
        self.config = config
        self.resume = resume
        self.target = RunDirectory(config.run_dir)
        # Before launching: a wrong device count or batch split fails once, here, not in
        # every process it would start.
        self.fabric = _fabric(config)
        # Only global rank 0 (as Fabric determines it: the launching process, or rank 0
        # of torchrun or SLURM) locks and tidies the run directory.
        self.workspace = RunWorkspace(
            self.target, resume, overwrite, lock=self.fabric.global_rank == 0
        )
        if resume:  # after the workspace's check: there is a checkpoint
            check_resumable(saved_config(self.target), config, self.target.config)
        # Where this process writes: the run directory when resuming, else the staging
        # directory until the first checkpoint promotes it.
        self.run = self.workspace.run
        self.policy = CheckpointPolicy(config.train.checkpoint_every_steps, snapshot_epochs)
        # Set by fit():
        self.loss_fn = None
        self.map_specs: list = []
        self.data: RunData | None = None
        self.model = None
        self.optimizer = None
        self.lr_schedule = None
        self.sampler: DistributedSampler | None = None
        self.log: EpochLog | None = None
        self.running: dict[str, float] = {}
        self.validator: Validator | None = None
        self._resume_rng: dict[str, Any] | None = None
        self._reported_classes: set[int] = set()

    @property
    def run_dir(self) -> Path:
        """The run directory (``OUTPUT_DIR/NAME``)."""
        return self.target.path

    @property
    def best_score(self) -> float:
        return self.policy.best_score

    # --- set-up (nothing written) -----------------------------------------------------

    def _setup(self) -> None:
        config, fabric = self.config, self.fabric
        fabric.launch()
        fabric.seed_everything(config.train.seed, verbose=False)
        self.loss_fn = build_loss(config.loss)
        self.map_specs = required_maps(self.loss_fn)
        self.loss_fn = training_loss(self.loss_fn, config, self.map_specs)
        scale_targets = scale_targets_transform(config, self.loss_fn, self.map_specs)
        try:
            self.data = build_run_data(
                config.data,
                self.map_specs,
                self.target.splits if self.resume else None,
                config.model.spatial_dims,
                config.train.seed,
                scale_targets,
            )
        except ConfigError:
            raise
        except ValueError as error:  # from the data layer: name the section
            raise ConfigError(f"data: {error}") from None
        num_classes = config.data.num_classes
        per_rank = config.data.batch_size // fabric.world_size
        check_batch_size(config.data.batch_size, len(self.data.train), fabric.world_size)
        samples = math.ceil(len(self.data.train) / fabric.world_size)
        model = build_checked_model(
            config.model,
            self.data.in_channels,
            num_classes,
            self.data.sample_shape,
            smallest_batch(samples, per_rank),
        )
        optimizer = build_optimizer(config.optim, model.parameters())
        self.lr_schedule = build_lr_schedule(config.optim, optimizer, config.train.epochs)
        self.model, self.optimizer = fabric.setup(model, optimizer)
        self.loss_fn = self.loss_fn.to(fabric.device)
        world = fabric.world_size
        self.sampler = DistributedSampler(
            self.data.train,
            num_replicas=world,
            rank=fabric.global_rank,
            shuffle=True,
            seed=config.train.seed,
        )
        self.validator = Validator(
            num_classes,
            lambda model, image: predict_with_config(model, image, config),
            self.data.slice_axis,
            aupr=config.train.val_lesion_metrics or config.train.selection_metric == "aupr",
            lesion=config.train.val_lesion_metrics or config.train.selection_metric == "lesion_f1",
        )
        # Classes already reported as never in any label (at set-up, from the dataset's
        # description), so the first validation does not report them again.
        self._reported_classes = set(self.data.absent_classes)

    def _restore(self) -> tuple[int, int, int]:
        path = self.target.last
        state = load_checkpoint(path)
        done = int(state["epoch"])
        if done > self.config.train.epochs:
            raise ConfigError(
                f"train.epochs: {self.config.train.epochs}, but {path} has already trained "
                f"{done} epochs; resume with train.epochs >= {done}"
            )
        module = self.model.module if hasattr(self.model, "module") else self.model
        load_model_state(module, state["model"], str(path))
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_schedule.load_state_dict(state["lr_schedule"])
        self.loss_fn.load_state_dict(state["loss"])
        self.policy.best_score = float(state["best_score"])
        self.running = dict(state.get("running", {}))
        self._resume_rng = state["rng"]
        return done, int(state["step_in_epoch"]), int(state["global_step"])

    # --- the first writes ---------------------------------------------------------------

    def _begin(self, completed_epochs: int) -> None:
        """Create the working directory and write config, split and environment."""
        fabric, config = self.fabric, self.config
        if fabric.is_global_zero:
            self.run.path.mkdir(parents=True, exist_ok=True)
            self.run.write_mark()  # first (a resumed run of an older version gets it too)
            save_config(config, self.run.config)
            if not self.run.splits.is_file():
                save_splits(self.run.splits, self.data.split)
            write_json(self.run.environment, environment())
        fabric.barrier()
        self.log = EpochLog(
            self.run,
            config.train.epochs,
            self.data.spacing_unit,
            active=fabric.is_global_zero,
            tensorboard=config.train.tensorboard,
            figures=config.train.figures,
        )
        if self.resume:
            self.log.restore(up_to_epoch=completed_epochs)
        if self.data.absent_classes:
            absent = ", ".join(map(str, self.data.absent_classes))
            self.log.note(
                f"warning: data.num_classes is {config.data.num_classes} but the labels "
                f"never contain class(es) {absent}; they are left out of val_dice_mean"
            )

    def _promote(self) -> None:
        """Move the staging directory into place (the old run, if any, goes now)."""
        if not self.workspace.staged:
            return
        if self.fabric.is_global_zero:
            self.log.before_move()
            self.workspace.promote()
        self.fabric.barrier()
        self.workspace.moved()
        self.log.after_move()

    # --- checkpoints --------------------------------------------------------------------

    def _state(self, epoch: int, step_in_epoch: int, global_step: int) -> dict[str, Any]:
        strategy = self.fabric.strategy
        return {
            "model": strategy.get_module_state_dict(self.model)
            if hasattr(strategy, "get_module_state_dict")
            else self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "lr_schedule": self.lr_schedule.state_dict(),
            "loss": self.loss_fn.state_dict(),
            "epoch": epoch,
            "step_in_epoch": step_in_epoch,
            "global_step": global_step,
            "best_score": self.policy.best_score,
            "rng": rng_state(),
            "config": to_dict(self.config),
            "in_channels": self.data.in_channels,
            "image_channels": self.data.image_channels,
            "running": self.running,
        }

    def _save(self, name: str, epoch: int, step_in_epoch: int, global_step: int) -> None:
        if self.fabric.is_global_zero:
            save_checkpoint(
                self.run.checkpoints / name, self._state(epoch, step_in_epoch, global_step)
            )
        self.fabric.barrier()
        self._promote()

    # --- validation -------------------------------------------------------------------

    def validate(self) -> dict[str, float]:
        """3D Dice and HD95 per foreground class on whole validation cases (HD95 in the
        cases' unit, ``data.spacing_unit``: mm or px), inside their fields of view; see
        :class:`~boundaryloss.training.validation.Validator`; a class first found in no
        validation reference is reported once (it is left out of ``val_dice_mean``)."""
        row = self.validator(self.model, validation_dataset(self.data), self.fabric.device)
        unreported = [c for c in self.validator.unreferenced if c not in self._reported_classes]
        if unreported:
            self._reported_classes.update(unreported)
            self.log.note(
                f"warning: class(es) {', '.join(map(str, unreported))} appear in no validation "
                "reference; left out of val_dice_mean (the best-checkpoint score), as a "
                "perfect score for predicting nothing would inflate it"
            )
        return row

    # --- the loop ---------------------------------------------------------------------

    def fit(self) -> dict[str, Any]:
        """Train (under the run directory's lock) and return the summary.

        Raises:
            LockHeldError: another process is using the run directory.
            TrainingDiverged: the loss or the network output became NaN or inf.
        """
        with self.workspace:
            try:
                return self._fit()
            except BaseException:
                if self.fabric.is_global_zero:
                    self.workspace.discard()
                raise

    def _fit(self) -> dict[str, Any]:
        self._setup()
        config = self.config
        start_epoch, skip_steps, global_step = 0, 0, 0
        if self.resume:
            start_epoch, skip_steps, global_step = self._restore()
        self._begin(start_epoch)
        # Training time across resumptions: the epochs logged before this invocation too.
        earlier = sum(float(row.get("epoch_seconds", 0.0)) for row in self.log.rows)
        started = time.perf_counter() - earlier
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
            steps = len(loader)
            if config.train.max_steps_per_epoch:
                steps = min(steps, config.train.max_steps_per_epoch)
            progress = self.log.progress_bar(epoch, steps) if config.train.progress else None
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
                self._accumulate(loss)
                if progress is not None:
                    progress.update(1)
                    progress.set_postfix(loss=f"{float(loss):.4f}")
                if self.policy.after_step(global_step):
                    self._save(LAST_CHECKPOINT, epoch, step + 1, global_step)
            skip_steps = 0
            if progress is not None:
                progress.close()
            row = self._epoch_row(epoch, weights)
            score = None
            if (epoch + 1) % config.train.val_every == 0 or epoch + 1 == epochs:
                row.update(self.validate())
                score = row[SELECTION_COLUMNS[config.train.selection_metric]]
                if math.isnan(score):
                    score = -math.inf  # never the best: e.g. no reference lesion to find
            row["epoch_seconds"] = time.perf_counter() - epoch_started
            self.lr_schedule.step(score)
            if schedule.interval == "epoch":
                self.loss_fn.step()
            names = self.policy.after_epoch(epoch + 1, score)
            self.log.record(row)
            for name in names:
                self._save(name, epoch + 1, 0, global_step)
        return self._finish(time.perf_counter() - started)

    def _loader(self, epoch: int) -> DataLoader:
        config = self.config
        loader = epoch_loader(
            self.data.train,
            self.sampler,
            config.data.batch_size // self.fabric.world_size,
            config.data.num_workers,
            config.train.seed,
            epoch,
        )
        return self.fabric.setup_dataloaders(loader, use_distributed_sampler=False)

    def _accumulate(self, loss: torch.Tensor) -> None:
        self.running["loss"] += float(loss)
        self.running["count"] += 1
        for name, value in self.loss_fn.last_values.items():
            self.running[f"term/{name}"] = self.running.get(f"term/{name}", 0.0) + value

    def _epoch_row(self, epoch: int, weights: dict[str, float]) -> dict[str, Any]:
        row: dict[str, Any] = {"epoch": epoch + 1}
        count = max(self.running.get("count", 0), 1)
        row["train_loss"] = self.running.get("loss", 0.0) / count
        for key, value in self.running.items():
            if key.startswith("term/"):
                row[key] = value / count
        for name, weight in weights.items():
            row[f"weight/{name}"] = weight
        row["lr"] = self.optimizer.param_groups[0]["lr"]
        return row

    def _train_step(self, batch: Any, epoch: int, step: int) -> torch.Tensor:
        if isinstance(batch, MixedSizes):
            raise batch.error()
        maps = {spec.argument: batch[spec.argument] for spec in self.map_specs}
        outputs = self.model(batch["image"])
        logits = full_resolution(outputs)
        if not self.workspace.staged:
            kept = f"the last good checkpoint is kept at {self.run.last}"
        else:
            kept = "no checkpoint had been written, so nothing is kept"
        where = f"at epoch {epoch + 1}, step {step + 1}; stopping ({kept})"
        if not all_finite(logits.detach()):
            raise TrainingDiverged(f"the network output became NaN or inf {where}")
        loss = batch_loss(self.loss_fn, outputs, batch, maps)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"the loss became {float(loss)} {where}")
        self.optimizer.zero_grad(set_to_none=True)
        self.fabric.backward(loss)
        self.optimizer.step()
        return loss.detach()

    def _validation_fov(self) -> dict[str, Any] | None:
        """Whether validation scored inside the fields of view, as ``boundaryloss
        evaluate`` reports it (``{"applied", "num_cases"}``), from the last validated
        epoch; None when no row says (a log written before the column existed)."""
        counts = [row["val_fov_cases"] for row in self.log.rows if "val_fov_cases" in row]
        if not counts:
            return None
        return {"applied": counts[-1] > 0, "num_cases": counts[-1]}

    def _best_epoch(self) -> int | None:
        """The epoch whose validation wrote ``best.pt`` (the first with the best score)."""
        column = SELECTION_COLUMNS[self.config.train.selection_metric]
        best, epoch = -math.inf, None
        for row in self.log.rows:
            value = row.get(column)
            if value is not None and not math.isnan(float(value)) and float(value) > best:
                best, epoch = float(value), int(row["epoch"])
        return epoch

    def _best_row_value(self, column: str) -> float:
        """``column`` at the best epoch (the best score when selecting by it)."""
        epoch = self._best_epoch()
        for row in self.log.rows:
            if epoch is not None and int(row["epoch"]) == epoch and column in row:
                return float(row[column])
        return -math.inf if epoch is None else float("nan")

    def _finish(self, seconds: float) -> dict[str, Any]:
        self._promote()  # a resumed run that had nothing left to train
        summary = {
            "run_dir": str(self.target.path),
            "epochs": self.config.train.epochs,
            "best_val_dice_mean": self._best_row_value("val_dice_mean"),
            "selection_metric": self.config.train.selection_metric,
            "best_val_score": self.policy.best_score,
            "best_epoch": self._best_epoch(),
            # The classes val_dice_mean averaged (its cases where a class is in neither
            # the reference nor the prediction are left out: see Validator).
            "val_dice_mean_classes": list(self.validator.selected)
            if self.validator.evaluator is not None
            else None,
            "val_fov": self._validation_fov(),
            "spacing_unit": self.data.spacing_unit,
            "train_seconds": seconds,
            "device": str(self.fabric.device),
            "world_size": self.fabric.world_size,
            "final": self.log.rows[-1] if self.log.rows else {},
        }
        self.log.close()
        if self.fabric.is_global_zero:
            write_json(self.run.summary, summary)
            if self.config.train.figures:
                self.validator.draw_examples(self.run.figures)
        return summary
