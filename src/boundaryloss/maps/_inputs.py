"""Turn the label forms users pass (NumPy/torch, single/batch, labels/one-hot) into
per-sample arrays for the map kernels, and the kernels' output back into the caller's type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from .._validation import (
    check_binary_masks,
    check_not_empty,
    check_num_classes,
    check_spacing,
    check_spatial_ndim,
    integer_labels,
)
from ._backend import array_module, cucim_available, warn_cpu_fallback

# A kernel maps one sample to a float32 (C, *spatial) array on the same backend.
LabelKernel = Callable[[Any, int, "tuple[float, ...] | None"], Any]
MaskKernel = Callable[[Any, "tuple[float, ...] | None"], Any]


def _to_backend(label: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Return ``(array, restore)``: a NumPy (or CuPy) view of ``label`` and a function
    that turns a result array back into the caller's type and device."""
    if isinstance(label, np.ndarray):
        return label, lambda out: out
    if isinstance(label, torch.Tensor):
        tensor = label.detach()
        if tensor.is_cuda and cucim_available():  # pragma: no cover - needs a GPU
            import cupy

            device = tensor.device
            return cupy.asarray(tensor), lambda out: torch.as_tensor(out, device=device)
        device = tensor.device
        array = tensor.cpu().numpy()
        if device.type == "cpu":
            return array, torch.from_numpy
        warn_cpu_fallback(device)
        return array, lambda out: torch.from_numpy(out).to(device)  # CPU round trip
    raise ValueError(f"label must be a numpy array or a torch tensor, got {type(label).__name__}")


def compute_maps(
    label: Any,
    num_classes: int | None,
    spacing: Sequence[float] | float | None,
    *,
    batch: bool,
    one_hot: bool,
    from_labels: Callable[..., Any],
    from_masks: Callable[..., Any],
    uses_spacing: bool = True,
) -> Any:
    """Validate ``label`` and run a per-sample kernel over it.

    Args:
        label: ``(*spatial)`` integer labels, ``(C, *spatial)`` one-hot masks
            (``one_hot=True``), each with a leading batch axis when ``batch=True``.
        num_classes: number of classes C (may be None for one-hot input).
        spacing: pixel size per spatial axis, or None for unit spacing.
        from_labels: ``kernel(labels (*spatial) int, C, spacing) -> (C, *spatial)``.
        from_masks: ``kernel(masks (C, *spatial) bool, spacing) -> (C, *spatial)``.

    Returns:
        float32 ``(C, *spatial)`` or ``(B, C, *spatial)``, same array type and device
        as ``label``.
    """
    array, restore = _to_backend(label)
    leading = int(batch) + int(one_hot)
    if array.ndim - leading not in (2, 3):
        expected = ("B, " if batch else "") + ("C, " if one_hot else "") + "*spatial"
        raise ValueError(
            f"label must have shape ({expected}) with 2 or 3 spatial axes "
            f"(batch={batch}, one_hot={one_hot}), got shape {tuple(array.shape)}"
        )
    spatial = tuple(array.shape[leading:])
    leading_axes = ["batch"] * int(batch) + ["channel"] * int(one_hot)
    for axis, axis_name in enumerate(leading_axes):
        check_not_empty(array.shape[axis], "label", axis_name, array.shape)
    check_spatial_ndim(spatial, "label")
    # Maps are float32: a spacing whose distances float32 cannot hold is refused here.
    spacing = check_spacing(spacing, len(spatial), shape=spatial) if uses_spacing else None

    if one_hot:
        channels = array.shape[1 if batch else 0]
        if num_classes is not None and check_num_classes(num_classes) != channels:
            raise ValueError(
                f"num_classes={num_classes} does not match the {channels} channels of the "
                f"one-hot label of shape {tuple(array.shape)}"
            )
        masks = check_binary_masks(array)
        samples = masks if batch else masks[None]
        outputs = [from_masks(sample, spacing) for sample in samples]
    else:
        if num_classes is None:
            raise ValueError("num_classes is required for integer label maps")
        num_classes = check_num_classes(num_classes)
        labels = integer_labels(array, num_classes)
        samples = labels if batch else labels[None]
        outputs = [from_labels(sample, num_classes, spacing) for sample in samples]

    xp = array_module(array)
    result = xp.stack(outputs) if batch else outputs[0]
    return restore(result.astype(xp.float32, copy=False))
