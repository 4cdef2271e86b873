"""Soft Dice and generalized Dice losses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._validation import check_non_negative
from ._base import SegmentationLoss
from ._inputs import SegmentationInputs, prepare_inputs, reduce_contributions, spatial_sum


def _dice_loss(
    inputs: SegmentationInputs,
    *,
    reduction: str,
    smooth_nr: float,
    smooth_dr: float,
    squared_pred: bool,
) -> torch.Tensor:
    probs = inputs.select(inputs.probabilities())
    truth = inputs.select(inputs.target)
    intersection = spatial_sum(probs * truth)
    if squared_pred:
        denominator = spatial_sum(probs**2) + spatial_sum(truth**2)
    else:
        denominator = spatial_sum(probs) + spatial_sum(truth)
    per_class = 1 - (2 * intersection + smooth_nr) / (denominator + smooth_dr)
    return reduce_contributions(per_class / len(inputs.classes), reduction)


def _generalized_dice_loss(
    inputs: SegmentationInputs, *, reduction: str, smooth_nr: float, smooth_dr: float
) -> torch.Tensor:
    probs = inputs.select(inputs.probabilities())
    truth = inputs.select(inputs.target)
    weights = generalized_dice_weights(truth)
    intersection = weights * spatial_sum(probs * truth)
    denominator = weights * (spatial_sum(probs) + spatial_sum(truth))
    total = denominator.sum(1, keepdim=True) + smooth_dr
    offset = (smooth_dr - smooth_nr) / len(inputs.classes)
    contributions = (denominator - 2 * intersection + offset) / total
    return reduce_contributions(contributions, reduction)


def dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    include_background: bool = True,
    classes: Sequence[int] | None = None,
    activation: str | None = "softmax",
    reduction: str = "mean",
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
    squared_pred: bool = False,
) -> torch.Tensor:
    r"""Soft Dice loss, per sample and class.

    .. math::
        L_k = 1 - \frac{2 \sum_x p_k g_k + s_{nr}}{\sum_x p_k + \sum_x g_k + s_{dr}}

    Milletari, F., Navab, N., Ahmadi, S.-A. "V-Net: fully convolutional neural networks
    for volumetric medical image segmentation", 3DV 2016 (https://arxiv.org/abs/1606.04797).

    Convention:
        Sums run over the spatial axes of each sample (MONAI's ``batch=False``). An absent
        class predicted absent gives ``1 - s_nr / s_dr`` (0 with equal smoothing). Each class
        contributes ``L_k / C_selected``, so ``"mean"`` averages over batch and classes and
        equals MONAI's ``DiceLoss`` mean; ``"none"`` is ``(B, C_selected)``.

    Args:
        logits: ``(B, C, *spatial)`` network output, 2D or 3D.
        target: labels ``(B, *spatial)`` / ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None (``logits`` are probabilities).
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        smooth_nr: added to the numerator.
        smooth_dr: added to the denominator.
        squared_pred: use ``sum p^2 + sum g^2`` in the denominator (V-Net's form).

    Returns:
        Scalar, or ``(B, C_selected)`` with ``reduction="none"``.

    Shapes:
        - logits: ``(B, C, *spatial)``; target: ``(B, *spatial)``, ``(B, 1, *spatial)`` or
          ``(B, C, *spatial)``.

    Raises:
        ValueError: bad shapes, labels, logits, smoothing, reduction or activation.

    Example:
        >>> logits = torch.randn(2, 3, 16, 16)
        >>> target = torch.randint(0, 3, (2, 16, 16))
        >>> dice_loss(logits, target, reduction="none").shape
        torch.Size([2, 3])
    """
    smooth_nr = check_non_negative(smooth_nr, "smooth_nr")
    smooth_dr = check_non_negative(smooth_dr, "smooth_dr")
    inputs = prepare_inputs(
        logits,
        target,
        activation=activation,
        include_background=include_background,
        classes=classes,
    )
    return _dice_loss(
        inputs,
        reduction=reduction,
        smooth_nr=smooth_nr,
        smooth_dr=smooth_dr,
        squared_pred=squared_pred,
    )


def generalized_dice_weights(truth: torch.Tensor) -> torch.Tensor:
    """Sudre's weights ``1 / (sum_x g_k)^2`` per sample, ``(B, C)`` from ``(B, C, *spatial)``.

    An absent class would get an infinite weight. The original code's ``1 / (0 + 1e-10)^2``
    makes that class dominate every other term, so the loss only measures how little
    probability the absent class receives. As MONAI does, the infinite weight is replaced by
    the largest finite weight of the same sample; a sample where every selected class is
    absent gets all-zero weights.
    """
    volume = spatial_sum(truth)
    weights = 1.0 / volume**2
    absent = torch.isinf(weights)
    weights = weights.masked_fill(absent, 0.0)
    largest = weights.max(dim=1, keepdim=True).values
    return torch.where(absent, largest.expand_as(weights), weights)


def generalized_dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    include_background: bool = True,
    classes: Sequence[int] | None = None,
    activation: str | None = "softmax",
    reduction: str = "mean",
    smooth_nr: float = 1e-5,
    smooth_dr: float = 1e-5,
) -> torch.Tensor:
    r"""Generalized Dice loss with inverse squared volume weights.

    .. math::
        L = 1 - \frac{2 \sum_k w_k I_k + s_{nr}}{\sum_k w_k D_k + s_{dr}},\quad
        w_k = \frac{1}{(\sum_x g_k)^2},\ I_k = \sum_x p_k g_k,\ D_k = \sum_x p_k + \sum_x g_k

    Sudre, C. H., Li, W., Vercauteren, T., Ourselin, S., Cardoso, M. J. "Generalised Dice
    overlap as a deep learning loss function for highly unbalanced segmentations", DLMIA
    2017 (https://arxiv.org/abs/1707.03237).

    Convention:
        Computed per sample. Weights come from :func:`generalized_dice_weights` (an absent
        class takes the sample's largest finite weight; all absent gives weights 0 and loss
        ``1 - s_nr / s_dr``). ``L`` is not a sum of per-class terms, so ``"none"`` returns an
        exact decomposition ``(B, C_selected)``:
        ``c_k = (w_k D_k - 2 w_k I_k + (s_dr - s_nr) / C_selected) / (sum_j w_j D_j + s_dr)``,
        which sums over classes to ``L``. ``"mean"`` is the batch mean of ``L`` (MONAI's
        ``GeneralizedDiceLoss`` mean).

    Args:
        logits: ``(B, C, *spatial)`` network output, 2D or 3D.
        target: labels ``(B, *spatial)`` / ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None (``logits`` are probabilities).
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        smooth_nr: added to the numerator.
        smooth_dr: added to the denominator.

    Returns:
        Scalar, or ``(B, C_selected)`` with ``reduction="none"``.

    Shapes:
        - logits: ``(B, C, *spatial)``; target: ``(B, *spatial)``, ``(B, 1, *spatial)`` or
          ``(B, C, *spatial)``.

    Raises:
        ValueError: bad shapes, labels, logits, smoothing, reduction or activation.

    Example:
        >>> logits = torch.randn(2, 3, 16, 16)
        >>> target = torch.randint(0, 3, (2, 16, 16))
        >>> 0 <= generalized_dice_loss(logits, target).item() <= 1
        True
    """
    smooth_nr = check_non_negative(smooth_nr, "smooth_nr")
    smooth_dr = check_non_negative(smooth_dr, "smooth_dr")
    inputs = prepare_inputs(
        logits,
        target,
        activation=activation,
        include_background=include_background,
        classes=classes,
    )
    return _generalized_dice_loss(
        inputs, reduction=reduction, smooth_nr=smooth_nr, smooth_dr=smooth_dr
    )


class DiceLoss(SegmentationLoss):
    """Soft Dice loss module; see :func:`dice_loss`.

    Milletari et al., "V-Net", 3DV 2016.

    Args:
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        smooth_nr: added to the numerator.
        smooth_dr: added to the denominator.
        squared_pred: square the terms of the denominator.

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
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        squared_pred: bool = False,
    ) -> None:
        super().__init__(include_background, classes, activation, reduction)
        self.smooth_nr = check_non_negative(smooth_nr, "smooth_nr")
        self.smooth_dr = check_non_negative(smooth_dr, "smooth_dr")
        self.squared_pred = bool(squared_pred)

    def options(self) -> dict[str, Any]:
        return {
            **super().options(),
            "smooth_nr": self.smooth_nr,
            "smooth_dr": self.smooth_dr,
            "squared_pred": self.squared_pred,
        }

    core = staticmethod(_dice_loss)


class GeneralizedDiceLoss(SegmentationLoss):
    """Generalized Dice loss module; see :func:`generalized_dice_loss`.

    Sudre et al., "Generalised Dice overlap as a deep learning loss function for highly
    unbalanced segmentations", DLMIA 2017.

    Args:
        include_background: if False, channel 0 is excluded.
        classes: explicit channels to use.
        activation: ``"softmax"``, ``"sigmoid"`` or None.
        reduction: ``"none"``, ``"mean"`` or ``"sum"``.
        smooth_nr: added to the numerator.
        smooth_dr: added to the denominator.

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
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
    ) -> None:
        super().__init__(include_background, classes, activation, reduction)
        self.smooth_nr = check_non_negative(smooth_nr, "smooth_nr")
        self.smooth_dr = check_non_negative(smooth_dr, "smooth_dr")

    def options(self) -> dict[str, Any]:
        return {**super().options(), "smooth_nr": self.smooth_nr, "smooth_dr": self.smooth_dr}

    core = staticmethod(_generalized_dice_loss)
