"""Deep supervision: a loss applied to a network's outputs at several resolutions.

Isensee et al., "nnU-Net: a self-configuring method for deep learning-based biomedical
image segmentation", Nature Methods 2021: the decoder's lower-resolution outputs are
each compared with the target downsampled to their size, and the losses are summed
with weights ``1 / 2**i`` (``i = 0`` full resolution), the lowest resolution's weight
set to 0, normalised to sum 1.

The lower-resolution targets and their maps are computed either inside the loss (from
the batch's full-resolution target) or per sample in the data pipeline by
:class:`DeepSupervisionTargets`, so in DataLoader workers; both use
:func:`scale_target`, so the loss sees the same values either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..maps import MapSpec
from ..maps.transform import metadata_spacing
from .requirements import map_mismatch, required_maps

#: The sample (and batch) key under which :class:`DeepSupervisionTargets` stores the
#: lower-resolution targets, and the keyword of :meth:`DeepSupervisionLoss.forward`
#: that takes them.
SCALE_TARGETS = "scale_targets"


def deep_supervision_weights(num_scales: int) -> list[float]:
    """nnU-Net's weights for ``num_scales`` outputs, full resolution first.

    ``w_i = 2**-i``, then ``w_{last} = 0`` (the coarsest output gets no loss), then
    normalised to sum 1. A single scale gets weight 1.

    Example:
        >>> deep_supervision_weights(3)
        [0.6666666666666666, 0.3333333333333333, 0.0]
    """
    if not isinstance(num_scales, int) or num_scales < 1:
        raise ValueError(f"num_scales must be a positive int, got {num_scales!r}")
    if num_scales == 1:
        return [1.0]
    weights = [2.0**-i for i in range(num_scales)]
    weights[-1] = 0.0
    total = sum(weights)
    return [w / total for w in weights]


def nearest_exact_indices(size: int, new_size: int) -> np.ndarray:
    """The input index each output index takes when an axis of ``size`` voxels is resized
    to ``new_size`` by ``F.interpolate(mode="nearest-exact")`` of a float32 tensor.

    Convention:
        Output voxel ``j`` takes ``min(floor((j + 0.5) * scale), size - 1)`` with
        ``scale = float32(size) / float32(new_size)``, in float32 as PyTorch computes it
        for a float32 tensor: float64 picks another voxel for some sizes (30 -> 29 is the
        first; see docs/measurements.md).

    Args:
        size: voxels along the axis.
        new_size: voxels wanted along it.

    Returns:
        int64 ``(new_size,)``, each in ``[0, size)``.

    Example:
        >>> nearest_exact_indices(8, 4).tolist()  # the second voxel of each pair
        [1, 3, 5, 7]
        >>> nearest_exact_indices(3, 5).tolist()
        [0, 0, 1, 2, 2]
    """
    scale = np.float32(size) / np.float32(new_size)
    positions = np.arange(new_size, dtype=np.float32) + np.float32(0.5)
    return np.minimum(np.floor(positions * scale).astype(np.int64), size - 1)


def downsample_target(target: Any, shape: Sequence[int]) -> Any:
    """Integer labels ``(B, *spatial)`` resampled to ``shape`` by nearest neighbour.

    The voxels ``F.interpolate(mode="nearest-exact")`` picks, as nnU-Net does: output
    voxel ``j`` takes input voxel ``floor((j + 0.5) * size / new_size)``, i.e. for a
    factor of 2 the second voxel of each pair (``target[..., 1::2]``). Picked by
    indexing (:func:`nearest_exact_indices`), with no float copy of the labels and no
    PyTorch kernel: in a data pipeline, a kernel on several threads leaves PyTorch's
    OpenMP threads spinning beside the distance transforms that follow.

    Args:
        target: NumPy array or torch tensor (any device) ``(B, *spatial)``.
        shape: the spatial shape wanted.

    Returns:
        the same kind of array, ``(B, *shape)``, same dtype (``target`` itself when it
        already has ``shape``).
    """
    shape = tuple(int(n) for n in shape)
    if tuple(target.shape[1:]) == shape:
        return target
    if len(shape) != target.ndim - 1:
        raise ValueError(
            f"shape {shape} must have one entry per spatial axis of the target "
            f"{tuple(target.shape)} (B, *spatial)"
        )
    axes = zip(target.shape[1:], shape, strict=True)
    index = np.ix_(*(nearest_exact_indices(n, m) for n, m in axes))
    if isinstance(target, torch.Tensor):
        index = tuple(torch.from_numpy(i).to(target.device) for i in index)
    return target[(slice(None), *index)]


def scaled_spacing(
    spacing: Sequence[float], full_shape: Sequence[int], shape: Sequence[int]
) -> tuple[float, ...]:
    """Voxel size of a target downsampled from ``full_shape`` to ``shape``.

    A voxel of the downsampled target covers ``full / size`` voxels of the full-resolution
    one along each axis (nnU-Net's ``DownsampleSegForDSTransform``, :func:`downsample_target`).

    Args:
        spacing: voxel size of the full-resolution target, per axis.
        full_shape: spatial shape of the full-resolution target.
        shape: spatial shape of the downsampled target.
    """
    if not len(spacing) == len(full_shape) == len(shape):
        raise ValueError(
            f"spacing {tuple(spacing)}, full shape {tuple(full_shape)} and shape "
            f"{tuple(shape)} must have one entry per spatial axis"
        )
    return tuple(float(s) * f / n for s, f, n in zip(spacing, full_shape, shape, strict=True))


def scale_target(
    label: Any,
    shape: Sequence[int],
    maps: Sequence[MapSpec],
    num_classes: int,
    spacing: Sequence[float],
) -> dict[str, torch.Tensor]:
    """One sample's target at a lower scale and the maps of it.

    Args:
        label: full-resolution labels ``(*spatial)``, int64: a torch tensor (the loss,
            from the batch) or a NumPy array (the data pipeline, which so runs no
            PyTorch kernel; the values are the same).
        shape: the output's spatial shape at this scale.
        maps: the maps to compute (each stored under its ``argument``).
        num_classes: C.
        spacing: voxel size of ``label`` per axis; the maps use it scaled by
            :func:`scaled_spacing`, so distances keep their physical units.

    Returns:
        ``{"label": (*shape) int64, <argument>: (C, *shape) float32, ...}``: the
        :func:`downsample_target` of ``label`` and its maps, torch tensors (on the
        label's device).
    """
    small = downsample_target(label[None], shape)[0]
    small_spacing = scaled_spacing(spacing, label.shape, small.shape)
    out = {"label": small}
    for spec in maps:
        out[spec.argument] = spec.compute(small, num_classes, small_spacing)
    return {key: _as_tensor(value) for key, value in out.items()}


def _as_tensor(value: Any) -> torch.Tensor:
    """``torch.as_tensor`` of an array or tensor; a NumPy array that is not C-contiguous
    (e.g. a flipped label, negative strides, which PyTorch refuses) is copied first."""
    if isinstance(value, np.ndarray):
        value = np.ascontiguousarray(value)  # no copy when it already is
    return torch.as_tensor(value)


class DeepSupervisionTargets:
    """Add the lower-resolution targets and maps of deep supervision to a sample.

    A data-pipeline transform (``sample -> sample``, like
    :class:`~boundaryloss.maps.DistanceMapTransform`; run it last, on the final label),
    so the work happens in DataLoader workers instead of the loss's forward pass. The
    sample gets ``SCALE_TARGETS`` (``"scale_targets"``): a list with one entry per output
    below full resolution, in the network's order; an entry is :func:`scale_target`'s
    dict (``"label"`` and the maps), or ``{}`` for a scale of weight 0, which the loss
    never reads. PyTorch's default collate batches it into the same list of dicts of
    ``(B, ...)`` tensors, which :class:`DeepSupervisionLoss` takes as ``scale_targets``.

    Args:
        maps: the maps the loss needs at every scale (``required_maps(loss)``).
        num_classes: C.
        output_shapes: ``spatial shape -> the network's output shapes``, full resolution
            first (e.g. ``functools.partial(supervision_shapes, depth=3)`` for a
            ``UNet`` of depth 3); evaluated per sample, so samples of any size work.
        weights: the loss's weight per output (:meth:`DeepSupervisionLoss.scale_weights`);
            None: :func:`deep_supervision_weights` of the number of outputs.
        label_key: key of the label ``(*spatial)`` or ``(1, *spatial)`` (NumPy or torch,
            integer) in the sample. The voxel size is read as
            :class:`~boundaryloss.maps.DistanceMapTransform` reads it: the label's
            metadata (a MONAI ``MetaTensor``'s affine), else the sample's ``"spacing"``
            entry (per axis), else unit.

    Raises:
        ValueError (when called): as many weights as outputs are needed.
    """

    def __init__(
        self,
        maps: Sequence[MapSpec],
        num_classes: int,
        output_shapes: Callable[[tuple[int, ...]], Sequence[Sequence[int]]],
        weights: Sequence[float] | None = None,
        label_key: str = "label",
    ) -> None:
        self.maps = list(maps)
        self.num_classes = int(num_classes)
        self.output_shapes = output_shapes
        if weights is not None and not len(weights):
            raise ValueError("weights must hold one weight per output, got none")
        self.weights = None if weights is None else [float(w) for w in weights]
        self.label_key = label_key

    def __call__(self, sample: Mapping[str, Any]) -> dict[str, Any]:
        if self.label_key not in sample:
            raise ValueError(f"sample has no {self.label_key!r} entry (keys: {sorted(sample)})")
        label = sample[self.label_key]
        # The spacing rule of DistanceMapTransform, so that every scale's maps are in the
        # same units as the full-resolution ones: a channel-first (1, *spatial) label is
        # one channel; the label's own metadata (MONAI MetaTensor) first, then the
        # sample's "spacing" entry, then unit voxels.
        channel_first = label.ndim in (3, 4) and label.shape[0] == 1
        spacing = metadata_spacing(label, label.ndim - int(channel_first))
        if spacing is None:
            spacing = sample.get("spacing")
        if channel_first:
            label = label[0]
        # a C-contiguous int64 NumPy copy, as the datasets' to_tensors (flips give views)
        if isinstance(label, torch.Tensor):  # also a MetaTensor
            label = label.detach().cpu().numpy()
        label = np.array(label, dtype=np.int64, order="C")
        shapes = [tuple(int(n) for n in s) for s in self.output_shapes(tuple(label.shape))]
        weights = self.weights or deep_supervision_weights(len(shapes))
        if len(weights) != len(shapes):
            raise ValueError(f"{len(shapes)} outputs but {len(weights)} weights")
        spacing = (1.0,) * label.ndim if spacing is None else tuple(float(s) for s in spacing)
        scales = [
            scale_target(label, shape, self.maps, self.num_classes, spacing) if weight else {}
            for shape, weight in zip(shapes[1:], weights[1:], strict=True)
        ]
        return {**sample, SCALE_TARGETS: scales}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(maps={self.maps!r}, num_classes={self.num_classes}, "
            f"output_shapes={self.output_shapes!r}, weights={self.weights!r})"
        )


def check_maps_serve(
    maps: Sequence[MapSpec], loss: nn.Module, num_classes: int | None = None
) -> None:
    """Check that each of ``maps`` serves what ``loss`` takes under its keyword
    (:func:`~boundaryloss.losses.required_maps`, :func:`~boundaryloss.losses.map_mismatch`):
    the same kind and convention and, for ``num_classes`` channels, every channel the
    loss reads. A map under a keyword the loss does not take is left alone.

    Raises:
        ValueError: a map of another kind or convention than the loss takes under the same
            keyword; with ``num_classes``, one leaving out a channel the loss reads.
    """
    keywords = {spec.argument for spec in maps}
    needs = {need.argument: need for need in required_maps(loss, keywords)}
    for spec in maps:
        if spec.argument not in needs:
            continue
        problem = map_mismatch(spec, needs[spec.argument], num_classes)
        if problem is not None:
            raise ValueError(f"maps: {problem}; maps=None computes the maps the loss declares")


class DeepSupervisionLoss(nn.Module):
    """Weighted sum of a loss over the outputs of a deeply supervised network.

    Convention:
        ``outputs`` is a list of logits, full resolution first (as
        :class:`~boundaryloss.nets.UNet` returns with ``deep_supervision=True`` in
        training mode); a single tensor is passed straight to ``loss``. At scale ``i``
        the target (integer labels) is :func:`downsample_target` to the output's size,
        and each map the loss needs (``maps``) is computed from that downsampled target
        with the spacing scaled by the size ratio (``spacing * size / new_size`` per
        axis), so a boundary term measures distances in the same physical units at
        every scale (:func:`scale_target`). With ``scale_targets`` (what
        :class:`DeepSupervisionTargets` computed per sample in the data pipeline) those
        targets and maps are used instead of being computed here: the same values.
        Maps passed to :meth:`forward` are used at full resolution only. A scale of
        weight 0 adds ``0 * outputs[i].sum()`` (its head gets zero gradients, which
        keeps DDP happy) and computes nothing.

    Args:
        loss: the loss at one scale, called ``loss(logits, target, **maps)``, e.g. a
            :class:`~boundaryloss.losses.CompoundLoss`.
        weights: one weight per scale, or None for :func:`deep_supervision_weights` of
            the number of outputs.
        maps: the maps to compute at the lower scales, as
            :class:`~boundaryloss.maps.MapSpec` (each under its ``argument``); None: the
            ones ``loss`` declares (:func:`~boundaryloss.losses.required_maps`: every
            term's map for a :class:`~boundaryloss.losses.CompoundLoss`, the map of a
            single term such as :class:`~boundaryloss.losses.BoundaryLoss`), or none.
            Each must hold every channel the terms taking it read (it may hold more).

    Attributes:
        last_values: per-term values of the last forward, summed over scales with the
            scale weights (when ``loss`` reports ``last_values``).

    Raises:
        ValueError: bad ``weights``; a map of ``maps`` that is not the map a term of
            ``loss`` takes under its keyword, or (in ``forward``) that leaves out a
            channel it reads (:func:`check_maps_serve`).

    Shapes:
        outputs: list of ``(B, C, *spatial_i)``; target ``(B, *spatial_0)`` int;
        spacing ``(B, ndim)`` or ``(ndim,)`` or None (unit); scale_targets: list of
        ``len(outputs) - 1`` dicts, ``"label"`` ``(B, *spatial_i)`` and each map
        ``(B, C, *spatial_i)`` (``{}`` for a scale of weight 0); returns a scalar.
    """

    def __init__(
        self,
        loss: nn.Module,
        weights: Sequence[float] | None = None,
        maps: Sequence[MapSpec] | None = None,
    ) -> None:
        super().__init__()
        if weights is not None:
            weights = [float(w) for w in weights]
            if not weights or min(weights) < 0 or sum(weights) <= 0:
                raise ValueError(f"weights must be non-negative with a positive sum, got {weights}")
        self.loss = loss
        self.weights_per_scale = weights
        if maps is None:
            maps = required_maps(loss)
        check_maps_serve(maps, loss)
        self.maps = list(maps)
        self.last_values: dict[str, float] = {}

    # The training loop treats the wrapped CompoundLoss's schedule as its own.
    @property
    def schedule(self):
        return self.loss.schedule

    @property
    def weights(self) -> dict[str, float]:
        return self.loss.weights

    @property
    def reduction(self) -> str:
        return getattr(self.loss, "reduction", "mean")

    def step(self) -> None:
        self.loss.step()

    def scale_weights(self, num_scales: int) -> list[float]:
        """The weight of each of ``num_scales`` outputs, full resolution first."""
        return self.weights_per_scale or deep_supervision_weights(num_scales)

    def _given_scale(
        self, given: Mapping[str, Any], index: int, logits: torch.Tensor, device: torch.device
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The precomputed target and maps of output ``index``, checked against it."""
        missing = [k for k in ("label", *(s.argument for s in self.maps)) if k not in given]
        if missing:
            raise ValueError(
                f"scale_targets[{index - 1}] (output {index}) has no {missing}; it was "
                "computed for other weights or maps than this loss's"
            )
        target = given["label"].to(device)
        if tuple(target.shape[1:]) != tuple(logits.shape[2:]):
            raise ValueError(
                f"scale_targets[{index - 1}] has spatial shape {tuple(target.shape[1:])} but "
                f"output {index} has {tuple(logits.shape[2:])}; compute them with the "
                "network's output shapes"
            )
        return target, {spec.argument: given[spec.argument] for spec in self.maps}

    def _computed_scale(
        self, target: torch.Tensor, shape: Sequence[int], num_classes: int, spacing: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The target and maps of one lower output, computed here from the batch."""
        entries = [
            scale_target(target[b], shape, self.maps, num_classes, spacing[b].tolist())
            for b in range(len(target))
        ]
        stacked = {key: torch.stack([entry[key] for entry in entries]) for key in entries[0]}
        return stacked.pop("label"), stacked

    def forward(
        self,
        outputs: torch.Tensor | Sequence[torch.Tensor],
        target: torch.Tensor,
        spacing: torch.Tensor | Sequence[float] | None = None,
        scale_targets: Sequence[Mapping[str, Any]] | None = None,
        **maps: Any,
    ) -> torch.Tensor:
        if isinstance(outputs, torch.Tensor):
            value = self.loss(outputs, target, **maps)
            self.last_values = dict(getattr(self.loss, "last_values", {}))
            return value
        outputs = list(outputs)
        weights = self.scale_weights(len(outputs))
        if len(weights) != len(outputs):
            raise ValueError(f"{len(outputs)} outputs but {len(weights)} weights")
        if any(weights[1:]):  # the lower scales read self.maps, whoever computed them
            check_maps_serve(self.maps, self.loss, outputs[0].shape[1])
        if scale_targets is not None and len(scale_targets) != len(outputs) - 1:
            raise ValueError(
                f"{len(outputs)} outputs need {len(outputs) - 1} scale_targets, got "
                f"{len(scale_targets)}"
            )
        ndim = target.ndim - 1
        if spacing is None:
            spacing = torch.ones(ndim, dtype=torch.float64)
        spacing = torch.as_tensor(spacing, dtype=torch.float64).cpu()
        if spacing.ndim == 1:
            spacing = spacing.expand(target.shape[0], ndim)
        total: torch.Tensor | None = None
        values: dict[str, float] = {}
        for i, (logits, weight) in enumerate(zip(outputs, weights, strict=True)):
            if weight == 0:
                term = 0.0 * logits.sum()
            else:
                if i == 0:
                    small, scale_maps = target, maps
                elif scale_targets is not None:
                    small, scale_maps = self._given_scale(
                        scale_targets[i - 1], i, logits, target.device
                    )
                else:
                    small, scale_maps = self._computed_scale(
                        target, logits.shape[2:], logits.shape[1], spacing
                    )
                term = weight * self.loss(logits, small, **scale_maps)
                for name, value in getattr(self.loss, "last_values", {}).items():
                    values[name] = values.get(name, 0.0) + weight * value
            total = term if total is None else total + term
        self.last_values = values
        return total
