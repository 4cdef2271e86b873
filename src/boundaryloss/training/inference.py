"""Whole-case inference: slice by slice for 2D networks on volumes, sliding windows in 3D."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..data.patches import patch_grid


@torch.no_grad()
def sliding_window(
    model: nn.Module,
    image: torch.Tensor,
    window: Sequence[int],
    overlap: float = 0.5,
    batch_size: int = 4,
) -> torch.Tensor:
    """Softmax probabilities of ``image (C, *spatial)`` from overlapping windows, averaged.

    Windows larger than the image are cropped to it (the networks accept any size).

    Returns:
        ``(K, *spatial)`` probabilities on the image's device.
    """
    spatial = tuple(image.shape[1:])
    window = tuple(min(w, s) for w, s in zip(window, spatial, strict=True))
    stride = tuple(max(1, int(w * (1 - overlap))) for w in window)
    probabilities: torch.Tensor | None = None
    counts = torch.zeros((1, *spatial), device=image.device)
    positions = patch_grid(spatial, window, stride)
    for i in range(0, len(positions), batch_size):
        chunk = positions[i : i + batch_size]
        boxes = [
            tuple(slice(p, p + w) for p, w in zip(start, window, strict=True)) for start in chunk
        ]
        batch = torch.stack([image[(slice(None), *box)] for box in boxes])
        out = torch.softmax(model(batch).float(), dim=1)
        if probabilities is None:
            probabilities = torch.zeros((out.shape[1], *spatial), device=image.device)
        for box, probs in zip(boxes, out, strict=True):
            probabilities[(slice(None), *box)] += probs
            counts[(slice(None), *box)] += 1
    return probabilities / counts


@torch.no_grad()
def predict_case(
    model: nn.Module,
    image: torch.Tensor,
    model_dims: int,
    slice_axis: int = 2,
    window: Sequence[int] | None = None,
    batch_size: int = 8,
) -> torch.Tensor:
    """Softmax probabilities ``(K, *spatial)`` for one whole case ``(C, *spatial)``.

    A 2D network on a 3D case predicts every slice along ``slice_axis`` and the slices
    are stacked back; otherwise the whole image is predicted at once, or with
    :func:`sliding_window` when ``window`` is given.
    """
    case_dims = image.ndim - 1
    if model_dims == 2 and case_dims == 3:
        axis = 1 + slice_axis
        slices = image.movedim(axis, 1).transpose(0, 1)  # (S, C, H, W)
        outputs = []
        for i in range(0, slices.shape[0], batch_size):
            chunk = slices[i : i + batch_size]
            if window is not None:
                outputs += [sliding_window(model, s, window, batch_size=batch_size) for s in chunk]
            else:
                outputs.append(torch.softmax(model(chunk).float(), dim=1))
        stacked = torch.cat([o if o.ndim == 4 else o[None] for o in outputs])  # (S, K, H, W)
        return stacked.transpose(0, 1).movedim(1, axis)
    if window is not None:
        return sliding_window(model, image, window, batch_size=batch_size)
    return torch.softmax(model(image[None]).float(), dim=1)[0]
