"""Argument checks shared by maps, losses and metrics.

Every check raises ``ValueError`` naming the argument and printing the offending
shape or value, so bad input never turns into a silent wrong answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


def check_spacing(spacing: Sequence[float] | float | None, ndim: int, name: str = "spacing"):
    """Return ``spacing`` as a tuple of ``ndim`` positive finite floats, or ``None``.

    A scalar is broadcast to every axis.

    Raises:
        ValueError: wrong length, non-finite or non-positive entries.
    """
    if spacing is None:
        return None
    if isinstance(spacing, torch.Tensor):
        spacing = spacing.detach().cpu().tolist()
    if np.isscalar(spacing):
        values = (float(spacing),) * ndim
    else:
        values = tuple(float(s) for s in np.asarray(spacing, dtype=np.float64).ravel())
    if len(values) != ndim:
        raise ValueError(
            f"{name} must have one value per spatial axis ({ndim}), got {len(values)}: {spacing!r}"
        )
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"{name} must be positive and finite on every axis, got {spacing!r}")
    return values


def check_num_classes(num_classes: int, name: str = "num_classes") -> int:
    """Return ``num_classes`` as an int >= 1."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"{name} must be an int >= 1, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"{name} must be >= 1, got {num_classes}")
    return int(num_classes)


def integer_labels(label: np.ndarray, num_classes: int, name: str = "label") -> np.ndarray:
    """Return ``label`` as an integer array after checking its values lie in ``[0, num_classes)``.

    Float labels are accepted when every value is integral (NIfTI labels are often
    stored as float32); anything else raises.
    """
    if label.dtype == bool:
        label = label.astype(np.uint8)
    elif np.issubdtype(label.dtype, np.floating):
        if not np.all(np.isfinite(label)):
            raise ValueError(f"{name} contains NaN or inf values")
        rounded = np.rint(label)
        if not np.array_equal(rounded, label):
            bad = label[rounded != label].ravel()[:5]
            raise ValueError(
                f"{name} is a float array with non-integral values (e.g. {bad.tolist()}); "
                "expected integer class indices"
            )
        label = rounded.astype(np.int64)
    elif not np.issubdtype(label.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {label.dtype}")
    if label.size:
        low, high = int(label.min()), int(label.max())
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"{name} values must lie in [0, {num_classes}) for num_classes={num_classes}, "
                f"got values in [{low}, {high}]"
            )
    return label


def check_binary_masks(masks: np.ndarray, name: str = "label") -> np.ndarray:
    """Return one-hot / multi-label ``masks`` as bool after checking every value is 0 or 1."""
    if masks.dtype == bool:
        return masks
    if np.issubdtype(masks.dtype, np.floating) and not np.all(np.isfinite(masks)):
        raise ValueError(f"{name} (one-hot) contains NaN or inf values")
    if not np.all((masks == 0) | (masks == 1)):
        bad = np.unique(masks[(masks != 0) & (masks != 1)])[:5]
        raise ValueError(f"{name} (one-hot) must contain only 0 and 1, found {bad.tolist()}")
    return masks.astype(bool)


def check_spatial_ndim(shape: Sequence[int], name: str, allowed: Sequence[int] = (2, 3)) -> None:
    """Check that a spatial shape is 2D or 3D (or whatever ``allowed`` says)."""
    if len(shape) not in allowed:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, allowed))} spatial dimensions, "
            f"got shape {tuple(shape)}"
        )


def check_classes(
    classes: Sequence[int] | None, include_background: bool
) -> tuple[int, ...] | None:
    """Construction-time check of an explicit class list (the original code's ``idc``).

    Raises:
        ValueError: non-integer, negative or duplicate entries, an empty list, or class 0
            listed together with ``include_background=False``.
    """
    if classes is None:
        return None
    if isinstance(classes, (int, str)) or not isinstance(classes, (Sequence, np.ndarray)):
        raise ValueError(f"classes must be a sequence of ints or None, got {classes!r}")
    values = tuple(classes)
    if not values:
        raise ValueError("classes must not be empty")
    if not all(isinstance(k, Integral) and not isinstance(k, bool) for k in values):
        raise ValueError(f"classes must contain ints, got {classes!r}")
    values = tuple(int(k) for k in values)
    if min(values) < 0:
        raise ValueError(f"classes must be non-negative, got {classes!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"classes must not contain duplicates, got {classes!r}")
    if not include_background and 0 in values:
        raise ValueError(
            f"classes={classes!r} contains the background class 0 but include_background=False"
        )
    return values


def select_classes(
    num_classes: int, include_background: bool, classes: Sequence[int] | None
) -> tuple[int, ...]:
    """Return the class (channel) indices a loss or metric is computed on.

    With a single channel ``include_background=False`` is ignored (the channel is the
    foreground of a binary problem), as in MONAI.
    """
    values = check_classes(classes, include_background)
    if values is None:
        start = 0 if include_background or num_classes == 1 else 1
        return tuple(range(start, num_classes))
    if max(values) >= num_classes:
        raise ValueError(
            f"classes={list(values)} is out of range for {num_classes} classes (channels)"
        )
    return values
