"""Base class holding the options every loss module shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import nn

from .._validation import check_classes
from ._inputs import check_activation, check_reduction


class SegmentationLoss(nn.Module):
    """Stores and validates ``include_background``, ``classes``, ``activation``, ``reduction``.

    Subclasses keep the math in their functional twin; ``forward`` passes
    :meth:`options` to it.

    Attributes:
        map_argument: name of the precomputed map ``forward`` accepts (``"dist_map"`` or
            ``"rw_map"``), or None. :class:`CompoundLoss` uses it to route maps to terms.
    """

    map_argument: ClassVar[str | None] = None

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

    def extra_repr(self) -> str:
        return ", ".join(f"{key}={value!r}" for key, value in self.options().items())
