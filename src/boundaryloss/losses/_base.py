"""Base class holding the options every loss module shares, and its map declaration."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from .._validation import check_classes
from ..maps import MAP_ARGUMENTS, MapSpec
from ._inputs import SegmentationInputs, check_activation, check_reduction, prepare_inputs

#: Options that select and activate the inputs; the rest are the loss's own.
INPUT_OPTIONS = ("include_background", "classes", "activation")


def map_keywords(forward: Any) -> list[str]:
    """The map keywords (``dist_map``, ``rw_map``) a ``forward`` accepts."""
    parameters = inspect.signature(forward).parameters
    return [name for name in MAP_ARGUMENTS if name in parameters]


class SegmentationLoss(nn.Module):
    """Stores and validates ``include_background``, ``classes``, ``activation``, ``reduction``.

    Subclasses keep the math in one ``core`` function that takes validated inputs (and
    the precomputed map or None, for a loss that declares one) and the loss's own options;
    :meth:`compute` calls it with the module's options, ``forward`` is
    ``compute(prepare(logits, target))``, and the functional twin calls the same core.

    A loss that builds a map from the target (and accepts it precomputed as a ``forward``
    keyword) declares that map in :meth:`map_requirement`; the data pipeline, the trainer
    and :class:`~boundaryloss.losses.CompoundLoss` ask it. A subclass whose ``forward``
    takes a map keyword but does not declare the map (or the reverse) is refused when
    the class is defined, so no loss can silently compute its maps from a patch with the
    wrong spacing.
    """

    #: ``core(inputs, **loss_options())``, or ``core(inputs, map, **loss_options())`` for a
    #: loss that declares a map; set with ``staticmethod``.
    core: ClassVar[Callable[..., torch.Tensor]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        keywords = map_keywords(cls.forward)
        declares = cls.map_requirement is not SegmentationLoss.map_requirement
        if len(keywords) > 1 or bool(keywords) != declares:
            raise TypeError(
                f"{cls.__name__}: forward takes the map keywords {keywords} but "
                f"map_requirement is {'overridden' if declares else 'not overridden'}; a "
                "loss taking one precomputed map must declare it in map_requirement()"
            )

    def __init__(
        self,
        include_background: bool = True,
        classes: Sequence[int] | None = None,
        activation: str | None = "softmax",
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self.include_background = bool(include_background)
        self.classes = check_classes(classes, self.include_background)
        self.activation = check_activation(activation)
        self.reduction = check_reduction(reduction)

    def options(self) -> dict[str, Any]:
        """Keyword arguments for the functional twin."""
        return {
            "include_background": self.include_background,
            "classes": self.classes,
            "activation": self.activation,
            "reduction": self.reduction,
        }

    def loss_options(self) -> dict[str, Any]:
        """:meth:`options` without the input options (what the core takes)."""
        return {k: v for k, v in self.options().items() if k not in INPUT_OPTIONS}

    def map_requirement(self) -> MapSpec | None:
        """The map this loss computes from the target, or None for a regional loss.

        Its ``argument`` is the ``forward`` keyword that takes the map precomputed; its
        channels are the classes this loss reads (:meth:`reads`), so a precomputed map
        may leave the others zeros.
        """
        return None

    def reads(self, spec: MapSpec) -> MapSpec:
        """``spec`` restricted to the channels this loss reads: its ``include_background``
        and ``classes`` (a precomputed map reaches the core through
        :func:`~boundaryloss.losses._inputs.prepare_map`, which keeps only those)."""
        return spec.with_classes(self.include_background, self.classes)

    def prepare(self, logits: torch.Tensor, target: torch.Tensor) -> SegmentationInputs:
        """Validated inputs with this loss's activation and classes."""
        return prepare_inputs(
            logits,
            target,
            activation=self.activation,
            include_background=self.include_background,
            classes=self.classes,
        )

    def compute(
        self, inputs: SegmentationInputs, weight_map: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The loss of validated ``inputs`` and, for a loss declaring a map, the
        precomputed map (None: computed from the target).

        Raises:
            ValueError: a map given to a loss that takes none.
        """
        if self.map_requirement() is not None:
            return self.core(inputs, weight_map, **self.loss_options())
        if weight_map is not None:
            raise ValueError(f"{type(self).__name__} takes no precomputed map")
        return self.core(inputs, **self.loss_options())

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.compute(self.prepare(logits, target))

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self.options().items())
