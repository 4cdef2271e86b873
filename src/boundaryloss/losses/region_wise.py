"""Region-wise loss (Valverde & Tohka)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._validation import check_one_of
from ..maps import MapSpec
from ._base import SegmentationLoss
from ._inputs import (
    SegmentationInputs,
    check_spacing_argument,
    loss_map,
    prepare_inputs,
    weighted_probability_loss,
)

#: The region-wise loss's ``map`` options and the map each one takes as ``rw_map``.
RW_MAPS = {
    "rrw": MapSpec("rrw", argument="rw_map"),
    "boundary": MapSpec("signed", "rw", "rw_map"),
    "ac": MapSpec("ac", argument="rw_map"),
}


def _region_wise_loss(
    inputs: SegmentationInputs,
    rw_map: torch.Tensor | None,
    *,
    map: str,
    reduction: str,
    spacing: Sequence[float] | float | None,
) -> torch.Tensor:
    weights = loss_map(RW_MAPS[map], rw_map, inputs, spacing)
    return weighted_probability_loss(inputs, weights, reduction)


def region_wise_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    rw_map: torch.Tensor | None = None,
    *,
    map: str = "rrw",
    include_background: bool = True,
    classes: Sequence[int] | None = None,
    activation: str | None = "softmax",
    reduction: str = "mean",
    spacing: Sequence[float] | float | None = None,
) -> torch.Tensor:
    r"""Region-wise loss: the mean over pixels of probability times a region-wise map.

    .. math::
        L_k = \frac{1}{|\Omega|} \sum_{x \in \Omega} s_\theta(x)_k \, W_k(x)

    Valverde, J. M., Tohka, J. "Region-wise loss for biomedical image segmentation",
    Pattern Recognition 136 (2023), https://arxiv.org/abs/2108.01405.

    Convention:
        ``map`` chooses ``W`` when ``rw_map`` is not given:

        - ``"rrw"`` (rectified region-wise, the paper's recommendation):
          :func:`boundaryloss.maps.rrw_map`, ``-d/max(d)`` on the class, ``+1`` elsewhere.
          The gradient w.r.t. the logits then has exactly one negative component per
          pixel (the true class's): the paper's stability principle.
        - ``"boundary"``: the signed distance map with the ``"rw"`` convention
          (``edt(~G) - edt(G)``); with 3+ classes it breaks the stability principle.
        - ``"ac"``: :func:`boundaryloss.maps.ac_map`, ``1 - one_hot`` (active-contour
          region terms).

        Per-class value = mean over pixels; each class contributes that value divided by
        ``C_selected`` (``"mean"`` averages over batch and classes). ``"none"`` is
        ``(B, C_selected)``. The loss can be negative (``"rrw"``, ``"boundary"``).

    Args:
        logits: ``(B, C, *spatial)`` network output, 2D or 3D.
        target: labels ``(B, *spatial)`` / ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        rw_map: optional precomputed map ``(B, C, *spatial)`` or ``(B, C_selected, *spatial)``.
        map: ``"rrw"``, ``"boundary"`` or ``"ac"``; which map to compute from ``target``.
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None (``logits`` are probabilities).
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        spacing: pixel size per spatial axis for computed maps (ignored by ``"ac"``).

    Returns:
        Scalar, or ``(B, C_selected)`` with ``reduction="none"``.

    Shapes:
        - logits: ``(B, C, *spatial)``; target: ``(B, *spatial)``, ``(B, 1, *spatial)`` or
          ``(B, C, *spatial)``; rw_map: ``(B, C, *spatial)`` or ``(B, C_selected, *spatial)``.

    Raises:
        ValueError: bad shapes, labels, logits, map, spacing, reduction or activation.

    Example:
        >>> logits = torch.randn(2, 3, 16, 16)
        >>> target = torch.randint(0, 3, (2, 16, 16))
        >>> region_wise_loss(logits, target, reduction="none").shape
        torch.Size([2, 3])
    """
    map = check_one_of(map, RW_MAPS, "map")
    inputs = prepare_inputs(
        logits,
        target,
        activation=activation,
        include_background=include_background,
        classes=classes,
    )
    return _region_wise_loss(inputs, rw_map, map=map, reduction=reduction, spacing=spacing)


class RegionWiseLoss(SegmentationLoss):
    """Region-wise loss module; see :func:`region_wise_loss` for convention and citation.

    Valverde & Tohka, "Region-wise loss for biomedical image segmentation", 2023.

    Args:
        map: ``"rrw"``, ``"boundary"`` or ``"ac"``, the map computed when ``rw_map`` is None.
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
        map: str = "rrw",
        include_background: bool = True,
        classes: Sequence[int] | None = None,
        activation: str | None = "softmax",
        reduction: str = "mean",
        spacing: Sequence[float] | float | None = None,
    ) -> None:
        super().__init__(include_background, classes, activation, reduction)
        self.map = check_one_of(map, RW_MAPS, "map")
        self.spacing = check_spacing_argument(spacing)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "map": self.map, "spacing": self.spacing}

    core = staticmethod(_region_wise_loss)

    def map_requirement(self) -> MapSpec:
        return self.reads(RW_MAPS[self.map])

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, rw_map: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.compute(self.prepare(logits, target), rw_map)
