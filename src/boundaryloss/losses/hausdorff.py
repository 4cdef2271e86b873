"""One-sided distance-transform Hausdorff loss (Karimi & Salcudean, 2019)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._validation import check_non_negative
from ..maps import MapSpec
from ._base import SegmentationLoss
from ._inputs import (
    SegmentationInputs,
    check_spacing_argument,
    loss_map,
    prepare_inputs,
    reduce_contributions,
    spatial_mean,
)

#: The map the Hausdorff loss takes as ``dist_map``: ``edt(G) + edt(~G)``.
HAUSDORFF_MAP = MapSpec("unsigned", "rw", "dist_map")


def _hausdorff_dt_loss(
    inputs: SegmentationInputs,
    dist_map: torch.Tensor | None,
    *,
    alpha: float,
    reduction: str,
    spacing: Sequence[float] | float | None,
) -> torch.Tensor:
    distance = loss_map(HAUSDORFF_MAP, dist_map, inputs, spacing, non_negative=True)
    probs = inputs.select(inputs.probabilities())
    error = (probs - inputs.select(inputs.target)) ** 2
    contributions = spatial_mean(error * distance**alpha) / len(inputs.classes)
    return reduce_contributions(contributions, reduction)


def hausdorff_dt_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    dist_map: torch.Tensor | None = None,
    *,
    alpha: float = 2.0,
    include_background: bool = True,
    classes: Sequence[int] | None = None,
    activation: str | None = "softmax",
    reduction: str = "mean",
    spacing: Sequence[float] | float | None = None,
) -> torch.Tensor:
    r"""One-sided distance-transform Hausdorff loss.

    .. math::
        L_k = \frac{1}{|\Omega|} \sum_{x \in \Omega} (p_k(x) - g_k(x))^2 \, d_{G_k}(x)^\alpha

    Karimi, D., Salcudean, S. E. "Reducing the Hausdorff distance in medical image
    segmentation with convolutional neural networks", IEEE TMI 39(2), 2019
    (https://arxiv.org/abs/1904.10030).

    Convention:
        One-sided: only the target's distance transform ``d_G`` is used (the paper's
        two-sided form adds the prediction's, which MONAI's ``HausdorffDTLoss`` recomputes
        every step). ``d_G`` is :func:`boundaryloss.maps.unsigned_distance_map` with the
        ``"rw"`` convention, ``edt(G) + edt(~G)``, zero for an absent or full class, which
        therefore contributes 0. The loss is non-negative, 0 for a perfect prediction.
        Per-class value = mean over pixels; each class contributes that value divided by
        ``C_selected`` (``"mean"`` averages over batch and classes); ``"none"`` is
        ``(B, C_selected)``.

    Args:
        logits: ``(B, C, *spatial)`` network output, 2D or 3D.
        target: labels ``(B, *spatial)`` / ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        dist_map: optional precomputed *unsigned* distance maps ``(B, C, *spatial)`` or
            ``(B, C_selected, *spatial)`` (must be non-negative).
        alpha: exponent of the distance, >= 0 (the paper uses 2).
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None (``logits`` are probabilities).
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        spacing: pixel size per spatial axis for computed maps.

    Returns:
        Scalar, or ``(B, C_selected)`` with ``reduction="none"``.

    Shapes:
        - logits: ``(B, C, *spatial)``; target: ``(B, *spatial)``, ``(B, 1, *spatial)`` or
          ``(B, C, *spatial)``; dist_map: ``(B, C, *spatial)`` or ``(B, C_selected, *spatial)``.

    Raises:
        ValueError: bad shapes, labels, logits, negative or misshapen map, spacing, alpha,
            reduction or activation.

    Example:
        >>> logits = torch.randn(2, 3, 16, 16)
        >>> target = torch.randint(0, 3, (2, 16, 16))
        >>> hausdorff_dt_loss(logits, target).item() >= 0
        True
    """
    alpha = check_non_negative(alpha, "alpha")
    inputs = prepare_inputs(
        logits,
        target,
        activation=activation,
        include_background=include_background,
        classes=classes,
    )
    return _hausdorff_dt_loss(inputs, dist_map, alpha=alpha, reduction=reduction, spacing=spacing)


class HausdorffDTLoss(SegmentationLoss):
    """One-sided Hausdorff loss module; see :func:`hausdorff_dt_loss`.

    Karimi & Salcudean, "Reducing the Hausdorff distance in medical image segmentation
    with convolutional neural networks", IEEE TMI 2019.

    Args:
        alpha: exponent of the distance, >= 0.
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        spacing: pixel size per spatial axis for computed maps.

    Returns:
        ``forward`` gives a scalar, or the ``(B, C_selected)`` per-class contributions
        with ``reduction="none"``; shapes as in the functional form.

    Raises:
        ValueError: invalid option.
    """

    def __init__(
        self,
        alpha: float = 2.0,
        include_background: bool = True,
        classes: Sequence[int] | None = None,
        activation: str | None = "softmax",
        reduction: str = "mean",
        spacing: Sequence[float] | float | None = None,
    ) -> None:
        super().__init__(include_background, classes, activation, reduction)
        self.alpha = check_non_negative(alpha, "alpha")
        self.spacing = check_spacing_argument(spacing)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "alpha": self.alpha, "spacing": self.spacing}

    core = staticmethod(_hausdorff_dt_loss)

    def map_requirement(self) -> MapSpec:
        return self.reads(HAUSDORFF_MAP)

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, dist_map: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.compute(self.prepare(logits, target), dist_map)
