"""Input handling shared by every loss: validation, activation, class selection, reduction.

Every loss in this package follows one convention, implemented here once:

* ``logits`` is ``(B, C, *spatial)`` with 2 or 3 spatial axes, floating point and finite.
  ``activation`` turns it into probabilities: ``"softmax"`` over the channel axis,
  ``"sigmoid"`` per channel, or ``None`` when ``logits`` already holds probabilities
  (then every value must lie in ``[0, 1]``).
* ``target`` is integer labels ``(B, *spatial)`` or ``(B, 1, *spatial)``, or one-hot masks
  ``(B, C, *spatial)`` (values 0/1, any dtype). Float labels are accepted when integral.
  With ``C == 1`` (a single sigmoid channel) the target is the binary mask.
* Classes are selected with ``include_background`` (``False`` drops channel 0) and/or an
  explicit ``classes`` list. Probabilities are always computed over *all* ``C`` channels
  first, then the selected channels are kept.
* Everything after validation runs in float32 when ``logits`` is float16 or bfloat16
  (float64 stays float64): softmax, maps, products and every reduction. The sums over a
  512x512 image overflow float16's largest value (65504) and lose every digit past the
  third in bfloat16, so a half-precision loss would be ``nan``/``inf`` or plainly wrong.
  The loss comes back in float32; its gradient flows back to ``logits`` in their dtype.
* ``reduction="none"`` returns ``(B, C_selected)``: each selected class's contribution,
  defined so that the sum over classes is the per-sample loss. ``"mean"`` is the mean over
  the batch of the per-sample losses, ``"sum"`` the sum of everything.

Every check raises ``ValueError`` naming the argument and printing the offending shape or
value; nothing here uses ``assert``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from .._validation import (
    all_finite,
    check_integral,
    check_not_empty,
    check_one_of,
    check_spacing,
    check_spatial_ndim,
    select_classes,
)
from ..maps import CONVENTIONS, MapSpec

REDUCTIONS = ("none", "mean", "sum")
ACTIVATIONS = ("softmax", "sigmoid", None)


def check_reduction(reduction: str) -> str:
    """Return ``reduction`` after checking it is one of ``"none"``, ``"mean"``, ``"sum"``."""
    return check_one_of(reduction, REDUCTIONS, "reduction")


def check_activation(activation: str | None) -> str | None:
    """Return ``activation`` after checking it is ``"softmax"``, ``"sigmoid"`` or ``None``."""
    return check_one_of(activation, ACTIVATIONS, "activation")


def check_convention(convention: str) -> str:
    """Return ``convention`` after checking it names a signed-distance convention."""
    return check_one_of(convention, CONVENTIONS, "convention")


def check_spacing_argument(spacing: Sequence[float] | float | None):
    """Early (construction-time) check of ``spacing``; its length is checked in ``forward``."""
    if spacing is None:
        return None
    if isinstance(spacing, (int, float)):
        check_spacing(spacing, 1)
        return float(spacing)
    values = tuple(spacing)
    return check_spacing(values, len(values))


@dataclass(frozen=True)
class SegmentationInputs:
    """Validated inputs of a loss.

    Attributes:
        logits: ``(B, C, *spatial)`` raw network output (or probabilities if
            ``activation is None``).
        target: ``(B, C, *spatial)`` one-hot target in the dtype of ``logits``.
        classes: selected channel indices.
        activation: ``"softmax"``, ``"sigmoid"`` or ``None``.
    """

    logits: torch.Tensor
    target: torch.Tensor
    classes: tuple[int, ...]
    activation: str | None

    @property
    def num_classes(self) -> int:
        return self.logits.shape[1]

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        return tuple(self.logits.shape[2:])

    @property
    def binary(self) -> bool:
        """Per-channel binary terms (sigmoid, or one probability channel) vs categorical."""
        return self.activation == "sigmoid" or (self.activation is None and self.num_classes == 1)

    @property
    def selects_all(self) -> bool:
        return self.classes == tuple(range(self.num_classes))

    def with_classes(
        self, include_background: bool, classes: Sequence[int] | None
    ) -> SegmentationInputs:
        """The same validated inputs with the classes a loss selects."""
        selected = select_classes(self.num_classes, include_background, classes)
        return replace(self, classes=selected)

    def select(self, tensor: torch.Tensor) -> torch.Tensor:
        """Keep the selected channels of a ``(B, C, *spatial)`` tensor."""
        if self.selects_all:
            return tensor
        index = torch.as_tensor(self.classes, device=tensor.device)
        return tensor.index_select(1, index)

    def probabilities(self) -> torch.Tensor:
        """Return ``(B, C, *spatial)`` probabilities over all channels."""
        if self.activation == "softmax":
            return torch.softmax(self.logits, dim=1)
        if self.activation == "sigmoid":
            return torch.sigmoid(self.logits)
        return self.logits

    def log_probabilities(self) -> torch.Tensor:
        """Return ``(B, C, *spatial)`` log-probabilities, computed stably from the logits."""
        if self.activation == "softmax":
            return F.log_softmax(self.logits, dim=1)
        if self.activation == "sigmoid":
            return F.logsigmoid(self.logits)
        return torch.log(self.logits.clamp_min(torch.finfo(self.logits.dtype).tiny))

    def log_complement_probabilities(self) -> torch.Tensor:
        """Return ``log(1 - p)``, stably for sigmoid (``logsigmoid(-x)``)."""
        if self.activation == "sigmoid":
            return F.logsigmoid(-self.logits)
        complement = 1 - self.probabilities()
        return torch.log(complement.clamp_min(torch.finfo(self.logits.dtype).tiny))


def check_class_values(values: Sequence[float] | None, name: str) -> tuple[float, ...] | None:
    """Construction-time check of a per-class vector (class weights, focal alpha)."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, torch.Tensor)):
        raise ValueError(f"{name} must be a sequence of floats (one per class), got {values!r}")
    result = tuple(float(v) for v in values)
    if not result or not all(math.isfinite(v) and v >= 0 for v in result):
        raise ValueError(f"{name} must be non-empty, finite and non-negative, got {values!r}")
    return result


def class_vector(values: Sequence[float], name: str, inputs: SegmentationInputs) -> torch.Tensor:
    """Per-class values of length ``C`` -> selected ``(1, C_selected, 1, ...)`` tensor."""
    values = check_class_values(values, name)
    if len(values) != inputs.num_classes:
        raise ValueError(
            f"{name} must have one value per logit channel ({inputs.num_classes}), "
            f"got {len(values)}: {list(values)}"
        )
    vector = torch.tensor(values, dtype=inputs.logits.dtype, device=inputs.logits.device)
    shape = (1, inputs.num_classes) + (1,) * len(inputs.spatial_shape)
    return inputs.select(vector.view(shape))


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a loss computes in for logits of ``dtype``: float64 stays, the rest is float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _check_logits(logits: torch.Tensor, activation: str | None) -> None:
    if not isinstance(logits, torch.Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if logits.ndim not in (4, 5):
        raise ValueError(
            "logits must be (B, C, *spatial) with 2 or 3 spatial axes (BCHW or BCDHW), "
            f"got shape {tuple(logits.shape)}"
        )
    if not logits.is_floating_point():
        raise ValueError(f"logits must be floating point, got dtype {logits.dtype}")
    check_not_empty(logits.shape[0], "logits", "batch", logits.shape)
    check_not_empty(logits.shape[1], "logits", "channel", logits.shape)
    check_spatial_ndim(logits.shape[2:], "logits")
    values = logits.detach()
    if not all_finite(values):
        raise ValueError("logits contains NaN or inf values")
    if activation == "softmax" and logits.shape[1] == 1:
        raise ValueError(
            "activation='softmax' needs at least 2 channels in logits, got shape "
            f"{tuple(logits.shape)}; use activation='sigmoid' for a single-channel binary output"
        )
    if activation is None and bool(((values < 0) | (values > 1)).any()):
        raise ValueError(
            "logits must hold probabilities in [0, 1] when activation=None, got values in "
            f"[{values.min().item():.4g}, {values.max().item():.4g}]"
        )


def _labels_to_one_hot(label: torch.Tensor, num_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """``(B, *spatial)`` labels -> ``(B, C, *spatial)`` one-hot after checking the values."""
    if label.dtype == torch.bool:
        label = label.to(torch.uint8)
    if label.is_floating_point():
        check_integral(label, "target")
        label = label.round()
    elif label.is_complex():
        raise ValueError(f"target must hold integer class indices, got dtype {label.dtype}")
    # A single sigmoid channel: the labels are the binary mask itself (values 0 or 1).
    upper = max(num_classes, 2)
    if label.numel():
        low, high = int(label.min()), int(label.max())
        if low < 0 or high >= upper:
            raise ValueError(
                f"target labels must lie in [0, {upper}) for logits with {num_classes} "
                f"channel(s), got values in [{low}, {high}]"
            )
    label = label.long()
    if num_classes == 1:
        return label.unsqueeze(1).to(dtype)
    return F.one_hot(label, num_classes).movedim(-1, 1).to(dtype)


def _check_one_hot(
    target: torch.Tensor, activation: str | None, dtype: torch.dtype
) -> torch.Tensor:
    if not all_finite(target):
        raise ValueError("target (one-hot) contains NaN or inf values")
    if target.dtype != torch.bool and not bool(((target == 0) | (target == 1)).all()):
        bad = torch.unique(target[(target != 0) & (target != 1)])[:5].tolist()
        raise ValueError(f"target (one-hot) must contain only 0 and 1, found {bad}")
    target = target.to(dtype)
    if activation == "softmax" and not bool((target.sum(1) == 1).all()):
        raise ValueError(
            "target (one-hot) must have exactly one 1 per pixel along the channel axis with "
            "activation='softmax' (mutually exclusive classes)"
        )
    return target


def validate_inputs(
    logits: torch.Tensor, target: torch.Tensor, *, activation: str | None
) -> SegmentationInputs:
    """Validate ``logits`` and ``target`` and bring the target to one-hot form.

    Every channel is selected; :meth:`SegmentationInputs.with_classes` then selects a
    loss's classes without validating again (a compound loss validates once for all its
    terms).

    Raises:
        ValueError: see the module docstring.
    """
    activation = check_activation(activation)
    _check_logits(logits, activation)
    logits = logits.to(compute_dtype(logits.dtype))  # differentiable: grads keep their dtype
    batch, num_classes, *spatial = logits.shape
    if not isinstance(target, torch.Tensor):
        raise ValueError(f"target must be a torch.Tensor, got {type(target).__name__}")
    target = target.detach().to(logits.device)
    shape = tuple(target.shape)
    label_shapes = ((batch, *spatial), (batch, 1, *spatial))
    if shape == (batch, num_classes, *spatial) and num_classes > 1:
        one_hot = _check_one_hot(target, activation, logits.dtype)
    elif shape in label_shapes:
        label = target.squeeze(1) if len(shape) == logits.ndim else target
        one_hot = _labels_to_one_hot(label, num_classes, logits.dtype)
    else:
        raise ValueError(
            f"target must be labels {label_shapes[0]} or {label_shapes[1]}, or one-hot "
            f"{(batch, num_classes, *spatial)}, for logits of shape {tuple(logits.shape)}; "
            f"got target of shape {shape}"
        )
    return SegmentationInputs(logits, one_hot, tuple(range(num_classes)), activation)


def prepare_inputs(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    activation: str | None,
    include_background: bool,
    classes: Sequence[int] | None,
) -> SegmentationInputs:
    """:func:`validate_inputs`, then select the classes.

    Raises:
        ValueError: see the module docstring.
    """
    inputs = validate_inputs(logits, target, activation=activation)
    return inputs.with_classes(include_background, classes)


def prepare_map(
    weight_map: torch.Tensor, name: str, inputs: SegmentationInputs, *, non_negative: bool = False
) -> torch.Tensor:
    """Check a user-given distance/weight map and return its selected channels.

    The map may have ``C`` channels (one per logit channel) or exactly ``C_selected``
    channels (already restricted to the selected classes).
    """
    if not isinstance(weight_map, torch.Tensor):
        weight_map = torch.as_tensor(weight_map)
    batch, num_classes = inputs.logits.shape[:2]
    full = (batch, num_classes, *inputs.spatial_shape)
    reduced = (batch, len(inputs.classes), *inputs.spatial_shape)
    if tuple(weight_map.shape) not in (full, reduced):
        raise ValueError(
            f"{name} must have shape {full} (all classes) or {reduced} (selected classes "
            f"{list(inputs.classes)}), got {tuple(weight_map.shape)}"
        )
    weight_map = weight_map.detach().to(device=inputs.logits.device, dtype=inputs.logits.dtype)
    if not all_finite(weight_map):
        raise ValueError(f"{name} contains NaN or inf values")
    if non_negative and bool((weight_map < 0).any()):
        raise ValueError(
            f"{name} must be non-negative (an unsigned distance map), got minimum "
            f"{weight_map.min().item():.4g}"
        )
    if tuple(weight_map.shape) == full:
        return inputs.select(weight_map)
    return weight_map


@torch.no_grad()
def target_map(
    spec: MapSpec, inputs: SegmentationInputs, spacing: Sequence[float] | float | None = None
) -> torch.Tensor:
    """Compute a ``(B, C_selected, *spatial)`` map of the target with :mod:`boundaryloss.maps`.

    Each selected one-hot channel is passed as a binary mask (``one_hot=True``), so only the
    selected classes are computed; the result is in the dtype and on the device of the logits.

    Args:
        spec: the map, as the loss declares it in ``map_requirement()``; the data pipeline
            computes the same map from the same spec (its channel selection is the
            inputs' own here, already applied to the masks).
    """
    masks = inputs.select(inputs.target).to(torch.uint8)
    every = spec.with_classes(True, None)
    out = every.compute(masks, masks.shape[1], spacing, batch=True, one_hot=True)
    return out.to(device=inputs.logits.device, dtype=inputs.logits.dtype)


def loss_map(
    spec: MapSpec,
    given: torch.Tensor | None,
    inputs: SegmentationInputs,
    spacing: Sequence[float] | float | None,
    *,
    non_negative: bool = False,
) -> torch.Tensor:
    """The ``(B, C_selected, *spatial)`` map a loss uses: ``given`` (checked by
    :func:`prepare_map` under the name ``spec.argument``) or, when None, the map ``spec``
    describes, computed from the target with ``spacing``."""
    if given is None:
        return target_map(spec, inputs, spacing)
    return prepare_map(given, spec.argument, inputs, non_negative=non_negative)


def weighted_probability_loss(
    inputs: SegmentationInputs, weights: torch.Tensor, reduction: str
) -> torch.Tensor:
    """``mean_x p_k(x) W_k(x)`` per selected class, each divided by ``C_selected``, then
    reduced: the boundary loss (``W`` a signed distance map) and the region-wise loss."""
    probs = inputs.select(inputs.probabilities())
    contributions = spatial_mean(probs * weights) / len(inputs.classes)
    return reduce_contributions(contributions, reduction)


def reduce_contributions(contributions: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce ``(B, C_selected)`` per-class contributions.

    ``"none"`` returns them unchanged, ``"mean"`` is ``sum(1).mean()`` (mean over the batch of
    the per-sample losses) and ``"sum"`` is the sum of everything.
    """
    check_reduction(reduction)
    if not all_finite(contributions.detach()):
        # Validated logits, targets and maps are finite, so only an overflow (maps too
        # large for the compute dtype, e.g. a spacing in the wrong units) or a 0/0 (zero
        # smoothing on an empty class) gets here; never hand back nan or inf.
        raise ValueError(
            f"the loss is not finite in {contributions.dtype} although its inputs are: the "
            "distance maps overflow it (check spacing and its units) or a smoothing term "
            "of 0 meets an empty class"
        )
    if reduction == "none":
        return contributions
    if reduction == "mean":
        return contributions.sum(1).mean()
    return contributions.sum()


def spatial_mean(tensor: torch.Tensor) -> torch.Tensor:
    """Mean over the spatial axes of a ``(B, C, *spatial)`` tensor -> ``(B, C)``."""
    return tensor.flatten(2).mean(2)


def spatial_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum over the spatial axes of a ``(B, C, *spatial)`` tensor -> ``(B, C)``."""
    return tensor.flatten(2).sum(2)
