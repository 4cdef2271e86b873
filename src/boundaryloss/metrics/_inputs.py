"""Input handling shared by every metric: conversion, validation and class selection.

Every metric in this package follows one convention, implemented here once:

* ``pred`` and ``ref`` are one case, numpy arrays or torch tensors of the same shape: an
  integer label map ``(*spatial)`` (values in ``[0, num_classes)``; integral floats and bools
  are accepted) or, with ``one_hot=True``, binary masks ``(C, *spatial)``. Two or three
  spatial axes.
* ``num_classes`` defaults to 2 for label maps (a binary mask: 0 background, 1 foreground)
  and to ``C`` for one-hot input.
* Classes are selected with ``include_background`` (``False`` drops class 0) or an explicit
  ``classes`` list. A single one-hot channel is the foreground of a binary problem and is
  always evaluated.
* ``spacing`` is the physical size of a voxel along each spatial axis (numpy axis order,
  usually mm); ``None`` means 1 on every axis, i.e. distances in voxels.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .._validation import (
    ArrayLike,
    check_binary_masks,
    check_not_empty,
    check_num_classes,
    check_spacing,
    check_spatial_ndim,
    integer_labels,
    select_classes,
)


def to_numpy(array: ArrayLike, name: str) -> np.ndarray:
    """Return ``array`` as a numpy array (torch tensors are detached and moved to the CPU)."""
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    if isinstance(array, np.ndarray):
        return array
    raise ValueError(f"{name} must be a numpy array or a torch tensor, got {type(array).__name__}")


@dataclass(frozen=True)
class CaseMasks:
    """One validated case: per-class binary masks are produced on demand.

    Attributes:
        pred: label map ``(*spatial)`` or one-hot ``(C, *spatial)`` prediction.
        ref: reference in the same layout.
        one_hot: layout flag.
        classes: the class indices to evaluate.
        spacing: voxel size per spatial axis (ones when the user gave ``None``).
    """

    pred: np.ndarray
    ref: np.ndarray
    one_hot: bool
    classes: tuple[int, ...]
    spacing: tuple[float, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """Spatial shape."""
        return tuple(self.pred.shape[1:] if self.one_hot else self.pred.shape)

    def masks(self, cls: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the boolean ``(pred, ref)`` masks of class ``cls``."""
        if self.one_hot:
            return self.pred[cls], self.ref[cls]
        return self.pred == cls, self.ref == cls

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        for cls in self.classes:
            yield (cls, *self.masks(cls))


def prepare_case(
    pred: ArrayLike,
    ref: ArrayLike,
    *,
    spacing: Sequence[float] | float | None,
    num_classes: int | None,
    include_background: bool,
    classes: Sequence[int] | None,
    one_hot: bool,
) -> CaseMasks:
    """Validate one case and return its :class:`CaseMasks`.

    Raises:
        ValueError: a shape mismatch, a wrong number of spatial axes, a zero-size axis or
            no channels, a ``spacing`` of the wrong length, with non-positive entries or
            so extreme that distances overflow float64, labels outside ``[0, num_classes)``,
            non-binary one-hot values, or a bad ``classes`` list.
    """
    pred_np = to_numpy(pred, "pred")
    ref_np = to_numpy(ref, "ref")
    if pred_np.shape != ref_np.shape:
        raise ValueError(
            f"pred and ref must have the same shape, got {tuple(pred_np.shape)} and "
            f"{tuple(ref_np.shape)}"
        )
    if one_hot:
        if pred_np.ndim < 1:
            raise ValueError(f"pred must be one-hot (C, *spatial), got shape {pred_np.shape}")
        channels = pred_np.shape[0]
        check_not_empty(channels, "pred", "channel", pred_np.shape)
        if num_classes is not None and check_num_classes(num_classes) != channels:
            raise ValueError(
                f"num_classes={num_classes} does not match the {channels} one-hot channels of pred"
            )
        num_classes = channels
        check_spatial_ndim(pred_np.shape[1:], "pred (one-hot, after the channel axis)")
        pred_np = check_binary_masks(pred_np, "pred")
        ref_np = check_binary_masks(ref_np, "ref")
    else:
        num_classes = 2 if num_classes is None else check_num_classes(num_classes)
        check_spatial_ndim(pred_np.shape, "pred")
        pred_np = integer_labels(pred_np, num_classes, "pred")
        ref_np = integer_labels(ref_np, num_classes, "ref")
    shape = pred_np.shape[1:] if one_hot else pred_np.shape
    # Surface distances are float64: a spacing whose distances it cannot hold is refused.
    checked = check_spacing(spacing, len(shape), shape=shape, dtype=np.float64)
    return CaseMasks(
        pred=pred_np,
        ref=ref_np,
        one_hot=one_hot,
        classes=select_classes(num_classes, include_background, classes),
        spacing=checked if checked is not None else (1.0,) * len(shape),
    )
