"""The run configuration: typed dataclasses loaded from YAML, overridable by ``key=value``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from ..config import apply_overrides, from_dict, read_yaml, to_dict
from ..data.io import write_text_atomically


@dataclass
class SyntheticConfig:
    """Built-in synthetic unbalanced data (the demo's default)."""

    cases: int = 48
    shape: list[int] = field(default_factory=lambda: [96, 96])
    foreground_fraction: float = 0.01
    num_classes: int = 2
    seed: int = 0


@dataclass
class AugmentConfig:
    flip: bool = True
    rot90: bool = True
    intensity: bool = True


@dataclass
class DataConfig:
    """Where cases come from and how they become training batches.

    ``source``: ``synthetic``, ``msd`` (MSD/nnU-Net raw layout, e.g. the output of
    ``boundaryloss prepare``), ``chase_db1``, ``drive`` or ``stare`` (at ``root``).
    3D cases are sliced along ``slice_axis`` when the network is 2D; validation always
    reassembles whole cases so metrics are 3D and in millimetres.
    """

    source: Literal["synthetic", "msd", "chase_db1", "drive", "stare"] = "synthetic"
    root: str | None = None
    num_classes: int = 2
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    normalization: Literal["minmax", "zscore", "percentile", "none"] = "minmax"
    resize: list[int] | None = None
    slice_axis: int = 2
    patch_size: list[int] | None = None
    val_fraction: float = 0.2
    split_seed: int = 0
    group_regex: str | None = None
    max_cases: int | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    batch_size: int = 8
    num_workers: int = 0


@dataclass
class ModelConfig:
    name: Literal["unet", "enet"] = "unet"
    spatial_dims: Literal[2, 3] = 2
    kwargs: dict[str, Any] = field(default_factory=lambda: {"base_channels": 16, "depth": 4})


@dataclass
class LossTermConfig:
    name: str
    weight: float = 1.0
    label: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScheduleConfig:
    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class LossConfig:
    """Terms of a :class:`~boundaryloss.CompoundLoss`; ``schedule`` (e.g. ``rebalance``)
    overrides the constant ``weight`` of each term."""

    terms: list[LossTermConfig] = field(default_factory=lambda: [LossTermConfig("gdl", kwargs={})])
    schedule: ScheduleConfig | None = None


@dataclass
class OptimConfig:
    name: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.99)
    momentum: float = 0.99
    weight_decay: float = 0.0
    lr_schedule: Literal["plateau", "poly", "constant"] = "plateau"
    patience: int = 20
    factor: float = 0.5
    poly_exponent: float = 0.9


@dataclass
class TrainConfig:
    epochs: int = 20
    seed: int = 0
    accelerator: str = "cpu"
    devices: int | str = 1
    strategy: str = "auto"
    precision: str = "32-true"
    num_nodes: int = 1
    max_steps_per_epoch: int | None = None
    val_every: int = 1
    checkpoint_every_steps: int | None = None
    progress: bool = True
    tensorboard: bool = False
    figures: bool = True


@dataclass
class RunConfig:
    name: str = "run"
    output_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


def load_config(path: str | os.PathLike | None, overrides: list[str] = ()) -> RunConfig:
    """Read a YAML config (or start from defaults) and apply ``key=value`` overrides.

    Raises:
        ConfigError: unreadable YAML, an unknown key, a wrong type (the message names
            the key), or a missing file.
    """
    data = read_yaml(path) if path is not None else {}
    data = apply_overrides(data, list(overrides))
    return from_dict(RunConfig, data)


def save_config(config: RunConfig, path: str | os.PathLike) -> None:
    """Write the resolved configuration as YAML, atomically."""
    write_text_atomically(path, yaml.safe_dump(to_dict(config), sort_keys=False))
