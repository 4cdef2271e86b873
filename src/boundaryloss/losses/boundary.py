"""Boundary loss (Kervadec et al., MIDL 2019)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..maps import MapSpec
from ._base import SegmentationLoss
from ._inputs import (
    SegmentationInputs,
    check_convention,
    check_spacing_argument,
    loss_map,
    prepare_inputs,
    weighted_probability_loss,
)


def boundary_map(convention: str = "paper") -> MapSpec:
    """The map the boundary loss takes as ``dist_map``: the signed distance map."""
    return MapSpec("signed", convention, "dist_map")


def _boundary_loss(
    inputs: SegmentationInputs,
    dist_map: torch.Tensor | None,
    *,
    reduction: str,
    spacing: Sequence[float] | float | None,
    convention: str,
) -> torch.Tensor:
    phi = loss_map(boundary_map(convention), dist_map, inputs, spacing)
    return weighted_probability_loss(inputs, phi, reduction)


def boundary_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    dist_map: torch.Tensor | None = None,
    *,
    include_background: bool = True,
    classes: Sequence[int] | None = None,
    activation: str | None = "softmax",
    reduction: str = "mean",
    spacing: Sequence[float] | float | None = None,
    convention: str = "paper",
) -> torch.Tensor:
    r"""Boundary loss: the mean over pixels of probability times signed distance.

    .. math::
        L_k = \frac{1}{|\Omega|} \sum_{x \in \Omega} s_\theta(x)_k \, \phi_{G_k}(x)

    Kervadec, H., Bouchtiba, J., Desrosiers, C., Granger, E., Dolz, J., Ben Ayed, I.
    "Boundary loss for highly unbalanced segmentation", MIDL 2019
    (https://arxiv.org/abs/1812.07032).

    Convention:
        ``phi`` is negative inside the class and positive outside, so the loss is
        *negative* for a good prediction and its minimum is not 0. The paper used it on
        the foreground classes only (``include_background=False`` or ``classes=[1]``),
        combined with a regional loss (see :class:`~boundaryloss.schedules.Rebalance`).
        An absent class (or one filling the image) has an all-zero map and contributes 0.
        Per-class value = mean over pixels; the contribution of each class is that value
        divided by ``C_selected``, so ``"mean"`` averages over batch and classes (as MONAI's
        ``BoundaryLoss``) and ``"none"`` is ``(B, C_selected)``.

    Args:
        logits: ``(B, C, *spatial)`` network output, 2D or 3D.
        target: labels ``(B, *spatial)`` / ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        dist_map: optional precomputed signed distance maps ``(B, C, *spatial)`` or
            ``(B, C_selected, *spatial)``; computed from ``target`` when None (no gradient,
            on the target's device) with :func:`boundaryloss.maps.signed_distance_map`.
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use (the original code's ``idc``).
        activation: ``"softmax"``, ``"sigmoid"`` or None (``logits`` are probabilities).
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        spacing: pixel size per spatial axis (physical units) for computed maps.
        convention: ``"paper"``, ``"official"`` (original code, equals MONAI) or ``"rw"``.

    Returns:
        Scalar, or ``(B, C_selected)`` with ``reduction="none"``.

    Shapes:
        - logits: ``(B, C, H, W)`` or ``(B, C, D, H, W)``.
        - target: ``(B, H, W)``, ``(B, 1, H, W)`` or ``(B, C, H, W)`` (and 3D equivalents).
        - dist_map: ``(B, C, *spatial)`` or ``(B, C_selected, *spatial)``.

    Raises:
        ValueError: bad shapes, labels, logits, map, spacing, reduction, activation or
            convention.

    Example:
        >>> logits = torch.randn(2, 3, 16, 16)
        >>> target = torch.randint(0, 3, (2, 16, 16))
        >>> boundary_loss(logits, target, include_background=False).shape
        torch.Size([])
    """
    convention = check_convention(convention)
    inputs = prepare_inputs(
        logits,
        target,
        activation=activation,
        include_background=include_background,
        classes=classes,
    )
    return _boundary_loss(
        inputs, dist_map, reduction=reduction, spacing=spacing, convention=convention
    )


class BoundaryLoss(SegmentationLoss):
    """Boundary loss module; see :func:`boundary_loss` for the convention and citation.

    Kervadec et al., "Boundary loss for highly unbalanced segmentation", MIDL 2019.

    The loss is negative when the prediction is good (the map is negative inside the
    class). The paper used the foreground classes only: pass ``include_background=False``
    or ``classes=[1]``.

    Args:
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        spacing: pixel size per spatial axis for maps computed from the target.
        convention: signed-distance convention, ``"paper"``, ``"official"`` or ``"rw"``.

    Returns:
        ``forward`` gives a scalar, or the ``(B, C_selected)`` per-class contributions
        with ``reduction="none"``; shapes as in the functional form.

    Raises:
        ValueError: invalid option.

    Example:
        >>> loss = BoundaryLoss(include_background=False)
        >>> value = loss(torch.randn(2, 2, 8, 8), torch.randint(0, 2, (2, 8, 8)))
    """

    def __init__(
        self,
        include_background: bool = True,
        classes: Sequence[int] | None = None,
        activation: str | None = "softmax",
        reduction: str = "mean",
        spacing: Sequence[float] | float | None = None,
        convention: str = "paper",
    ) -> None:
        super().__init__(include_background, classes, activation, reduction)
        self.spacing = check_spacing_argument(spacing)
        self.convention = check_convention(convention)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "spacing": self.spacing, "convention": self.convention}

    core = staticmethod(_boundary_loss)

    def map_requirement(self) -> MapSpec:
        return self.reads(boundary_map(self.convention))

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, dist_map: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.compute(self.prepare(logits, target), dist_map)
