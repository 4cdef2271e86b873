"""The names configurations give losses and schedules: one registry of each.

The trainer's YAML configurations (``loss.terms[].name``, ``loss.schedule.name``) and the
nnU-Net trainers (``map_term``, ``regional``, ``BOUNDARYLOSS_SCHEDULE``) look the names up
here. Register a loss or schedule of your own, before the configuration is built, to use
it by name::

    from boundaryloss import SegmentationLoss, register_loss

    @register_loss("my_loss")
    class MyLoss(SegmentationLoss):
        ...

then ``loss.terms: [{name: my_loss, kwargs: {...}}]`` builds ``MyLoss(**kwargs)``. A loss
that takes a precomputed map declares it (``map_requirement()``), and the trainer computes
that map for it like for the shipped losses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from torch import nn

from .losses import (
    BoundaryLoss,
    CrossEntropyLoss,
    DiceLoss,
    FocalLoss,
    GeneralizedDiceLoss,
    HausdorffDTLoss,
    RegionWiseLoss,
    RRWCrossEntropyLoss,
)
from .schedules import Constant, LinearRamp, Rebalance, Schedule, StealWeight

T = TypeVar("T")


class Registry(Mapping[str, type[T]], Generic[T]):
    """Names -> classes, read like a ``dict`` and extended with :meth:`register`.

    Args:
        kind: what the classes are (``"loss"``, ``"schedule"``), for messages.
        base: the class every registered class must derive from.
        entries: the classes shipped with the package.
    """

    def __init__(self, kind: str, base: type[T], entries: Mapping[str, type[T]]) -> None:
        self.kind = kind
        self.base = base
        self._entries: dict[str, type[T]] = {}
        for name, cls in entries.items():
            self.register(name, cls)

    def register(
        self, name: str, cls: type[T] | None = None
    ) -> type[T] | Callable[[type[T]], type[T]]:
        """Make ``cls`` available under ``name``; without ``cls``, a class decorator.

        Registering the same class under the same name again does nothing (a module
        imported twice).

        Returns:
            ``cls`` (or the decorator).

        Raises:
            ValueError: ``name`` is not an identifier, is taken by another class, or ``cls``
                is not a class derived from :attr:`base`.
        """
        if cls is None:
            return lambda decorated: self.register(name, decorated)  # type: ignore[return-value]
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"{self.kind} name must be an identifier (letters, digits, _), got {name!r}"
            )
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise ValueError(
                f"{self.kind} {name!r}: {cls!r} is not a class derived from "
                f"{self.base.__module__}.{self.base.__qualname__}"
            )
        taken = self._entries.get(name)
        if taken is not None and taken is not cls:
            raise ValueError(
                f"{self.kind} {name!r} is already registered to "
                f"{taken.__module__}.{taken.__qualname__}; choose another name"
            )
        self._entries[name] = cls
        return cls

    def __getitem__(self, name: str) -> type[T]:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.kind!r}, {sorted(self._entries)})"


#: Loss classes by name; a configuration's ``kwargs`` go to the constructor.
LOSSES: Registry[nn.Module] = Registry(
    "loss",
    nn.Module,
    {
        "boundary": BoundaryLoss,
        "region_wise": RegionWiseLoss,
        "gdl": GeneralizedDiceLoss,
        "dice": DiceLoss,
        "ce": CrossEntropyLoss,
        "focal": FocalLoss,
        "hausdorff": HausdorffDTLoss,
        "rrw_ce": RRWCrossEntropyLoss,
    },
)
#: Schedule classes by name.
SCHEDULES: Registry[Schedule] = Registry(
    "schedule",
    Schedule,
    {
        "constant": Constant,
        "rebalance": Rebalance,
        "steal_weight": StealWeight,
        "linear_ramp": LinearRamp,
    },
)


def register_loss(name: str, cls: type[nn.Module] | None = None):
    """Register a loss class (an ``nn.Module`` called ``loss(logits, target)``) under
    ``name`` for configurations; without ``cls``, a class decorator.

    Raises:
        ValueError: as :meth:`Registry.register`.

    Example::

        register_loss("squared_dice", SquaredDiceLoss)  # loss.terms: [{name: squared_dice}]
    """
    return LOSSES.register(name, cls)


def register_schedule(name: str, cls: type[Schedule] | None = None):
    """Register a :class:`~boundaryloss.schedules.Schedule` class under ``name`` for
    configurations; without ``cls``, a class decorator.

    Raises:
        ValueError: as :meth:`Registry.register`.
    """
    return SCHEDULES.register(name, cls)
