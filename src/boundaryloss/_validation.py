"""Argument checks shared by maps, losses, metrics and schedules: each rule and its message
written once.

Every check raises ``ValueError`` naming the argument and printing the offending
shape or value, so bad input never turns into a silent wrong answer.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from numbers import Integral, Real
from typing import Any, TypeVar

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor
T = TypeVar("T")


def check_one_of(value: T, choices: Collection[Any], name: str) -> T:
    """Return ``value`` after checking it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_number(value: float, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_non_negative(value: float, name: str) -> float:
    """Return ``value`` as a float after checking it is a finite number ``>= 0``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and non-negative, got {value!r}")
    return float(value)


def check_spacing(
    spacing: Sequence[float] | float | None,
    ndim: int,
    name: str = "spacing",
    *,
    shape: Sequence[int] | None = None,
    dtype: Any = np.float32,
):
    """Return ``spacing`` as a tuple of ``ndim`` positive finite floats, or ``None``.

    A scalar is broadcast to every axis. With ``shape``, the spacing must also keep every
    distance inside an image of that shape representable in ``dtype`` (the dtype of the
    maps or distances computed with it). Distance transforms work on *squared*
    distances, so every entry squared must stay a normal number of ``dtype`` (else
    distances flush to 0 or lose their digits) and the image diagonal squared,
    ``sum((n_i s_i)^2)``, must stay below its largest value (else distances become inf
    and maps nan): for float32, entries from about ``1.1e-19`` and a diagonal below
    ``1.8e19``.

    Raises:
        ValueError: wrong length, non-finite or non-positive entries, or (with ``shape``)
            a spacing whose distances ``dtype`` cannot hold.
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
    if shape is not None:
        info = np.finfo(dtype)
        smallest, largest = math.sqrt(float(info.tiny)), math.sqrt(float(info.max))
        diagonal = math.hypot(*(n * s for n, s in zip(shape, values, strict=True)))
        if min(values) < smallest or not diagonal < largest:
            raise ValueError(
                f"{name}={spacing!r} makes the distances in an image of shape {tuple(shape)} "
                f"unrepresentable in {np.dtype(dtype).name}: each entry must be at least "
                f"{smallest:.3g} and the image diagonal below {largest:.3g} (got "
                f"{diagonal:.3g}); express the spacing in other units"
            )
    return values


def check_num_classes(num_classes: int, name: str = "num_classes") -> int:
    """Return ``num_classes`` as an int >= 1."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"{name} must be an int >= 1, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"{name} must be >= 1, got {num_classes}")
    return int(num_classes)


def all_finite(values: torch.Tensor) -> bool:
    """Whether a tensor holds no NaN and no inf (integer and bool tensors: True).

    Exact, and one vectorised pass where it can be: a sum with a NaN or an inf among its
    terms is NaN or inf, so a finite ``values.sum()`` proves every value finite. Only a
    non-finite sum (a bad value, or finite values whose sum overflows) falls back to the
    slower ``isfinite(values).all()`` (docs/measurements.md).

    Args:
        values: a tensor of any shape, dtype and device.

    Returns:
        True when every value is finite.

    Example:
        >>> all_finite(torch.tensor([1.0, 2.0])), all_finite(torch.tensor([1.0, float("inf")]))
        (True, False)
        >>> all_finite(torch.tensor([3e38, 3e38]))  # the sum overflows; the values do not
        True
    """
    if not (values.is_floating_point() or values.is_complex()):
        return True
    return bool(torch.isfinite(values.sum())) or bool(torch.isfinite(values).all())


def _finite_and_rounded(values: ArrayLike) -> tuple[bool, ArrayLike]:
    if isinstance(values, torch.Tensor):
        return all_finite(values), values.round()
    return bool(np.all(np.isfinite(values))), np.rint(values)


def is_integral(values: ArrayLike) -> bool:
    """Whether an array or tensor holds only finite integral values (integer dtypes do)."""
    if isinstance(values, torch.Tensor):
        floating = values.is_floating_point()
    else:
        floating = np.issubdtype(values.dtype, np.floating)
    if not floating:
        return True
    finite, rounded = _finite_and_rounded(values)
    return finite and bool((rounded == values).all())


def check_integral(values: ArrayLike, name: str) -> None:
    """Check that a float array or tensor holds only finite integral values (class indices).

    NIfTI labels are often stored as float32; a fractional value means the array is not a
    label map (an image, or a resampled label) and must not be rounded silently.
    """
    finite, rounded = _finite_and_rounded(values)
    if not finite:
        raise ValueError(f"{name} contains NaN or inf values")
    if not bool((rounded == values).all()):
        bad = values[rounded != values].ravel()[:5].tolist()
        raise ValueError(
            f"{name} is a float array with non-integral values (e.g. {bad}); "
            "expected integer class indices"
        )


def integer_labels(label: np.ndarray, num_classes: int, name: str = "label") -> np.ndarray:
    """Return ``label`` as an integer array after checking its values lie in ``[0, num_classes)``.

    Float labels are accepted when every value is integral (:func:`check_integral`);
    anything else raises.
    """
    if label.dtype == bool:
        label = label.astype(np.uint8)
    elif np.issubdtype(label.dtype, np.floating):
        check_integral(label, name)
        label = np.rint(label).astype(np.int64)
    elif not np.issubdtype(label.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {label.dtype}")
    check_label_range(label, num_classes, name)
    return label


def check_label_range(label: ArrayLike, num_classes: int, name: str = "label") -> None:
    """Check that integer labels lie in ``[0, num_classes)``."""
    size = label.numel() if isinstance(label, torch.Tensor) else label.size
    if size:
        low, high = int(label.min()), int(label.max())
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"{name} values must lie in [0, {num_classes}) for num_classes={num_classes}, "
                f"got values in [{low}, {high}]"
            )


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
    """Check that a spatial shape is 2D or 3D (or whatever ``allowed`` says) and not empty.

    A zero-size axis has no pixels: sums over it are 0 and means nan, so it is refused
    rather than turned into a silent 0 or nan.
    """
    if len(shape) not in allowed:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, allowed))} spatial dimensions, "
            f"got shape {tuple(shape)}"
        )
    if 0 in tuple(shape):
        raise ValueError(f"{name} has a zero-size spatial axis, got spatial shape {tuple(shape)}")


def check_not_empty(size: int, name: str, axis: str, shape: Sequence[int]) -> None:
    """Check that the ``axis`` (``"batch"``, ``"channel"``) of an array is not of size 0."""
    if size == 0:
        raise ValueError(f"{name} has an empty {axis} axis (size 0), got shape {tuple(shape)}")


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
