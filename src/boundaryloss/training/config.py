"""The run configuration: typed dataclasses loaded from YAML, overridable by ``key=value``.

Each dataclass refuses its own wrong values as it is built (``__post_init__``, with the
rules of :mod:`boundaryloss.config.rules`), so a configuration that loads holds only
values a run can use; :class:`RunConfig` adds the rules that join two sections. What
depends on more than the values is checked where it is known: the machine
(:mod:`.checks`), the dataset (:mod:`.data`: labels, case sizes, test splits), the
registered losses and networks (:mod:`.components`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .._files import write_text_atomically
from ..config import ConfigError, apply_overrides, from_dict, path_field, read_yaml, to_dict
from ..config.rules import at_least, folder_name, in_interval, non_negative, positive, seed
from ..data.folders import check_fov_threshold, compile_id_regex
from ..data.preprocess import check_channels


@dataclass
class SyntheticConfig:
    """Built-in synthetic unbalanced data (the demo's default)."""

    cases: int = 48
    shape: list[int] = field(default_factory=lambda: [96, 96])
    foreground_fraction: float = 0.01
    num_classes: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.shape) not in (2, 3):
            raise ConfigError(f"shape: expected 2 or 3 sizes, got {self.shape}")
        seed("seed", self.seed)


@dataclass
class IdridConfig:
    """IDRiD's segmentation set (``data.source: idrid``): which masks are the labels.

    ``lesion``: ``MA`` microaneurysms, ``HE`` haemorrhages, ``EX`` hard exudates, ``SE``
    soft exudates or ``OD`` optic disc (binary labels; a missing mask is no lesion).
    ``fov_threshold``: the field of view is the red channel above this 8-bit value.
    """

    lesion: Literal["MA", "HE", "EX", "SE", "OD"] = "EX"
    fov_threshold: int = 20

    def __post_init__(self) -> None:
        try:
            check_fov_threshold(self.fov_threshold)
        except ValueError as error:
            raise ConfigError(str(error)) from None


@dataclass
class FoldersConfig:
    """Any 2D dataset stored as folders of image files (``data.source: folders``).

    Folders are relative to ``data.root`` (or absolute). Patterns are file names with one
    ``{id}`` placeholder (several: the first that matches wins), e.g. ``"{id}.jpg"`` and
    ``"{id}_mask.png"``; ``id_regex`` limits what ``{id}`` matches.

    ``labels``: read by value ({0, 255} is binary, else class indices below
    ``data.num_classes``; ``label_values`` maps stored values to classes, e.g.
    ``{0: 0, 128: 1, 255: 2}``) or, with ``label_rule: nonzero``, any non-zero pixel is
    class 1. ``missing_label``: an image without a label file is an ``error``, is
    ``skip``-ped, or is all ``background`` (datasets that omit masks of lesion-free
    images). The field of view comes from mask files (``fov`` folder + ``fov_pattern``)
    or from the red channel above ``fov_threshold`` (fundus photographs), or is absent.
    ``test_images``, ``test_labels``, ``test_fov``: the folders ``evaluate --split test``
    reads (same patterns); unset: the dataset has no test split.
    """

    images: str = "images"
    labels: str = "labels"
    image_pattern: str | list[str] = "{id}.png"
    label_pattern: str | list[str] | None = None
    fov: str | None = None
    fov_pattern: str | list[str] | None = None
    fov_threshold: int | None = None
    id_regex: str = ".+"
    label_rule: Literal["values", "nonzero"] = "values"
    label_values: dict[str, int] | None = None
    missing_label: Literal["error", "skip", "background"] = "error"
    test_images: str | None = None
    test_labels: str | None = None
    test_fov: str | None = None

    def __post_init__(self) -> None:
        try:
            compile_id_regex(self.id_regex)
            if self.fov_threshold is not None:
                check_fov_threshold(self.fov_threshold)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        for stored in self.label_values or {}:
            try:
                int(stored)
            except ValueError:
                raise ConfigError(
                    f"label_values: key {stored!r} is not an integer pixel value"
                ) from None
        mask_folders = self.fov is not None or self.test_fov is not None
        if mask_folders and self.fov_pattern is None:
            raise ConfigError("fov_pattern: required with a fov folder")
        if mask_folders and self.fov_threshold is not None:
            raise ConfigError(
                "fov_threshold: give either fov mask files (fov or test_fov, with "
                "fov_pattern) or a red-channel threshold, not both"
            )


@dataclass
class AugmentConfig:
    """Training augmentation; every probability is per sample, 0 switches a transform off.

    ``flip``, ``rot90`` and ``intensity`` (a mild affine jitter) commute with the maps.
    The spatial transform (any-angle ``rotation`` in degrees, uniform in
    ``[-rotation, rotation]`` about each axis; ``scale`` zoom range; elastic deformation
    of at most ``elastic_magnitude`` voxels, smoothed with ``elastic_sigma``) and
    nnU-Net's intensity transforms (``p_noise``, ``p_blur``, ``p_brightness``,
    ``p_contrast``, ``p_low_resolution``, ``p_gamma``, ``p_gamma_inverted``) are off by
    default; with the spatial transform on, the maps are computed after it, per sample,
    and the patch is resampled from a crop ``context`` times larger (less zero fill
    after rotations).
    """

    flip: bool = True
    rot90: bool = True
    intensity: bool = True
    rotation: float = 0.0
    p_rotation: float = 0.0
    scale: list[float] = field(default_factory=lambda: [0.7, 1.4])
    p_scale: float = 0.0
    elastic_magnitude: float = 0.0
    elastic_sigma: float = 10.0
    p_elastic: float = 0.0
    context: float = 1.5
    p_noise: float = 0.0
    p_blur: float = 0.0
    p_brightness: float = 0.0
    p_contrast: float = 0.0
    p_low_resolution: float = 0.0
    p_gamma: float = 0.0
    p_gamma_inverted: float = 0.0

    def __post_init__(self) -> None:
        at_least("context", self.context, 1)

    @property
    def spatial(self) -> bool:
        """Whether the spatial (resampling) transform is on."""
        return max(self.p_rotation, self.p_scale, self.p_elastic) > 0


@dataclass
class DataConfig:
    """Where cases come from and how they become training batches.

    ``source``: ``synthetic``, ``msd`` (MSD/nnU-Net raw layout, e.g. the output of
    ``boundaryloss prepare``), ``chase_db1``, ``drive``, ``stare``, ``idrid`` (the
    official segmentation layout; ``idrid.lesion`` picks the masks) or ``folders`` (any
    2D dataset as folders of files, see :class:`FoldersConfig`) at ``root``.
    3D cases are sliced along ``slice_axis`` when the network is 2D; validation always
    reassembles whole cases so metrics are 3D, with distances in the unit of the cases'
    spacing (mm for NIfTI data, px for 2D image files and synthetic data).

    ``samples_per_epoch``: training samples (patches or slices) drawn per epoch, each
    from a training item (case or slice) in turn, with a new random patch and
    augmentation on each visit; None: one per item. ``foreground_probability``: the
    chance a patch is centred on a foreground voxel (nnU-Net: 1/3); a case without
    foreground (a lesion-free image) always gets a uniformly placed patch, so it is still
    seen once per visit.
    """

    source: Literal["synthetic", "msd", "chase_db1", "drive", "stare", "idrid", "folders"] = (
        "synthetic"
    )
    root: str | None = path_field(None)
    num_classes: int = 2
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    idrid: IdridConfig = field(default_factory=IdridConfig)
    folders: FoldersConfig = field(default_factory=FoldersConfig)
    normalization: Literal["minmax", "zscore", "percentile", "none"] = "minmax"
    channels: list[int] | None = None
    resize: list[int] | None = None
    slice_axis: int = 2
    patch_size: list[int] | None = None
    val_fraction: float = 0.2
    split_seed: int = 0
    group_regex: str | None = None
    max_cases: int | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    samples_per_epoch: int | None = None
    foreground_probability: float = 1.0 / 3.0
    batch_size: int = 8
    num_workers: int = 0

    def __post_init__(self) -> None:
        if self.source == "synthetic" and self.root is not None:
            raise ConfigError(
                f"root: {self.root!r} is not read with data.source=synthetic; set "
                "data.source to the dataset's reader (e.g. msd, drive) or leave data.root out"
            )
        if self.source != "synthetic" and self.root is None:
            raise ConfigError(f"root: required for data.source={self.source!r}")
        if not -3 <= self.slice_axis < 3:
            raise ConfigError(
                f"slice_axis: must be a spatial axis in [-3, 3), got {self.slice_axis}"
            )
        if self.channels is not None:
            try:
                check_channels(self.channels)
            except ValueError as error:
                raise ConfigError(str(error)) from None
        at_least("batch_size", self.batch_size, 1)
        at_least("num_workers", self.num_workers, 0)
        at_least("num_classes", self.num_classes, 2)
        in_interval("val_fraction", self.val_fraction, "(0, 1)")
        for key, sizes in (("patch_size", self.patch_size), ("resize", self.resize)):
            if sizes is not None and (not sizes or min(sizes) < 1):
                raise ConfigError(f"{key}: sizes must be >= 1, got {sizes}")
        at_least("max_cases", self.max_cases, 1, optional=True)
        seed("split_seed", self.split_seed)
        if self.group_regex:
            try:
                re.compile(self.group_regex)
            except re.error as error:
                raise ConfigError(f"group_regex: invalid regex ({error})") from None
        at_least("samples_per_epoch", self.samples_per_epoch, 1, optional=True)
        in_interval("foreground_probability", self.foreground_probability, "[0, 1]")


@dataclass
class ModelConfig:
    """The network; ``deep_supervision`` (UNet only) adds lower-resolution outputs in
    training, each with its own loss (nnU-Net's weights), see
    :class:`~boundaryloss.losses.DeepSupervisionLoss`.

    ``kwargs`` go to the network's constructor and are checked against its arguments:
    for the UNet ``base_channels``, ``depth``, ``norm``, ``dropout`` and
    ``max_channels`` (a cap on every level's width; nnU-Net caps at 320 in 3D and 512
    in 2D), see :class:`~boundaryloss.nets.UNet`."""

    name: Literal["unet", "enet"] = "unet"
    spatial_dims: Literal[2, 3] = 2
    kwargs: dict[str, Any] = field(default_factory=lambda: {"base_channels": 16, "depth": 4})
    deep_supervision: bool = False

    def __post_init__(self) -> None:
        if self.name == "enet" and self.spatial_dims != 2:
            raise ConfigError(f"name: enet is 2D only, got spatial_dims {self.spatial_dims}")
        if self.deep_supervision and self.name != "unet":
            raise ConfigError(f"deep_supervision: needs the unet, got {self.name}")


@dataclass
class LossTermConfig:
    """One term of the loss: a registered loss ``name`` built with ``kwargs``, its constant
    ``weight`` (>= 0), and its ``label`` in logs (default: the name)."""

    name: str
    weight: float = 1.0
    label: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        non_negative("weight", self.weight)


@dataclass
class ScheduleConfig:
    """A registered loss-weight schedule ``name`` (e.g. ``rebalance``) built with ``kwargs``."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class LossConfig:
    """Terms of a :class:`~boundaryloss.CompoundLoss`; ``schedule`` (e.g. ``rebalance``)
    overrides the constant ``weight`` of each term."""

    terms: list[LossTermConfig] = field(default_factory=lambda: [LossTermConfig("gdl", kwargs={})])
    schedule: ScheduleConfig | None = None

    def __post_init__(self) -> None:
        if not self.terms:
            raise ConfigError("terms: at least one loss term is required")
        names: set[str] = set()
        for i, term in enumerate(self.terms):
            name = term.label or term.name
            if name in names:
                raise ConfigError(f"terms[{i}]: duplicate term name {name!r}; set a label")
            names.add(name)


@dataclass
class OptimConfig:
    """The optimiser (Adam or SGD: ``betas`` for Adam, ``momentum`` for SGD) and the
    learning-rate schedule: ``plateau`` multiplies the rate by ``factor`` after
    ``patience`` epochs without a new best validation score, ``poly`` decays it as
    ``(1 - epoch / epochs) ** poly_exponent``, ``constant`` keeps it."""

    name: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.99)
    momentum: float = 0.99
    weight_decay: float = 0.0
    lr_schedule: Literal["plateau", "poly", "constant"] = "plateau"
    patience: int = 20
    factor: float = 0.5
    poly_exponent: float = 0.9

    def __post_init__(self) -> None:
        positive("lr", self.lr)
        at_least("weight_decay", self.weight_decay, 0)
        in_interval("momentum", self.momentum, "[0, 1)")
        if not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas: each must lie in [0, 1), got {list(self.betas)}")
        at_least("patience", self.patience, 0)
        in_interval("factor", self.factor, "(0, 1]")
        positive("poly_exponent", self.poly_exponent)


@dataclass
class TrainConfig:
    """How long and where to train, and how validation picks the best checkpoint.

    ``selection_metric``: the validation score whose mean over the foreground classes
    selects ``best.pt`` (and drives the plateau learning-rate schedule): ``dice`` (mean
    of per-case Dice), ``pooled_dice`` (Dice of the counts summed over every case),
    ``aupr`` (area under the precision-recall curve over every pixel, the IDRiD
    challenge's ranking) or ``lesion_f1`` (lesion F1 pooled over every case's lesions).
    The Dice of a class covering 0.2 % of an image is a noisy selector; the pooled
    scores are steadier. ``val_lesion_metrics``: also log AUPR and the lesion-wise scores
    (lesion F1, recall, precision, false-positive lesions per lesion-free case) at each
    validation; ``aupr`` and ``lesion_f1`` switch on what they need.
    """

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
    selection_metric: Literal["dice", "pooled_dice", "aupr", "lesion_f1"] = "dice"
    val_lesion_metrics: bool = False

    def __post_init__(self) -> None:
        seed("seed", self.seed)
        at_least("epochs", self.epochs, 1)
        at_least("val_every", self.val_every, 1)
        at_least("max_steps_per_epoch", self.max_steps_per_epoch, 1, optional=True)
        at_least("checkpoint_every_steps", self.checkpoint_every_steps, 1, optional=True)
        at_least("num_nodes", self.num_nodes, 1)
        if isinstance(self.devices, int) and not (self.devices >= 1 or self.devices == -1):
            raise ConfigError(f"devices: must be >= 1, -1 or 'auto', got {self.devices}")


@dataclass
class InferenceConfig:
    """How whole cases are segmented (validation, ``predict``, ``evaluate``).

    ``sliding_window``: predict windows of ``data.patch_size`` overlapping by
    ``overlap`` and average their probabilities; None: for 3D networks only (2D networks
    then see whole slices). ``mirror``: test-time mirroring, the probabilities averaged
    over every combination of flips of the spatial axes (4 passes in 2D, 8 in 3D).
    """

    sliding_window: bool | None = None
    overlap: float = 0.5
    mirror: bool = False

    def __post_init__(self) -> None:
        in_interval("overlap", self.overlap, "[0, 1)")


@dataclass
class RunConfig:
    """A whole run: its ``name`` (a folder of ``output_dir``) and one section per part.

    Besides each section's own rules, a 2D network takes a ``data.patch_size`` of 2
    sizes (or none: whole slices), a 3D network needs one of 3, and sliding-window
    inference needs one (the window).
    """

    name: str = "run"
    output_dir: str = path_field("runs")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def __post_init__(self) -> None:
        folder_name("name", self.name)
        patch = self.data.patch_size
        dims = self.model.spatial_dims
        if dims == 2 and patch is not None and len(patch) != 2:
            raise ConfigError(f"data.patch_size: a 2D network needs 2 sizes, got {list(patch)}")
        if dims == 3 and (patch is None or len(patch) != 3):
            raise ConfigError("data.patch_size: a 3D network needs 3 sizes")
        if self.inference.sliding_window and not patch:
            raise ConfigError("inference.sliding_window: needs data.patch_size (the window)")

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


#: The settings a resumed run (``train --resume``) may change: how long it trains, on
#: which hardware, how often it checkpoints and how it reports, never what it trains
#: (data, model, loss, optimiser, augmentation, validation). ``name`` and
#: ``output_dir`` locate the run. A key covers everything below it.
RESUMABLE_KEYS: tuple[str, ...] = (
    "name",
    "output_dir",
    "train.epochs",
    "train.accelerator",
    "train.devices",
    "train.num_nodes",
    "train.strategy",
    "train.checkpoint_every_steps",
    "train.progress",
    "train.figures",
    "train.tensorboard",
    "data.num_workers",
)


def config_differences(
    saved: RunConfig, wanted: RunConfig, ignore: tuple[str, ...] = ()
) -> list[tuple[str, Any, Any]]:
    """The settings in which two run configurations differ.

    Sections are compared key by key (a list, e.g. ``loss.terms``, as a whole).

    Args:
        saved, wanted: the configurations.
        ignore: dotted keys not compared (a section covers its keys).

    Returns:
        ``(dotted key, saved value, wanted value)`` per differing setting, sorted by key,
        values as plain data (:func:`~boundaryloss.config.to_dict`).
    """
    found: list[tuple[str, Any, Any]] = []

    def walk(old: Any, new: Any, path: str) -> None:
        if path in ignore:
            return
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                walk(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        elif old != new:
            found.append((path, old, new))

    walk(to_dict(saved), to_dict(wanted), "")
    return found


def describe_differences(differences: list[tuple[str, Any, Any]]) -> str:
    """``key: old -> new`` for each difference, on one line (long values shortened)."""

    def shown(value: Any) -> str:
        text = " ".join(repr(value).split())
        return text if len(text) <= 80 else text[:77] + "..."

    return "; ".join(f"{key}: {shown(old)} -> {shown(new)}" for key, old, new in differences)


def check_resumable(saved: RunConfig, wanted: RunConfig, where: str | os.PathLike) -> None:
    """Refuse to resume a run with settings it was not trained with.

    Only :data:`RESUMABLE_KEYS` may change; anything else would continue the run under
    other settings and rewrite its ``config.yaml``, which would then misdescribe it.

    Args:
        saved: the run's configuration (its ``config.yaml``).
        wanted: the configuration asked for now.
        where: the file ``saved`` was read from, for the message.

    Raises:
        ConfigError: naming every changed key with its saved and new values.
    """
    changed = config_differences(saved, wanted, ignore=RESUMABLE_KEYS)
    if changed:
        raise ConfigError(
            f"resume: {where} was trained with other settings ({describe_differences(changed)}); "
            f"only {', '.join(RESUMABLE_KEYS)} may change when resuming. Resume with the "
            "run's settings, or start a new run (another name=, or --overwrite)"
        )
