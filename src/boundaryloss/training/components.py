"""Build the model, loss, schedule, optimiser and learning-rate schedule from a config.

Registries map the names used in YAML configs to classes (the losses and schedules are
:mod:`boundaryloss.registry`'s, which users extend); constructor keyword arguments are
checked against the class signature so a typo names its config key.
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ..config import ConfigError, convert
from ..losses import CompoundLoss
from ..losses import required_maps as loss_maps
from ..maps import MapSpec
from ..nets import ENet, UNet
from ..registry import LOSSES, SCHEDULES
from ..schedules import Constant, Schedule

NETWORKS: dict[str, type[nn.Module]] = {"unet": UNet, "enet": ENet}


def instantiate(registry: Mapping[str, type], name: str, kwargs: dict[str, Any], path: str) -> Any:
    """``registry[name](**kwargs)`` with config-path error messages."""
    if name not in registry:
        raise ConfigError(f"{path}.name: unknown {name!r}; choose from {sorted(registry)}")
    cls = registry[name]
    parameters = inspect.signature(cls).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        unknown = sorted(set(kwargs) - set(parameters))
        if unknown:
            raise ConfigError(
                f"{path}.kwargs.{unknown[0]}: not an argument of {cls.__name__} "
                f"(arguments: {', '.join(p for p in parameters if p != 'self')})"
            )
    kwargs = _typed_kwargs(cls, kwargs, path)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: {cls.__name__}: {error}") from error


#: Annotations whose values :func:`_typed_kwargs` checks (``"true"`` is not a bool).
_SIMPLE_TYPES = (bool, int, float, str)


def _typed_kwargs(cls: type, kwargs: dict[str, Any], path: str) -> dict[str, Any]:
    """``kwargs`` with each value of a plain ``bool``/``int``/``float``/``str`` parameter
    checked against its annotation (``include_background: banana`` was taken as true).

    Raises:
        ConfigError: naming ``{path}.kwargs.NAME`` and the value.
    """
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # annotations that do not resolve: leave the values to the class
        return kwargs
    return {
        name: convert(hints[name], value, f"{path}.kwargs.{name}")
        if hints.get(name) in _SIMPLE_TYPES
        else value
        for name, value in kwargs.items()
    }


def required_maps(loss: CompoundLoss) -> list[MapSpec]:
    """:func:`boundaryloss.losses.required_maps` of the configured loss; two terms wanting
    different maps under the same keyword cannot share precomputed maps and raise
    ``ConfigError``."""
    try:
        return loss_maps(loss)
    except ValueError as error:
        raise ConfigError(f"loss.terms: {error}") from error


def build_loss(config) -> CompoundLoss:
    """A :class:`CompoundLoss` from a ``LossConfig`` (whose terms and weights it checked).

    Raises:
        ConfigError: a term or schedule that is not registered or does not build with its
            ``kwargs``, naming ``loss.terms[i]`` or ``loss.schedule``.
    """
    terms = {
        term.label or term.name: instantiate(
            LOSSES, term.name, dict(term.kwargs), f"loss.terms[{i}]"
        )
        for i, term in enumerate(config.terms)
    }
    if config.schedule is None:
        schedule: Schedule = Constant([term.weight for term in config.terms])
    else:
        schedule = instantiate(
            SCHEDULES, config.schedule.name, dict(config.schedule.kwargs), "loss.schedule"
        )
    try:
        return CompoundLoss(terms, schedule)
    except ValueError as error:
        raise ConfigError(f"loss: {error}") from error


def build_model(config, in_channels: int, num_classes: int) -> nn.Module:
    """The network a ``ModelConfig`` names, for ``model.spatial_dims``-D inputs.

    Args:
        config: the ``model`` section (its name, dimensions and deep supervision checked
            by ``ModelConfig``).
        in_channels: channels of the input images.
        num_classes: classes of the output (background included).

    Raises:
        ConfigError: ``model.kwargs`` the network refuses, naming the key.
    """
    kwargs = dict(config.kwargs)
    if config.name == "unet":
        kwargs.setdefault("spatial_dims", config.spatial_dims)
    if config.deep_supervision:
        kwargs["deep_supervision"] = True
    kwargs.update(in_channels=in_channels, num_classes=num_classes)
    return instantiate(NETWORKS, config.name, kwargs, "model")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


#: Bytes per parameter while training with Adam in float32: weights, gradients and
#: two moment estimates.
TRAINING_BYTES_PER_PARAMETER = 16
#: Bytes per parameter of a network used for inference: its float32 weights.
INFERENCE_BYTES_PER_PARAMETER = 4


def shape_only_model(config, in_channels: int, num_classes: int) -> nn.Module:
    """The configured network built on the ``meta`` device: shapes, no memory.

    Raises:
        ConfigError: naming ``model.kwargs`` when the network cannot be built, e.g. a
            UNet ``depth`` whose widths (``base_channels * 2**depth``) overflow a
            tensor's size; or a wrong value (see :func:`build_model`).
    """
    try:
        with torch.device("meta"):
            return build_model(config, in_channels, num_classes)
    except (RuntimeError, OverflowError) as error:
        detail = " ".join(str(error).split())[:200]
        raise ConfigError(
            f"model.kwargs: {config.kwargs} does not build a {config.name} ({detail}); use "
            "a smaller depth or base_channels, or (unet) a max_channels cap"
        ) from None


def _largest_tensor(model: nn.Module, batch: torch.Tensor) -> int:
    """Bytes of the largest output of any layer of ``model`` on ``batch`` (both on the
    ``meta`` device): memory the forward needs at least, whatever else it keeps."""
    largest = [batch.numel() * batch.element_size()]

    def record(module, inputs, output) -> None:
        for tensor in output if isinstance(output, (list, tuple)) else (output,):
            if isinstance(tensor, torch.Tensor):
                largest[0] = max(largest[0], tensor.numel() * tensor.element_size())

    handles = [m.register_forward_hook(record) for m in model.modules()]
    try:
        model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return largest[0]


def check_model(
    config,
    in_channels: int,
    num_classes: int,
    sample_shape: tuple[int, ...] = (),
    smallest_batch: int = 2,
    training: bool = True,
) -> int:
    """Refuse a network that cannot run here, before any memory is spent on it.

    The network is built on the ``meta`` device (:func:`shape_only_model`: shapes only,
    no memory). Its parameters are counted, and the memory they need compared with the
    available memory: in training weights, gradients and Adam state (16 bytes per
    parameter), for inference the weights (4 bytes). With ``sample_shape``, a batch of
    ``smallest_batch`` such samples is also passed through it (in training mode when
    ``training``, else in eval mode), which catches a depth too large for the image
    size (e.g. a one-pixel bottleneck with a batch of one, where batch normalisation has
    nothing to normalise) and a layer output larger than the available memory (a UNet
    pads its input to a multiple of ``2**depth``). Activations kept for the backward
    pass come on top, so passing is necessary, not sufficient. Training, ``predict``
    and ``evaluate`` all check their network here (:func:`build_checked_model`).

    Returns:
        The number of parameters.

    Raises:
        ConfigError: naming ``model.kwargs`` and the estimate or the shape problem.
    """
    model = shape_only_model(config, in_channels, num_classes)
    count = sum(p.numel() for p in model.parameters())
    per_parameter = TRAINING_BYTES_PER_PARAMETER if training else INFERENCE_BYTES_PER_PARAMETER
    needed = count * per_parameter
    available = available_memory()
    if available is not None and needed > available:
        what = "weights, gradients and optimiser state" if training else "its weights"
        raise ConfigError(
            f"model.kwargs: {config.kwargs} gives a {config.name} of {count:,} parameters, "
            f"needing about {needed / 2**30:.1f} GiB for {what}; "
            f"{available / 2**30:.1f} GiB is available. Use a smaller depth or "
            "base_channels, or (unet) a max_channels cap"
        )
    if sample_shape:
        batch = torch.empty((smallest_batch, in_channels, *sample_shape), device="meta")
        try:
            largest = _largest_tensor(model.train(training), batch)
        except NotImplementedError:  # an operation without a meta kernel: cannot tell
            return count
        except (RuntimeError, ValueError) as error:
            detail = " ".join(str(error).split())[:200]
            samples = "training samples" if training else "inputs"
            raise ConfigError(
                f"model.kwargs: {config.kwargs} does not fit {samples} of size "
                f"{list(sample_shape)} ({detail}); use a smaller depth or a larger "
                "data.patch_size"
            ) from None
        if available is not None and largest > available:
            raise ConfigError(
                f"model.kwargs: {config.kwargs} makes a layer output of "
                f"{largest / 2**30:.1f} GiB for {smallest_batch} sample(s) of size "
                f"{list(sample_shape)}; {available / 2**30:.1f} GiB is available. Use a "
                "smaller depth (a UNet pads its input to a multiple of 2**depth) or "
                "base_channels"
            )
    return count


def build_checked_model(
    config,
    in_channels: int,
    num_classes: int,
    sample_shape: tuple[int, ...] = (),
    smallest_batch: int = 2,
    training: bool = True,
) -> nn.Module:
    """The configured network, built only once :func:`check_model` passes (same
    arguments): the one way training, ``predict`` and ``evaluate`` build a model.

    Raises:
        ConfigError: naming ``model.kwargs`` or another ``model`` key.
    """
    check_model(config, in_channels, num_classes, sample_shape, smallest_batch, training)
    return build_model(config, in_channels, num_classes)


def build_optimizer(config, parameters) -> torch.optim.Optimizer:
    """Adam with the boundary-loss paper's betas (0.9, 0.99) by default, or SGD."""
    if config.name == "adam":
        return torch.optim.Adam(
            parameters, lr=config.lr, betas=tuple(config.betas), weight_decay=config.weight_decay
        )
    return torch.optim.SGD(
        parameters,
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.momentum > 0,
        weight_decay=config.weight_decay,
    )


class PlateauHalving:
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without a new
    best validation score (the boundary-loss paper halves it after 20 epochs)."""

    def __init__(self, optimizer: torch.optim.Optimizer, patience: int, factor: float) -> None:
        self.optimizer = optimizer
        self.patience = patience
        self.factor = factor
        self.best = -math.inf
        self.bad_epochs = 0

    def step(self, score: float | None) -> None:
        if score is None:
            return
        if score > self.best:
            self.best, self.bad_epochs = score, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            for group in self.optimizer.param_groups:
                group["lr"] *= self.factor
            self.bad_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]


class PolynomialDecay:
    """``lr = lr0 * (1 - epoch / epochs) ** exponent`` (nnU-Net; the region-wise paper)."""

    def __init__(self, optimizer: torch.optim.Optimizer, epochs: int, exponent: float) -> None:
        self.optimizer = optimizer
        self.epochs = epochs
        self.exponent = exponent
        self.initial = [group["lr"] for group in optimizer.param_groups]
        self.epoch = 0

    def step(self, score: float | None) -> None:
        self.epoch += 1
        scale = max(1 - self.epoch / self.epochs, 0.0) ** self.exponent
        for group, lr0 in zip(self.optimizer.param_groups, self.initial, strict=True):
            group["lr"] = lr0 * scale

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "initial": self.initial}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.initial = state["epoch"], state["initial"]


class ConstantRate:
    """The learning-rate schedule ``constant``: the rate never changes."""

    def step(self, score: float | None) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def build_lr_schedule(config, optimizer: torch.optim.Optimizer, epochs: int):
    """The learning-rate schedule ``optim.lr_schedule`` names, stepped once per epoch
    (with the validation score): :class:`PlateauHalving`, :class:`PolynomialDecay` over
    ``epochs``, or :class:`ConstantRate`."""
    if config.lr_schedule == "plateau":
        return PlateauHalving(optimizer, config.patience, config.factor)
    if config.lr_schedule == "poly":
        return PolynomialDecay(optimizer, epochs, config.poly_exponent)
    return ConstantRate()
