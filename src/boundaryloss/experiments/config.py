"""The experiment configuration: several loss configurations trained on the same data.

An experiment YAML names the shared run settings (``base``), the loss configurations to
compare (``losses``), the one significance is tested against (``reference``), how many
seeds each is trained with, and what the report computes. :func:`load_experiment`
checks every key and type (messages name the key and the file) and resolves one
:class:`~boundaryloss.training.config.RunConfig` per loss configuration and seed.
Each dataclass refuses its own wrong values as it is built (``__post_init__``); what
needs the resolved runs (one split, one number of epochs) is checked after.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..config import ConfigError, apply_overrides, from_dict, path_field, read_yaml, to_dict
from ..config.rules import at_least, folder_name, in_interval
from ..training.components import build_loss, required_maps
from ..training.config import LossConfig, RunConfig
from .comparison_folder import ComparisonFolder

#: ``data`` keys that decide which cases are validation cases: they must be the same for
#: every run, or the per-case pairing of the significance test would be meaningless.
SPLIT_KEYS = ("source", "root", "synthetic", "val_fraction", "split_seed", "group_regex")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass
class LossEntry:
    """One loss configuration: its name in tables, and either the ``loss`` section to
    combine with the experiment's ``base``, or ``config``, the path of a complete run YAML
    (relative to the experiment file; e.g. one of the shipped ``configs/``); then
    extra run ``overrides``."""

    name: str
    loss: LossConfig | None = None
    config: str | None = None
    overrides: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(
                f"name: {self.name!r} must be letters, digits, '_', '.', '+' or '-' (it "
                "names a folder)"
            )
        if (self.loss is None) == (self.config is None):
            raise ValueError(  # the entry as a whole: from_dict names it
                "give exactly one of 'loss' (combined with base) and 'config' (a complete run YAML)"
            )


@dataclass
class DiagnosticsConfig:
    """The gradient-sign diagnostic (region-wise paper, sec. 3.4, fig. 3).

    ``epochs``: the training time points (1-based epochs) at which the model is saved
    and diagnosed; default: the first, middle and last epoch. ``max_slices``: at most
    this many validation slices (2D images, or the slices with most foreground of 3D
    cases) per time point.
    """

    gradient_sign: bool = True
    epochs: list[int] | None = None
    max_slices: int = 16

    def __post_init__(self) -> None:
        at_least("max_slices", self.max_slices, 1)


@dataclass
class ReportConfig:
    """What the report computes and shows.

    ``checkpoint``: the model evaluated per run (``best``: the highest validation score
    of ``train.selection_metric``, Dice by default, as in the papers; ``last``: the end of
    training). ``convergence_fraction``: a run has
    converged at the first epoch its validation Dice reaches this fraction of its best.
    ``stability_epochs``: the last epochs whose validation Dice the stability figure
    shows. ``overlay_cases``: validation cases shown side by side across losses.
    ``lesion``: a lesion-like task (IDRiD, WMH, ISLES): the runs are also evaluated with
    the lesion-wise metrics, which the table shows with bootstrap confidence intervals,
    and the report opens with the lesion screening section of each reported checkpoint
    (pooled AUPR, Dice and lesion detection per run, per-image Dice over the images with
    a lesion, empty predictions, lesion recall by size: see
    :mod:`~boundaryloss.experiments.lesion_report`).
    ``last_epoch``: also evaluate the other checkpoint (``last`` when ``checkpoint`` is
    ``best`` and the reverse) and show its table after the main one.
    """

    checkpoint: Literal["best", "last"] = "best"
    last_epoch: bool = True
    overlay_cases: int = 3
    convergence_fraction: float = 0.95
    stability_epochs: int = 5
    n_permutations: int = 10000
    alpha: float = 0.05
    lesion: bool = False

    def __post_init__(self) -> None:
        in_interval("convergence_fraction", self.convergence_fraction, "(0, 1]")
        in_interval("alpha", self.alpha, "(0, 1)")
        at_least("overlay_cases", self.overlay_cases, 0)
        at_least("stability_epochs", self.stability_epochs, 1)
        at_least("n_permutations", self.n_permutations, 1)


@dataclass
class ExperimentConfig:
    """An experiment YAML (see ``experiments/demo.yaml``).

    ``base`` is a run configuration (a mapping, or the path of a run YAML relative to
    the experiment file) holding the shared ``data``, ``model``, ``optim`` and ``train``
    settings; each loss entry replaces its ``loss`` section and applies its
    ``overrides``. ``seeds`` runs seeds ``0 .. seeds-1`` (``train.seed``); the data and
    its split (``data.split_seed``) stay the same for every run. ``reference`` defaults
    to the first loss.
    """

    name: str
    losses: list[LossEntry]
    output_dir: str = path_field("runs")
    base: dict[str, Any] | str = field(default_factory=dict)
    reference: str | None = None
    seeds: int = 1
    description: str = ""
    diagnostics: DiagnosticsConfig = field(default_factory=DiagnosticsConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def __post_init__(self) -> None:
        folder_name("name", self.name)  # the output folder: output_dir/name
        names = [entry.name for entry in self.losses]
        if not names:
            raise ConfigError("losses: at least one loss configuration is required")
        for i, name in enumerate(names):
            if names.index(name) != i:
                raise ConfigError(f"losses[{i}].name: duplicate name {name!r}")
        if self.reference is not None and self.reference not in names:
            raise ConfigError(
                f"reference: {self.reference!r} is not a loss name; choose from {names}"
            )
        at_least("seeds", self.seeds, 1)


@dataclass
class RunSpec:
    """One training run of an experiment."""

    loss: str
    seed: int
    config: RunConfig

    @property
    def run_dir(self) -> Path:
        return self.config.run_dir


@dataclass
class Experiment:
    """A loaded experiment: its configuration, output folder and resolved runs."""

    config: ExperimentConfig
    path: Path
    output: Path
    runs: list[RunSpec]
    #: losses of the file left out by ``load_experiment(losses=...)`` (``compare --losses``)
    omitted_losses: list[str] = field(default_factory=list)

    @property
    def folder(self) -> ComparisonFolder:
        """The layout of :attr:`output`."""
        return ComparisonFolder(self.output)

    @property
    def loss_names(self) -> list[str]:
        return [entry.name for entry in self.config.losses]

    @property
    def reference(self) -> str:
        return self.config.reference or self.loss_names[0]

    @property
    def epochs(self) -> int:
        return self.runs[0].config.train.epochs

    def runs_of(self, loss: str) -> list[RunSpec]:
        return [run for run in self.runs if run.loss == loss]

    @property
    def snapshot_epochs(self) -> list[int]:
        """Epochs whose model the gradient-sign diagnostic needs (empty when it is off)."""
        diagnostics = self.config.diagnostics
        if not diagnostics.gradient_sign:
            return []
        if diagnostics.epochs is not None:
            return sorted(set(diagnostics.epochs))
        epochs = self.epochs
        return sorted({1, (epochs + 1) // 2, epochs})


def _read_run_yaml(reference: str, path: Path, key: str) -> dict[str, Any]:
    """A run YAML named in an experiment file (relative to that file, or as given)."""
    run_path = Path(reference).expanduser()
    if not run_path.is_absolute() and not run_path.is_file():
        run_path = path.parent / run_path
    try:
        return read_yaml(run_path, "run configuration")
    except ConfigError as error:
        raise ConfigError(f"{path}: {key}: {error}") from error


def _base_data(config: ExperimentConfig, path: Path) -> dict[str, Any]:
    if isinstance(config.base, dict):
        return copy.deepcopy(config.base)
    return _read_run_yaml(config.base, path, "base")


def _run_config(
    base: dict[str, Any], entry: LossEntry, index: int, seed: int, output: Path, path: Path
) -> RunConfig:
    if entry.config is not None:
        data = _read_run_yaml(entry.config, path, f"losses[{index}].config")
    else:
        data = copy.deepcopy(base)
        data["loss"] = to_dict(entry.loss)
    where = f"{path}: losses[{index}] ({entry.name})"
    try:
        data = apply_overrides(data, list(entry.overrides))
        run_dir = ComparisonFolder(output).run_dir(entry.name, seed)
        data.update(name=run_dir.name, output_dir=str(run_dir.parent))
        data.setdefault("train", {})
        if not isinstance(data["train"], dict):
            raise ConfigError("train: expected a mapping")
        data["train"]["seed"] = seed
        config = from_dict(RunConfig, data)
        required_maps(build_loss(config.loss))  # unknown terms or arguments fail now
        return config
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from error


def _keep_losses(
    config: ExperimentConfig, losses: Sequence[str], path: Path, keep_reference: bool = True
) -> tuple[ExperimentConfig, list[str]]:
    """``config`` with only the named losses (in the file's order), and the names left
    out. The reference (the file's, or its first loss) must be kept when
    ``keep_reference`` (a report tests every loss against it); otherwise a left-out
    reference becomes ``None``."""
    names = [entry.name for entry in config.losses]
    for name in losses:
        if name not in names:
            raise ConfigError(f"--losses: {name!r} is not a loss of {path}; choose from {names}")
    if len(set(losses)) != len(losses):
        raise ConfigError(f"--losses: a name is given twice: {list(losses)}")
    reference: str | None = config.reference or names[0]
    if reference not in losses and not keep_reference:
        reference = None
    elif reference not in losses:
        raise ConfigError(
            f"--losses: keep the reference loss {reference!r}: every loss is tested against it"
        )
    kept = [entry for entry in config.losses if entry.name in losses]
    omitted = [name for name in names if name not in losses]
    return dataclasses.replace(config, losses=kept, reference=reference), omitted


def _check_same_split(runs: list[RunSpec], file_index: dict[str, int], path: Path) -> None:
    """Every run must validate on the same cases, for as many epochs, and pick its best
    checkpoint by the same validation score (the report names one).

    Args:
        file_index: loss name -> its index in the file's ``losses`` (for the message).
    """
    first = to_dict(runs[0].config.data)
    train = runs[0].config.train
    for run in runs[1:]:
        where = f"{path}: losses[{file_index[run.loss]}].overrides"
        data = to_dict(run.config.data)
        for key in SPLIT_KEYS:
            if data[key] != first[key]:
                raise ConfigError(
                    f"{where}: data.{key} differs from {runs[0].loss!r}; every run must use "
                    "the same cases and split"
                )
        for key in ("epochs", "selection_metric"):
            if getattr(run.config.train, key) != getattr(train, key):
                raise ConfigError(
                    f"{where}: train.{key} must be the same for every loss configuration"
                )


def load_experiment(
    path: str | os.PathLike,
    seeds: int | None = None,
    output: str | os.PathLike | None = None,
    losses: Sequence[str] | None = None,
    keep_reference: bool = True,
) -> Experiment:
    """Read an experiment YAML and resolve its runs.

    Args:
        path: the experiment YAML.
        seeds: number of seeds (overrides the file's ``seeds``).
        output: the experiment's output folder (default ``output_dir/name``).
        losses: names of the file's losses to keep, the reference among them (default:
            all). The runs keep their folders, so a later comparison of every loss reuses
            them; the rest are listed in ``Experiment.omitted_losses``.
        keep_reference: ``losses`` must include the reference (for a report; False for
            ``compare --train-only``, which trains and reports nothing).

    Raises:
        ConfigError: missing file, invalid YAML, an unknown key or a wrong type (the
            message names the file and the key), an unknown reference, duplicate loss
            names, or loss configurations that do not share the validation split.
    """
    path = Path(path)
    raw = read_yaml(path, "experiment file")
    try:
        config = from_dict(ExperimentConfig, raw)
        if seeds is not None:
            config = dataclasses.replace(config, seeds=seeds)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from error
    file_index = {entry.name: i for i, entry in enumerate(config.losses)}  # losses[i]
    omitted: list[str] = []
    if losses is not None:
        config, omitted = _keep_losses(config, losses, path, keep_reference)
    out = Path(output) if output is not None else Path(config.output_dir) / config.name
    base = _base_data(config, path)
    runs = [
        RunSpec(entry.name, seed, _run_config(base, entry, file_index[entry.name], seed, out, path))
        for entry in config.losses
        for seed in range(config.seeds)
    ]
    _check_same_split(runs, file_index, path)
    experiment = Experiment(config, path, out, runs, omitted)
    bad = [e for e in experiment.snapshot_epochs if not 1 <= e <= experiment.epochs]
    if bad:
        raise ConfigError(
            f"{path}: diagnostics.epochs: {bad} outside 1..{experiment.epochs} (train.epochs)"
        )
    return experiment
