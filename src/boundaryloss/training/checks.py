"""Checks of a whole run configuration, done before anything is written.

Every value the trainer would otherwise only trip over later (a zero validation
interval, an unavailable accelerator, a negative patience) is refused here with a
``ConfigError`` naming its key, so that a failed set-up leaves nothing behind.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..config import ConfigError
from .config import RunConfig
from .run_dir import check_run_name


def _at_least(key: str, value: int | float | None, minimum: int | float, optional=False) -> None:
    if value is None and optional:
        return
    if value is None or not value >= minimum:
        extra = " (or null)" if optional else ""
        raise ConfigError(f"{key}: must be >= {minimum}{extra}, got {value}")


def _positive(key: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{key}: must be a finite number > 0, got {value}")


def check_accelerator(accelerator: str) -> None:
    """Refuse ``cuda``/``gpu``/``mps`` on a machine that has none.

    Raises:
        ConfigError: naming ``train.accelerator``.
    """
    import torch

    name = accelerator.lower()
    if name in ("cuda", "gpu") and not torch.cuda.is_available():
        raise ConfigError(
            f"train.accelerator: {accelerator!r} but CUDA is not available on this machine; "
            "use cpu or auto"
        )
    mps = getattr(torch.backends, "mps", None)
    if name == "mps" and not (mps is not None and mps.is_available()):
        raise ConfigError(f"train.accelerator: {accelerator!r} but MPS is not available")


def check_run_config(config: RunConfig) -> None:
    """Check every value a run uses before its first write.

    Raises:
        ConfigError: the first wrong value, naming its key.
    """
    try:
        check_run_name(config.name)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    data, train, optim = config.data, config.train, config.optim
    output = Path(config.output_dir)  # a leading ~ is expanded as the config is loaded
    if output.exists() and not output.is_dir():
        raise ConfigError(f"output_dir: {output} exists and is not a folder")
    if data.source == "synthetic" and data.root is not None:
        raise ConfigError(
            f"data.root: {data.root!r} is not read with data.source=synthetic; set "
            "data.source to the dataset's reader (e.g. msd, drive) or leave data.root out"
        )
    if not -3 <= data.slice_axis < 3:
        raise ConfigError(
            f"data.slice_axis: must be a spatial axis in [-3, 3), got {data.slice_axis}"
        )
    _at_least("data.batch_size", data.batch_size, 1)
    _at_least("data.num_workers", data.num_workers, 0)
    _at_least("data.num_classes", data.num_classes, 2)
    if not 0 < data.val_fraction < 1:
        raise ConfigError(f"data.val_fraction: must be in (0, 1), got {data.val_fraction}")
    for key, sizes in (("data.patch_size", data.patch_size), ("data.resize", data.resize)):
        if sizes is not None and (not sizes or min(sizes) < 1):
            raise ConfigError(f"{key}: sizes must be >= 1, got {sizes}")
    _at_least("data.max_cases", data.max_cases, 1, optional=True)
    for key, seed in (
        ("train.seed", train.seed),
        ("data.split_seed", data.split_seed),
        ("data.synthetic.seed", data.synthetic.seed),
    ):
        if not 0 <= seed < 2**32:
            raise ConfigError(f"{key}: must be in [0, 2**32), got {seed}")
    if not 0 <= config.inference.overlap < 1:
        raise ConfigError(f"inference.overlap: must be in [0, 1), got {config.inference.overlap}")
    _at_least("train.epochs", train.epochs, 1)
    _at_least("train.val_every", train.val_every, 1)
    _at_least("train.max_steps_per_epoch", train.max_steps_per_epoch, 1, optional=True)
    _at_least("train.checkpoint_every_steps", train.checkpoint_every_steps, 1, optional=True)
    _at_least("train.num_nodes", train.num_nodes, 1)
    if isinstance(train.devices, int) and not (train.devices >= 1 or train.devices == -1):
        raise ConfigError(f"train.devices: must be >= 1, -1 or 'auto', got {train.devices}")
    check_accelerator(train.accelerator)
    _positive("optim.lr", optim.lr)
    _at_least("optim.weight_decay", optim.weight_decay, 0)
    if not 0 <= optim.momentum < 1:
        raise ConfigError(f"optim.momentum: must be in [0, 1), got {optim.momentum}")
    if not all(0 <= b < 1 for b in optim.betas):
        raise ConfigError(f"optim.betas: each must be in [0, 1), got {list(optim.betas)}")
    _at_least("optim.patience", optim.patience, 0)
    if not 0 < optim.factor <= 1:
        raise ConfigError(f"optim.factor: must be in (0, 1], got {optim.factor}")
    _positive("optim.poly_exponent", optim.poly_exponent)
