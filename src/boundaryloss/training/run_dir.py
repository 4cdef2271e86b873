"""The layout of a run directory, known in one place.

A run directory ``OUTPUT_DIR/NAME`` holds::

    .boundaryloss.json   the mark of ``train`` (what ``--overwrite`` may replace)
    config.yaml          the resolved configuration
    splits.json          the case-level train/validation split
    environment.json     versions, platform, command
    metrics.csv          one row per epoch (also metrics.jsonl)
    checkpoints/last.pt  the state a resumed run starts from
    checkpoints/best.pt  the model with the best validation Dice
    checkpoints/epochNNNN.pt  snapshots kept on request
    figures/             learning curves and overlays
    tensorboard/         TensorBoard events (optional)
    summary.json         written when training finished
    evaluation/          cases.csv and summary.json of ``boundaryloss evaluate``
    evaluation_test/     the same for ``--split test``
    evaluation_best/     the evaluation of ``best.pt`` that ``compare`` keeps when it
    evaluation_last/     reports the other checkpoint (same for ``last.pt``)

A new run is built in a hidden staging directory beside it, ``.NAME.staging``, and
moved into place at its first checkpoint (:meth:`RunDirectory.promote`), so a failed
set-up leaves nothing behind and ``--overwrite`` removes the old run only once the new
one has trained up to a checkpoint. The lock of a run is ``.NAME.lock`` beside it.

``--overwrite`` replaces only a run (:meth:`RunDirectory.is_run`): a folder holding the
mark ``train`` writes first (:data:`~boundaryloss._ownership.FOLDER_MARK`), or, for a
run of a version before the mark, ``config.yaml`` and a ``checkpoints/last.pt`` that
loads as a boundaryloss checkpoint (every run that trained up to a checkpoint has both;
neither alone, nor an empty ``checkpoints/``, tells a run from a source tree or a
notes folder). Any other non-empty folder is refused.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from .._files import remove_temporaries
from .._lock import DirectoryLock
from .._ownership import FOLDER_MARK, is_folder_of, mark_folder

#: Names a checkpoint may be referred to by (``--checkpoint best``).
CHECKPOINT_NAMES = ("best", "last")
#: File names of the checkpoints a run keeps.
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
#: The command that makes run directories, as their folder mark names it.
WRITTEN_BY = "boundaryloss train"


def snapshot_name(epoch: int) -> str:
    """File name of the end-of-epoch snapshot kept for ``snapshot_epochs``."""
    return f"epoch{epoch:04d}.pt"


class RunDirectory:
    """Paths of one run directory (see the module docstring for the layout).

    Args:
        path: the run directory, ``OUTPUT_DIR/NAME``.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    # --- files ------------------------------------------------------------------------

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"

    @property
    def splits(self) -> Path:
        return self.path / "splits.json"

    @property
    def environment(self) -> Path:
        return self.path / "environment.json"

    @property
    def metrics_csv(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def metrics_jsonl(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def summary(self) -> Path:
        return self.path / "summary.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last(self) -> Path:
        return self.checkpoints / LAST_CHECKPOINT

    @property
    def best(self) -> Path:
        return self.checkpoints / BEST_CHECKPOINT

    def checkpoint(self, name: str) -> Path:
        """``best``/``last`` by name, ``last.pt``-style file names, or ``epochNNNN.pt``."""
        return self.checkpoints / (f"{name}.pt" if name in CHECKPOINT_NAMES else name)

    def snapshot(self, epoch: int) -> Path:
        return self.checkpoints / snapshot_name(epoch)

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def evaluation(self) -> Path:
        """The default folder of ``boundaryloss evaluate`` (see :class:`EvaluationFolder`)."""
        return self.path / "evaluation"

    @property
    def evaluation_test(self) -> Path:
        """The default folder of ``boundaryloss evaluate --split test`` (test results never
        replace validation results)."""
        return self.path / "evaluation_test"

    def evaluation_of(self, checkpoint: str) -> Path:
        """The folder of a checkpoint's evaluation that ``compare`` keeps beside the one of
        the checkpoint it reports (which is :attr:`evaluation`).

        Args:
            checkpoint: ``"best"`` or ``"last"``.

        Returns:
            ``RUN_DIR/evaluation_best`` or ``RUN_DIR/evaluation_last``.

        Raises:
            ValueError: another checkpoint name (naming it).

        Example:
            >>> RunDirectory("runs/gdl").evaluation_of("last").name
            'evaluation_last'
        """
        from .._validation import check_one_of  # torch: only where a name is checked

        check_one_of(checkpoint, CHECKPOINT_NAMES, "checkpoint")
        return self.path / f"evaluation_{checkpoint}"

    def evaluation_folders(self) -> tuple[Path, ...]:
        """Every evaluation folder of the layout: :attr:`evaluation`,
        :attr:`evaluation_test` and :meth:`evaluation_of` each checkpoint name."""
        return (
            self.evaluation,
            self.evaluation_test,
            *(self.evaluation_of(name) for name in CHECKPOINT_NAMES),
        )

    # --- state ------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """True when the directory is absent or has no entries."""
        return not self.path.exists() or not any(self.path.iterdir())

    def is_run(self) -> bool:
        """Whether the directory is a run made by ``train`` (see the module docstring):
        it holds the mark, or (a run of a version before the mark) ``config.yaml`` and a
        ``checkpoints/last.pt`` that loads as a boundaryloss checkpoint. Never a link."""
        if self.path.is_symlink():
            return False
        if is_folder_of(self.path, WRITTEN_BY):
            return True
        if not (self.config.is_file() and self.last.is_file()):
            return False
        from .checkpoint_files import load_checkpoint  # torch: only for runs without the mark

        try:
            load_checkpoint(self.last)
        except ValueError:
            return False
        return True

    def write_mark(self) -> None:
        """Write the mark that makes the directory a run (:meth:`is_run`)."""
        mark_folder(self.path, WRITTEN_BY)

    def is_finished(self) -> bool:
        return self.summary.is_file()

    def has_checkpoint(self) -> bool:
        return self.last.is_file()

    # --- staging, swap and lock ---------------------------------------------------------

    @property
    def staging(self) -> Path:
        """Where a new run is built before :meth:`promote` moves it here."""
        return self.path.parent / f".{self.path.name}.staging"

    @property
    def retired(self) -> Path:
        """Where the replaced run waits during :meth:`promote` (removed right after)."""
        return self.path.parent / f".{self.path.name}.replaced"

    def lock(self) -> DirectoryLock:
        """The exclusive lock of this run (``.NAME.lock`` beside it)."""
        return DirectoryLock(self.path, what="run directory")

    def clear_leftovers(self) -> None:
        """Remove what a killed process left: a staging or replaced directory, and
        temporary files of interrupted atomic writes (hold the lock)."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if self.path.exists():  # a crash between the two renames keeps the old run
            shutil.rmtree(self.retired, ignore_errors=True)
        for folder in (self.path, self.checkpoints, self.figures, *self.evaluation_folders()):
            remove_temporaries(folder)

    def promote(self, staging: Path) -> None:
        """Move ``staging`` to this path, replacing (then deleting) what was there.

        Hold the lock. Between the two renames the old run exists as ``.NAME.replaced``.
        """
        if self.path.exists() and any(self.path.iterdir()):
            shutil.rmtree(self.retired, ignore_errors=True)
            os.replace(self.path, self.retired)
            os.replace(staging, self.path)
            shutil.rmtree(self.retired)
        else:
            with contextlib.suppress(FileNotFoundError):
                self.path.rmdir()
            os.replace(staging, self.path)


class EvaluationFolder:
    """The files ``boundaryloss evaluate`` writes into its output folder."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @property
    def cases(self) -> Path:
        """Per-case, per-class metrics."""
        return self.path / "cases.csv"

    @property
    def summary(self) -> Path:
        """Checkpoint, split and per-class statistics."""
        return self.path / "summary.json"

    @property
    def lesions(self) -> Path:
        """Every lesion with its size and whether it is matched (a lesion evaluation's;
        see :mod:`~boundaryloss.evaluation.lesion_file`)."""
        return self.path / "lesions.csv"

    @property
    def score_histograms(self) -> Path:
        """Each case's probability histograms per class (a lesion evaluation's with
        probabilities; see :mod:`~boundaryloss.evaluation.histogram_file`)."""
        return self.path / "score_histograms.csv"


class RunExistsError(FileExistsError):
    """A new run was asked for where a non-empty run directory exists."""


class NoCheckpointError(ValueError):
    """A resume was asked for where there is no checkpoint."""


class RunWorkspace:
    """Where a trainer writes, with the lock, staging and swap around it.

    A resumed run writes into its run directory. A new run (or one replacing another)
    writes into :attr:`RunDirectory.staging` until :meth:`promote` moves it into place
    at its first checkpoint; :meth:`discard` removes an unpromoted staging directory
    after a failure. As a context manager it holds the run's lock (when ``lock``),
    checks the directory again under it and removes a killed process's leftovers.

    Args:
        target: the run directory.
        resume: continue the run in place.
        overwrite: a non-empty ``target`` may be replaced (at the first checkpoint).
        lock: take the lock (False in DDP ranks started by the launching process).

    Raises:
        NoCheckpointError: ``resume`` and there is no ``last.pt``.
        RunExistsError: neither ``resume`` nor ``overwrite`` and ``target`` is not empty;
            or ``overwrite`` and ``target`` is a non-empty folder that is not a run
            (:meth:`RunDirectory.is_run`).
        ValueError: a new run where ``target`` is a symbolic link (the swap would
            replace the link, not the folder it points to).
        LockHeldError: on entering, when another process holds the lock.
    """

    def __init__(self, target: RunDirectory, resume: bool, overwrite: bool, lock: bool) -> None:
        self.target = target
        self.resume = resume
        self.overwrite = overwrite
        self.run = RunDirectory(target.path if resume else target.staging)
        self._lock = target.lock() if lock else None
        self.check()

    @property
    def staged(self) -> bool:
        """True while the run is still being built in the staging directory."""
        return self.run.path != self.target.path

    def check(self) -> None:
        if self.resume:
            if not self.target.has_checkpoint():
                raise NoCheckpointError(f"resume: no checkpoint at {self.target.last}")
            return
        if self.target.path.is_symlink():
            raise ValueError(
                f"name: {self.target.path} is a symbolic link; a new run would replace the "
                "link, not the folder it points to. Give output_dir= the real folder"
            )
        if not self.target.is_empty():
            if not self.overwrite:
                raise RunExistsError(f"run directory {self.target.path} exists and is not empty")
            if not self.target.is_run():
                raise RunExistsError(
                    f"{self.target.path} is not empty and holds no run made by boundaryloss "
                    f"train (no {FOLDER_MARK}; a run of an older version needs config.yaml "
                    "and a readable checkpoints/last.pt); refusing to replace it"
                )

    def __enter__(self) -> RunWorkspace:
        if self._lock is None:
            return self
        self._lock.acquire()
        try:
            self.check()  # again, now that no one else can change it
            self.target.clear_leftovers()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, kind, error, trace) -> None:
        if self._lock is not None:
            self._lock.release()

    def promote(self) -> None:
        """Move the staging directory into place, replacing the old run (call on the
        writing process, then :meth:`moved` on every process)."""
        self.target.promote(self.run.path)

    def moved(self) -> None:
        """From now on, write into the run directory."""
        self.run.path = self.target.path

    def discard(self) -> None:
        """Remove the staging directory of a run that failed before its first checkpoint."""
        if self.staged:
            shutil.rmtree(self.run.path, ignore_errors=True)
