"""The layout of a comparison's output folder, known in one place.

``boundaryloss compare`` writes into ``OUTPUT`` (``output_dir/name`` of the experiment)::

    runs/LOSS/seedN/     one run directory per loss and seed (its layout:
                         :class:`~boundaryloss.training.run_dir.RunDirectory`)
    cases.csv            per-case, per-class records at the reported checkpoint
    cases_best.csv       the same at the other checkpoint, with ``report.last_epoch``
    cases_last.csv       (one of the two; the other is removed)
    report.md            the report, its figures linked
    report.html          the same, self-contained (figures embedded)
    figures/             the report's figures (PNG)

Hidden entries are the folder's lock and temporary files of interrupted writes.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._validation import check_one_of
from ..training.run_dir import CHECKPOINT_NAMES

#: The checkpoints a comparison evaluates and writes records of (``best``, ``last``).
CHECKPOINTS = CHECKPOINT_NAMES


class ComparisonFolder:
    """Paths of one comparison's output folder (see the module docstring for the layout).

    Args:
        path: the output folder, ``OUTPUT``.

    Example:
        >>> folder = ComparisonFolder("comparisons/demo")
        >>> folder.run_dir("gdl", 2).as_posix()
        'comparisons/demo/runs/gdl/seed2'
        >>> folder.figure("stability").as_posix()
        'comparisons/demo/figures/stability.png'
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ComparisonFolder({str(self.path)!r})"

    @property
    def runs(self) -> Path:
        """The folder of the run directories (``OUTPUT/runs``)."""
        return self.path / "runs"

    def loss_runs(self, loss: str) -> Path:
        """The folder of one loss configuration's runs, one per seed (``runs/LOSS``)."""
        return self.runs / loss

    def run_dir(self, loss: str, seed: int) -> Path:
        """The run directory of ``loss`` trained with ``seed`` (``runs/LOSS/seedN``)."""
        return self.loss_runs(loss) / f"seed{seed}"

    @property
    def cases(self) -> Path:
        """Per-case, per-class records at the reported checkpoint."""
        return self.path / "cases.csv"

    def cases_of(self, checkpoint: str) -> Path:
        """The records at ``checkpoint`` (``best`` or ``last``) when it is not the reported
        one (``report.last_epoch``).

        Raises:
            ValueError: another checkpoint name.
        """
        check_one_of(checkpoint, CHECKPOINTS, "checkpoint")
        return self.path / f"cases_{checkpoint}.csv"

    @property
    def report_markdown(self) -> Path:
        return self.path / "report.md"

    @property
    def report_html(self) -> Path:
        return self.path / "report.html"

    @property
    def figures(self) -> Path:
        """The report's figures (``OUTPUT/figures``)."""
        return self.path / "figures"

    def figure(self, name: str) -> Path:
        """The PNG file of the figure ``name`` (``figures/NAME.png``)."""
        return self.figures / f"{name}.png"

    def entries(self) -> frozenset[str]:
        """The names a comparison writes directly in the folder (any other non-hidden entry
        is someone else's)."""
        paths = (
            self.runs,
            self.figures,
            self.cases,
            self.report_markdown,
            self.report_html,
            *(self.cases_of(name) for name in CHECKPOINTS),
        )
        return frozenset(path.name for path in paths)
