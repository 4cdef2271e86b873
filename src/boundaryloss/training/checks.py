"""Checks of a run configuration against this machine, done before anything is written.

A configuration's values are refused as it is loaded: each dataclass of
:mod:`boundaryloss.training.config` owns the rules of its fields. What no value alone
decides is checked here, with a ``ConfigError`` naming the key, so that a failed set-up
leaves nothing behind: an ``output_dir`` that is a file, an accelerator the machine does
not have. The dataset's side (labels beyond ``data.num_classes``, cases smaller than
the patch, too few samples for a batch) is checked as the data is read, at set-up
(:mod:`.data`, :mod:`.batching`).
"""

from __future__ import annotations

from pathlib import Path

from ..config import ConfigError
from .config import RunConfig


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
    """Check what a run needs of this machine before its first write.

    Args:
        config: a loaded run configuration (its values already checked).

    Raises:
        ConfigError: ``output_dir`` exists and is not a folder, or ``train.accelerator``
            names hardware this machine lacks.
    """
    output = Path(config.output_dir)  # a leading ~ is expanded as the config is loaded
    if output.exists() and not output.is_dir():
        raise ConfigError(f"output_dir: {output} exists and is not a folder")
    check_accelerator(config.train.accelerator)
