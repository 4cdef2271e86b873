"""Checkpoints written atomically, holding everything a resumed run needs.

A checkpoint holds the model, optimiser, learning-rate schedule, loss (with its weight
schedule), epoch, global step, best validation score and the RNG states of Python,
NumPy and torch, so that training 4 epochs equals training 2 and resuming for 2.

Everything in it is plain data (tensors, numbers, strings, lists, dicts; the run
configuration as the dict :func:`~boundaryloss.config.to_dict` gives), so it is read
with ``torch.load(weights_only=True)``: loading a checkpoint from elsewhere cannot run
code.
"""

from __future__ import annotations

import os
import pickle
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._files import atomic_path
from ..config import ConfigError, from_dict
from .config import RunConfig


def rng_state() -> dict[str, Any]:
    """The Python, NumPy and torch RNG states as plain data (no NumPy objects)."""
    name, keys, position, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    version, internal, gauss = random.getstate()
    state = {
        "python": [version, list(internal), gauss],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():  # pragma: no cover - GPU only
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the Python, NumPy and torch (and CUDA, when there is one) RNG states that
    :func:`rng_state` saved."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    keys = np.asarray(keys.numpy() if torch.is_tensor(keys) else keys).astype(np.uint32)
    np.random.set_state((name, keys, position, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():  # pragma: no cover - GPU only
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """``torch.save`` through a temporary file and a rename: never a half-written file.

    Raises:
        OSError: the file could not be written (a full disk, a file-size limit), naming
            ``path``; the previous checkpoint of that name is left as it was.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        # torch writes through our file object, so a failed write is Python's OSError
        # (errno and all); torch then reports the broken archive as a RuntimeError,
        # which hides it. Given a path instead, torch's own writer would say only
        # "file write failed".
        try:
            torch.save(state, handle)
        except RuntimeError as error:
            cause = _os_error_behind(error)
            if cause is None:
                raise
            raise cause from None


def _os_error_behind(error: BaseException) -> OSError | None:
    """The ``OSError`` in the chain of exceptions behind ``error``, if any."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OSError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint on the CPU with ``weights_only=True`` (no code is run).

    Raises:
        ValueError: the file is missing, unreadable, holds objects other than plain data
            (e.g. a checkpoint of an older version that pickled its configuration), or
            is not a boundaryloss checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        text = " ".join(str(error).split())
        found = re.search(r"Unsupported global[^.;]*", text)
        if found is None:  # not a pickle at all
            raise ValueError(f"{path}: not a torch checkpoint file") from None
        raise ValueError(
            f"{path}: refused to load: it holds objects other than tensors and plain data, "
            f"which could run code ({found.group(0)[:120]})"
        ) from None
    except Exception as error:
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        if Path(path).is_file() and Path(path).stat().st_size == 0:
            detail = "the file is empty"
        raise ValueError(f"{path}: cannot read checkpoint ({detail})") from None
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise ValueError(f"{path}: not a boundaryloss checkpoint (no model/config entries)")
    if not isinstance(state["config"], dict):
        raise ValueError(f"{path}: the configuration is not plain data")
    return state


def checkpoint_config(state: dict[str, Any], path: str | os.PathLike) -> RunConfig:
    """The run configuration stored in a loaded checkpoint.

    Raises:
        ValueError: it does not match this version's configuration (names the key).
    """
    try:
        return from_dict(RunConfig, state["config"])
    except ConfigError as error:
        raise ValueError(f"{path}: stored configuration: {error}") from None


def load_model_state(model: torch.nn.Module, state: dict[str, Any], path: str) -> None:
    """Load weights, turning an architecture mismatch into a one-line ``ValueError``."""
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:3])
        raise ValueError(f"{path}: checkpoint does not fit this model ({detail[:300]})") from None
