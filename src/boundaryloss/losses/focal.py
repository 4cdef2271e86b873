"""Focal loss (Lin et al., ICCV 2017)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .._validation import check_non_negative
from ._base import SegmentationLoss
from ._inputs import (
    SegmentationInputs,
    check_class_values,
    class_vector,
    prepare_inputs,
    reduce_contributions,
    spatial_mean,
)


def check_focal_alpha(alpha: float | Sequence[float] | None) -> float | tuple[float, ...] | None:
    """Return ``alpha`` as None, a float in ``[0, 1]`` or a tuple of non-negative floats."""
    if alpha is None:
        return None
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must lie in [0, 1] when a single float, got {alpha!r}")
        return float(alpha)
    return check_class_values(alpha, "alpha")


def _alpha_factor(
    alpha: float | Sequence[float], inputs: SegmentationInputs, truth: torch.Tensor
) -> torch.Tensor:
    """MONAI's alpha semantics, for the selected channels."""
    if isinstance(alpha, (int, float)):
        if inputs.binary:  # positives alpha, negatives 1 - alpha
            return truth * alpha + (1 - truth) * (1 - alpha)
        values = [1 - alpha] + [alpha] * (inputs.num_classes - 1)  # background 1 - alpha
        return class_vector(values, "alpha", inputs)
    vector = class_vector(alpha, "alpha", inputs)
    if inputs.binary:  # per-class alpha on positives, 1 on negatives
        return torch.where(truth == 1, vector, torch.ones_like(vector))
    return vector


def _focal_loss(
    inputs: SegmentationInputs,
    *,
    gamma: float,
    alpha: float | Sequence[float] | None,
    reduction: str,
) -> torch.Tensor:
    truth = inputs.select(inputs.target)
    log_p = inputs.select(inputs.log_probabilities())
    if inputs.binary:
        log_q = inputs.select(inputs.log_complement_probabilities())
        log_pt = truth * log_p + (1 - truth) * log_q
        terms = -((1 - log_pt.exp()) ** gamma) * log_pt
    else:
        terms = -((1 - log_p.exp()) ** gamma) * log_p * truth
    if alpha is not None:
        terms = terms * _alpha_factor(alpha, inputs, truth)
    return reduce_contributions(spatial_mean(terms), reduction)


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    gamma: float = 2.0,
    alpha: float | Sequence[float] | None = None,
    include_background: bool = True,
    classes: Sequence[int] | None = None,
    activation: str | None = "softmax",
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Focal loss, split into per-class contributions.

    .. math::
        FL(x) = \sum_k -\alpha_k (1 - p_{t,k})^\gamma \log p_{t,k}

    Lin, T.-Y., Goyal, P., Girshick, R., He, K., Dollár, P. "Focal loss for dense object
    detection", ICCV 2017 (https://arxiv.org/abs/1708.02002).

    Convention:
        With ``"softmax"`` (categorical) only the true class has a term,
        ``-alpha_k (1 - p_k)^gamma log p_k`` (log-softmax for stability). With ``"sigmoid"``
        (or ``activation=None`` and one channel) every channel has a binary focal term with
        ``p_t = p`` on positives and ``1 - p`` on negatives. ``alpha`` follows MONAI: a float
        gives ``1 - alpha`` to the background channel and ``alpha`` to the others (softmax),
        or ``alpha`` to positive and ``1 - alpha`` to negative entries (sigmoid); a sequence
        gives one factor per channel (sigmoid: on positive entries only). Each class
        contributes its mean over pixels; the per-sample loss is their sum over classes, so
        ``"mean"`` is ``C`` times MONAI's ``FocalLoss`` mean (which also averages over
        channels). ``gamma=0`` and ``alpha=None`` give :func:`cross_entropy_loss`.
        ``"none"`` is ``(B, C_selected)``.

    Args:
        logits: ``(B, C, *spatial)`` network output, 2D or 3D.
        target: labels ``(B, *spatial)`` / ``(B, 1, *spatial)`` or one-hot ``(B, C, *spatial)``.
        gamma: focusing parameter, >= 0.
        alpha: None, a float in ``[0, 1]``, or one non-negative factor per logit channel.
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
        ValueError: bad shapes, labels, logits, gamma, alpha, reduction or activation.

    Example:
        >>> logits = torch.randn(2, 3, 8, 8)
        >>> target = torch.randint(0, 3, (2, 8, 8))
        >>> focal_loss(logits, target, gamma=2.0, alpha=0.25, reduction="none").shape
        torch.Size([2, 3])
    """
    gamma = check_non_negative(gamma, "gamma")
    alpha = check_focal_alpha(alpha)
    inputs = prepare_inputs(
        logits,
        target,
        activation=activation,
        include_background=include_background,
        classes=classes,
    )
    return _focal_loss(inputs, gamma=gamma, alpha=alpha, reduction=reduction)


class FocalLoss(SegmentationLoss):
    """Focal loss module; see :func:`focal_loss`.

    Lin et al., "Focal loss for dense object detection", ICCV 2017.

    Args:
        gamma: focusing parameter, >= 0.
        alpha: None, a float in ``[0, 1]``, or one factor per logit channel.
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
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        include_background: bool = True,
        classes: Sequence[int] | None = None,
        activation: str | None = "softmax",
        reduction: str = "mean",
    ) -> None:
        super().__init__(include_background, classes, activation, reduction)
        self.gamma = check_non_negative(gamma, "gamma")
        self.alpha = check_focal_alpha(alpha)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "gamma": self.gamma, "alpha": self.alpha}

    core = staticmethod(_focal_loss)
