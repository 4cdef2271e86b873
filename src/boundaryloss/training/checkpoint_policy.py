"""When a run saves which checkpoint: the checkpoint policy of the trainer.

``last.pt`` after every epoch (and every ``every_steps`` optimiser steps), ``best.pt``
when the validation score improves, and ``epochNNNN.pt`` at the requested epochs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .run_dir import BEST_CHECKPOINT, LAST_CHECKPOINT, snapshot_name


class CheckpointPolicy:
    """Decide the checkpoint files to write; track the best validation score.

    Args:
        every_steps: also save ``last.pt`` every this many optimiser steps (None: never
            mid-epoch).
        snapshot_epochs: keep the end-of-epoch state of these epochs (1-based).
    """

    def __init__(self, every_steps: int | None = None, snapshot_epochs: Iterable[int] = ()) -> None:
        self.every_steps = every_steps
        self.snapshot_epochs = frozenset(snapshot_epochs)
        self.best_score = -math.inf

    def after_step(self, global_step: int) -> bool:
        """Whether to save ``last.pt`` after this optimiser step."""
        return bool(self.every_steps) and global_step % self.every_steps == 0

    def after_epoch(self, epoch: int, score: float | None) -> list[str]:
        """File names to write after ``epoch`` (1-based) with validation ``score``
        (None: not validated); updates the best score."""
        names = [LAST_CHECKPOINT]
        if epoch in self.snapshot_epochs:
            names.append(snapshot_name(epoch))
        if score is not None and score > self.best_score:
            self.best_score = score
            names.append(BEST_CHECKPOINT)
        return names
