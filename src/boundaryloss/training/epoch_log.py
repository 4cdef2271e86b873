"""Per-epoch logging of a run: one console line, the metrics files, TensorBoard, curves.

The console line is printed after every epoch whatever ``train.progress`` says, so a run
without a terminal (CI, ``nohup``, a batch job) shows where it is; ``train.progress``
only switches the per-step progress bar.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ..config import ConfigError
from .figures import learning_curves
from .history import MetricsLog
from .run_dir import RunDirectory


def _tensorboard_writer(log_dir):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ConfigError(
            "train.tensorboard: the tensorboard package is not installed "
            "(pip install 'boundaryloss[tensorboard]')"
        ) from error
    return SummaryWriter(log_dir=str(log_dir))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


#: Dataset-level validation scores the epoch line shows when the row has them.
EXTRA_SCORES = (
    ("val_pooled_dice_mean", "pooled Dice"),
    ("val_aupr_mean", "AUPR"),
    ("val_lesion_f1_mean", "lesion F1"),
)


def epoch_line(row: dict[str, Any], epochs: int, unit: str) -> str:
    """One line per epoch, e.g.
    ``epoch 3/20 | loss 0.4127 (gdl 0.4, boundary 0.01) | val Dice 0.812 | HD95 3.21 mm | 4.2s``
    (``val Dice 0.812 (in FOV)`` when validation scored inside fields of view,
    ``(2 both-empty not scored)`` when that many (case, class) pairs had the class in
    neither reference nor prediction and were left out of the Dice; HD95 in ``unit``,
    the cases' ``"mm"`` or ``"px"``)."""
    parts = [f"epoch {row['epoch']}/{epochs}", f"loss {row['train_loss']:.4f}"]
    terms = {k[5:]: v for k, v in row.items() if k.startswith("term/")}
    if len(terms) > 1:
        parts[-1] += " (" + ", ".join(f"{k} {v:.4g}" for k, v in terms.items()) + ")"
    if "val_dice_mean" in row:
        notes = ["in FOV"] if row.get("val_fov_cases") else []
        if row.get("val_both_empty"):
            notes.append(f"{row['val_both_empty']} both-empty not scored")
        inside = f" ({'; '.join(notes)})" if notes else ""
        parts.append(f"val Dice {row['val_dice_mean']:.3f}{inside}")
        hd = [v for k, v in row.items() if k.startswith("val_hd95/")]
        if hd:
            parts.append(f"HD95 {np.mean(hd):.2f} {unit}")
        for column, name in EXTRA_SCORES:
            if column in row:
                parts.append(f"{name} {row[column]:.3f}")
    parts.append(f"{row['epoch_seconds']:.1f}s")
    return " | ".join(parts)


class EpochLog:
    """Everything written once per epoch, on the process that writes (rank 0).

    Args:
        run: the run directory (its path may move at the first checkpoint; the log
            follows it because it holds the same :class:`RunDirectory`).
        epochs: the planned number of epochs (for the console line).
        unit: the unit of the validation HD95, the cases'
            :attr:`~boundaryloss.data.case.Case.spacing_unit` (``"mm"`` or ``"px"``).
        active: False on the other DDP ranks: then nothing is printed or written.
        tensorboard: also write TensorBoard scalars to ``RUN/tensorboard``.
        figures: redraw ``figures/curves.png`` after each epoch.
        echo: where console lines go (default: stderr, flushed).
    """

    def __init__(
        self,
        run: RunDirectory,
        epochs: int,
        unit: str,
        active: bool = True,
        tensorboard: bool = False,
        figures: bool = True,
        echo: Callable[[str], None] = _stderr,
    ) -> None:
        self.run = run
        self.epochs = epochs
        self.unit = unit
        self.active = active
        self.figures = figures
        self.echo = echo
        self.metrics = MetricsLog(run)
        self.use_tensorboard = tensorboard and active
        self.tensorboard = _tensorboard_writer(run.tensorboard) if self.use_tensorboard else None

    @property
    def rows(self) -> list[dict[str, Any]]:
        return self.metrics.rows

    def restore(self, up_to_epoch: int) -> None:
        """Keep the rows of the epochs a resumed run has completed."""
        self.metrics.load(up_to_epoch=up_to_epoch)

    def progress_bar(self, epoch: int, steps: int):
        """A tqdm bar over the ``steps`` of ``epoch`` (0-based), or None when inactive."""
        if not self.active:
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=steps, desc=f"epoch {epoch + 1}/{self.epochs}", leave=False, dynamic_ncols=True
        )

    def note(self, line: str) -> None:
        """A one-line message (warnings at set-up)."""
        if self.active:
            self.echo(line)

    def record(self, row: dict[str, Any]) -> None:
        """Append ``row`` (one epoch) to every log and print its line."""
        if not self.active:
            return
        self.metrics.append(row)
        self.echo(epoch_line(row, self.epochs, self.unit))
        if self.tensorboard is not None:
            for key, value in row.items():
                if key != "epoch" and isinstance(value, (int, float)):
                    self.tensorboard.add_scalar(key, value, row["epoch"])
            self.tensorboard.flush()
        if self.figures:
            learning_curves(self.rows, self.run.figures / "curves.png", self.unit)

    def before_move(self) -> None:
        """Close files held open (TensorBoard) before the run directory is renamed."""
        self.close()

    def after_move(self) -> None:
        """Reopen them at the run directory's new path."""
        if self.use_tensorboard and self.tensorboard is None:
            self.tensorboard = _tensorboard_writer(self.run.tensorboard)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
            self.tensorboard = None
