"""Whole-case inference: slice by slice for 2D networks on volumes, sliding windows,
test-time mirroring."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn

from .._validation import all_finite
from ..data.patches import patch_grid
from ..training.config import InferenceConfig, RunConfig


class NonFiniteOutput(ValueError):
    """The network gave NaN or infinite outputs for a case (broken weights): its label
    map would be all background, so no label map is made. Callers add the case's name."""


def mirror_axes(spatial_dims: int) -> list[tuple[int, ...]]:
    """Every subset of the spatial axes of a ``(B, C, *spatial)`` batch, the empty one
    first: the flips test-time mirroring averages over (4 in 2D, 8 in 3D)."""
    axes = range(2, 2 + spatial_dims)
    return [combo for r in range(spatial_dims + 1) for combo in itertools.combinations(axes, r)]


@torch.no_grad()
def probabilities(model: nn.Module, batch: torch.Tensor, mirror: bool = False) -> torch.Tensor:
    """Softmax probabilities ``(B, K, *spatial)`` of a batch ``(B, C, *spatial)``.

    With ``mirror`` (nnU-Net's test-time mirroring), the mean over every combination of
    flips of the spatial axes of ``flip(softmax(model(flip(batch))))``: each prediction
    is flipped back before averaging, so a flip-equivariant model gives its plain
    output. Probabilities are averaged (as the sliding windows are), not logits.
    """
    if not mirror:
        return torch.softmax(model(batch).float(), dim=1)
    combos = mirror_axes(batch.ndim - 2)
    total: torch.Tensor | None = None
    for axes in combos:
        flipped = batch.flip(axes) if axes else batch
        probs = torch.softmax(model(flipped).float(), dim=1)
        probs = probs.flip(axes) if axes else probs
        total = probs if total is None else total + probs
    return total / len(combos)


@torch.no_grad()
def sliding_window(
    model: nn.Module,
    image: torch.Tensor,
    window: Sequence[int],
    overlap: float = 0.5,
    batch_size: int = 4,
    mirror: bool = False,
) -> torch.Tensor:
    """Softmax probabilities of ``image (C, *spatial)`` from overlapping windows, averaged.

    Windows larger than the image are cropped to it (the networks accept any size);
    ``mirror`` averages each window over flips (:func:`probabilities`).

    Returns:
        ``(K, *spatial)`` probabilities on the image's device.
    """
    spatial = tuple(image.shape[1:])
    window = tuple(min(w, s) for w, s in zip(window, spatial, strict=True))
    stride = tuple(max(1, int(w * (1 - overlap))) for w in window)
    total: torch.Tensor | None = None
    counts = torch.zeros((1, *spatial), device=image.device)
    positions = patch_grid(spatial, window, stride)
    for i in range(0, len(positions), batch_size):
        chunk = positions[i : i + batch_size]
        boxes = [
            tuple(slice(p, p + w) for p, w in zip(start, window, strict=True)) for start in chunk
        ]
        batch = torch.stack([image[(slice(None), *box)] for box in boxes])
        out = probabilities(model, batch, mirror)
        if total is None:
            total = torch.zeros((out.shape[1], *spatial), device=image.device)
        for box, probs in zip(boxes, out, strict=True):
            total[(slice(None), *box)] += probs
            counts[(slice(None), *box)] += 1
    return total / counts


@torch.no_grad()
def predict_case(
    model: nn.Module,
    image: torch.Tensor,
    model_dims: int,
    slice_axis: int = 2,
    window: Sequence[int] | None = None,
    batch_size: int = 8,
    overlap: float = 0.5,
    mirror: bool = False,
) -> torch.Tensor:
    """Softmax probabilities ``(K, *spatial)`` for one whole case ``(C, *spatial)``.

    A 2D network on a 3D case predicts every slice along ``slice_axis`` and the slices
    are stacked back; otherwise the whole image is predicted at once, or with
    :func:`sliding_window` when ``window`` is given; ``mirror`` adds test-time mirroring.

    Raises:
        NonFiniteOutput: the probabilities hold NaN or inf (the network output did), as
            training refuses such an output at every step.
    """
    probs = _predict_case(model, image, model_dims, slice_axis, window, batch_size, overlap, mirror)
    if not all_finite(probs):
        raise NonFiniteOutput(
            "the network output is NaN or infinite (broken weights); no label map is made of it"
        )
    return probs


def _predict_case(
    model: nn.Module,
    image: torch.Tensor,
    model_dims: int,
    slice_axis: int,
    window: Sequence[int] | None,
    batch_size: int,
    overlap: float,
    mirror: bool,
) -> torch.Tensor:
    window_options = {"overlap": overlap, "batch_size": batch_size, "mirror": mirror}
    case_dims = image.ndim - 1
    if model_dims == 2 and case_dims == 3:
        axis = 1 + slice_axis
        slices = image.movedim(axis, 1).transpose(0, 1)  # (S, C, H, W)
        outputs = []
        for i in range(0, slices.shape[0], batch_size):
            chunk = slices[i : i + batch_size]
            if window is not None:
                outputs += [sliding_window(model, s, window, **window_options) for s in chunk]
            else:
                outputs.append(probabilities(model, chunk, mirror))
        stacked = torch.cat([o if o.ndim == 4 else o[None] for o in outputs])  # (S, K, H, W)
        return stacked.transpose(0, 1).movedim(1, axis)
    if window is not None:
        return sliding_window(model, image, window, **window_options)
    return probabilities(model, image[None], mirror)[0]


def inference_settings(config: RunConfig) -> InferenceConfig:
    """The run's ``inference`` section (defaults for runs saved before it existed)."""
    return getattr(config, "inference", None) or InferenceConfig()


def inference_window(config: RunConfig) -> Sequence[int] | None:
    """The sliding window of a run: ``data.patch_size`` when ``inference.sliding_window``
    is on (by default for 3D networks only), else None (whole images or slices).

    A run configuration that asks for sliding windows has a patch size (``RunConfig``
    refuses one without).
    """
    sliding = inference_settings(config).sliding_window
    if sliding is None:
        sliding = config.model.spatial_dims == 3
    return config.data.patch_size if sliding else None


def network_input_shape(config: RunConfig, spatial_shape: Sequence[int]) -> tuple[int, ...]:
    """The spatial shape of what the network sees of a case of ``spatial_shape`` under
    the run's settings: the case resized (``data.resize``), a slice of it (2D network,
    3D case), cut to the sliding window when there is one (:func:`inference_window`)."""
    resize = config.data.resize
    shape = tuple(int(n) for n in (resize if resize else spatial_shape))
    if config.model.spatial_dims == 2 and len(shape) == 3:
        axis = config.data.slice_axis % 3
        shape = tuple(n for i, n in enumerate(shape) if i != axis)
    window = inference_window(config)
    if window is not None:
        shape = tuple(min(int(w), n) for w, n in zip(window, shape, strict=True))
    return shape


def predict_with_config(
    model: nn.Module, image: torch.Tensor, config: RunConfig, mirror: bool | None = None
) -> torch.Tensor:
    """:func:`predict_case` with the run's inference settings (``mirror`` overrides
    ``inference.mirror`` when given)."""
    settings = inference_settings(config)
    return predict_case(
        model,
        image,
        config.model.spatial_dims,
        config.data.slice_axis,
        inference_window(config),
        overlap=settings.overlap,
        mirror=settings.mirror if mirror is None else mirror,
    )
