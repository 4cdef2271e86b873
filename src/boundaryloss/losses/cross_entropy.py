"""Cross-entropy and its rectified-region-wise weighted variant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ..maps import MapSpec
from ._base import SegmentationLoss
from ._inputs import (
    SegmentationInputs,
    check_class_values,
    check_spacing_argument,
    class_vector,
    loss_map,
    prepare_inputs,
    reduce_contributions,
    spatial_mean,
)


def _pixel_terms(inputs: SegmentationInputs) -> torch.Tensor:
    """Selected per-pixel, per-class cross-entropy terms ``(B, C_selected, *spatial)``.

    Categorical: ``-g_k log p_k`` (log-softmax for stability). Binary (sigmoid, or one
    probability channel): ``-(g_k log p_k + (1 - g_k) log(1 - p_k))``.
    """
    truth = inputs.select(inputs.target)
    log_p = inputs.select(inputs.log_probabilities())
    if inputs.binary:
        log_q = inputs.select(inputs.log_complement_probabilities())
        return -(truth * log_p + (1 - truth) * log_q)
    return -truth * log_p


#: The map the RRW-weighted cross-entropy takes as ``rw_map``.
RRW_MAP = MapSpec("rrw", argument="rw_map")


def _cross_entropy_loss(
    inputs: SegmentationInputs, *, class_weights: Sequence[float] | None, reduction: str
) -> torch.Tensor:
    terms = _pixel_terms(inputs)
    if class_weights is not None:
        terms = terms * class_vector(class_weights, "class_weights", inputs)
    return reduce_contributions(spatial_mean(terms), reduction)


def _rrw_cross_entropy_loss(
    inputs: SegmentationInputs,
    rw_map: torch.Tensor | None,
    *,
    reduction: str,
    spacing: Sequence[float] | float | None,
) -> torch.Tensor:
    weights = loss_map(RRW_MAP, rw_map, inputs, spacing)
    terms = _pixel_terms(inputs) * weights.abs()
    return reduce_contributions(spatial_mean(terms), reduction)


def cross_entropy_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    class_weights: Sequence[float] | None = None,
    include_background: bool = True,
    classes: Sequence[int] | None = None,
    activation: str | None = "softmax",
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Pixel-wise cross-entropy, split into per-class contributions.

    .. math::
        L = \frac{1}{|\Omega|} \sum_{x} \sum_k -w_k\, g_k(x) \log p_k(x)

    Convention:
        With ``"softmax"`` (categorical) class ``k`` contributes the mean over pixels of
        ``-w_k g_k log p_k``; the sum over all classes is the standard cross-entropy, so
        ``"mean"`` with every class equals :func:`torch.nn.functional.cross_entropy`. With
        ``class_weights`` it equals ``F.cross_entropy(weight=w, reduction="none").mean()``,
        *not* torch's ``"mean"``, which divides by the summed weights of the targets.
        With ``"sigmoid"`` (or ``activation=None`` and one channel) each class contributes
        its binary cross-entropy averaged over pixels; the total is their *sum* over classes
        (``F.binary_cross_entropy_with_logits`` also averages over channels). Dropping
        classes drops their terms; probabilities are still normalised over all channels.
        ``"none"`` is ``(B, C_selected)``. Non-negative, 0 only for a perfect prediction.

    Args:
        logits: ``(B, C, *spatial)`` network output, 2D or 3D.
        target: labels ``(B, *spatial)`` / ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        class_weights: optional non-negative weight per logit channel (length ``C``).
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None (``logits`` are probabilities).
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
        Scalar, or ``(B, C_selected)`` with ``reduction="none"``.

    Shapes:
        - logits: ``(B, C, *spatial)``; target: ``(B, *spatial)``, ``(B, 1, *spatial)`` or
          ``(B, C, *spatial)``.

    Raises:
        ValueError: bad shapes, labels, logits, class weights, reduction or activation.

    Example:
        >>> logits = torch.randn(2, 3, 8, 8)
        >>> target = torch.randint(0, 3, (2, 8, 8))
        >>> value = cross_entropy_loss(logits, target)
        >>> torch.allclose(value, torch.nn.functional.cross_entropy(logits, target))
        True
    """
    inputs = prepare_inputs(
        logits,
        target,
        activation=activation,
        include_background=include_background,
        classes=classes,
    )
    return _cross_entropy_loss(inputs, class_weights=class_weights, reduction=reduction)


def rrw_cross_entropy_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    rw_map: torch.Tensor | None = None,
    *,
    include_background: bool = True,
    classes: Sequence[int] | None = None,
    activation: str | None = "softmax",
    reduction: str = "mean",
    spacing: Sequence[float] | float | None = None,
) -> torch.Tensor:
    r"""Cross-entropy weighted pixel-wise by the magnitude of a rectified region-wise map.

    .. math::
        L = \frac{1}{|\Omega|} \sum_{x} \sum_k -g_k(x)\, |W_k(x)| \log p_k(x)

    Valverde, J. M., Tohka, J. "Region-wise loss for biomedical image segmentation",
    Pattern Recognition 136 (2023), sections 3.2 and 4.1 (https://arxiv.org/abs/2108.01405).

    Convention:
        ``W`` is :func:`boundaryloss.maps.rrw_map` (or ``rw_map``). This is our reading of
        the paper's RRW-weighted cross-entropy: with softmax only the true class's weight
        acts, ``|W| = d / max(d)`` in ``(0, 1]``, so pixels deep inside a structure weigh
        more than pixels at its border. With sigmoid each channel's binary cross-entropy is
        weighted by ``|W_k|`` (``1`` outside the class). Contributions are per-class means
        over pixels summed over classes, as in :func:`cross_entropy_loss`; ``"none"`` is
        ``(B, C_selected)``.

    Args:
        logits: ``(B, C, *spatial)`` network output, 2D or 3D.
        target: labels ``(B, *spatial)`` / ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        rw_map: optional precomputed RRW map ``(B, C, *spatial)`` or
            ``(B, C_selected, *spatial)``; its absolute value is used.
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None (``logits`` are probabilities).
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        spacing: pixel size per spatial axis for computed maps.

    Returns:
        Scalar, or ``(B, C_selected)`` with ``reduction="none"``.

    Shapes:
        - logits: ``(B, C, *spatial)``; target: ``(B, *spatial)``, ``(B, 1, *spatial)`` or
          ``(B, C, *spatial)``; rw_map: ``(B, C, *spatial)`` or ``(B, C_selected, *spatial)``.

    Raises:
        ValueError: bad shapes, labels, logits, map, spacing, reduction or activation.

    Example:
        >>> logits = torch.randn(2, 3, 8, 8)
        >>> target = torch.randint(0, 3, (2, 8, 8))
        >>> rrw_cross_entropy_loss(logits, target, reduction="none").shape
        torch.Size([2, 3])
    """
    inputs = prepare_inputs(
        logits,
        target,
        activation=activation,
        include_background=include_background,
        classes=classes,
    )
    return _rrw_cross_entropy_loss(inputs, rw_map, reduction=reduction, spacing=spacing)


class CrossEntropyLoss(SegmentationLoss):
    """Cross-entropy module; see :func:`cross_entropy_loss`.

    Args:
        class_weights: optional non-negative weight per logit channel.
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
        ``forward`` gives a scalar, or the ``(B, C_selected)`` per-class contributions
        with ``reduction="none"``; shapes as in the functional form.

    Raises:
        ValueError: invalid option.
    """

    def __init__(
        self,
        class_weights: Sequence[float] | None = None,
        include_background: bool = True,
        classes: Sequence[int] | None = None,
        activation: str | None = "softmax",
        reduction: str = "mean",
    ) -> None:
        super().__init__(include_background, classes, activation, reduction)
        self.class_weights = check_class_values(class_weights, "class_weights")

    def options(self) -> dict[str, Any]:
        return {**super().options(), "class_weights": self.class_weights}

    core = staticmethod(_cross_entropy_loss)


class RRWCrossEntropyLoss(SegmentationLoss):
    """RRW-weighted cross-entropy module; see :func:`rrw_cross_entropy_loss`.

    Valverde & Tohka, "Region-wise loss for biomedical image segmentation", 2023, sec. 3.2/4.1
    (our reading: only the true class's ``|W|`` weights its log-probability).

    Args:
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
        include_background: bool = True,
        classes: Sequence[int] | None = None,
        activation: str | None = "softmax",
        reduction: str = "mean",
        spacing: Sequence[float] | float | None = None,
    ) -> None:
        super().__init__(include_background, classes, activation, reduction)
        self.spacing = check_spacing_argument(spacing)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "spacing": self.spacing}

    core = staticmethod(_rrw_cross_entropy_loss)

    def map_requirement(self) -> MapSpec:
        return self.reads(RRW_MAP)

    def forward(
        self, logits: torch.Tensor, target: torch.Tensor, rw_map: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.compute(self.prepare(logits, target), rw_map)
