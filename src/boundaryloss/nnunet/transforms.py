"""The last transform of nnU-Net's pipelines: one map per deep-supervision target.

nnU-Net's data loader hands each sample's ``segmentation`` through the transforms and
stacks every entry of the resulting list separately (each with its own dtype). After
``DownsampleSegForDSTransform`` the segmentation is the list of targets, one per
deep-supervision output, finest first. :class:`DeepSupervisionMapsTransform` appends the
map of each of them, so the batch's ``target`` becomes ``[label_0 .. label_{n-1}, map_0 ..
map_{n-1}]``: the maps are computed after every augmentation, in nnU-Net's augmentation
workers (off the training loop), and nnU-Net's data loader, ``train_step`` and
``validation_step`` carry them unchanged (``validation_step`` uses ``target[0]``, the
full-resolution label).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ._extra import missing_extra

try:
    from batchgeneratorsv2.transforms.base.basic_transform import BasicTransform
except ModuleNotFoundError as error:  # without the extra: say which one to install
    raise missing_extra(error) from None

from ..losses.deep_supervision import scaled_spacing
from ..maps import MapSpec


def deep_supervision_maps(
    targets: Sequence[torch.Tensor],
    spec: MapSpec,
    num_classes: int,
    spacing: Sequence[float],
) -> list[torch.Tensor]:
    """The map ``spec`` describes of every deep-supervision target of one sample.

    Args:
        targets: labels ``(1, *spatial)`` per scale, finest first (any integer or integral
            float dtype), as ``DownsampleSegForDSTransform`` returns them.
        spec: the map the loss declares (``loss.map_requirement()``).
        num_classes: C, the number of segmentation heads.
        spacing: voxel size of the finest target (the plan's spacing); each coarser
            target's spacing is scaled by the ratio of the shapes.

    Returns:
        One float32 ``(C, *spatial_s)`` tensor per scale, in physical units of
        ``spacing`` for distance maps.
    """
    full_shape = tuple(targets[0].shape[1:])
    out = []
    for target in targets:
        label = target[0].numpy() if isinstance(target, torch.Tensor) else np.asarray(target[0])
        shape = label.shape
        spacing_s = scaled_spacing(spacing, full_shape, shape)
        out.append(torch.from_numpy(spec.compute(label.astype(np.int64), num_classes, spacing_s)))
    return out


class DeepSupervisionMapsTransform(BasicTransform):
    """Append the map of each deep-supervision target to nnU-Net's ``segmentation`` list.

    Place it after ``DownsampleSegForDSTransform`` (the trainers append it to nnU-Net's
    training and validation pipelines). A single target tensor (deep supervision off) is
    treated as a one-scale list.

    With a ``margin``, the pipeline before it must have produced a patch larger by
    ``2 * margin`` voxels per axis, concentric with the training patch (see
    ``nnUNetTrainerMapLossBase.map_margin``): the maps are computed on the larger targets
    (so boundaries up to ``margin`` voxels outside the patch count), then the image, the
    targets and the maps are cropped to the patch, each scale by ``margin`` times its
    downsampling factor.

    Args:
        spec: the map the loss declares (``loss.map_requirement()``), e.g.
            ``MapSpec("signed")`` for the boundary loss (paper convention: 0 on the
            boundary, negative inside, in the units of ``spacing``) or ``MapSpec("rrw")``.
        num_classes: C, the number of segmentation heads.
        spacing: the plan's voxel size of the configuration, per spatial axis of the patch.
        margin: voxels per spatial axis (full resolution) to crop after computing the
            maps; each must be a multiple of that axis's coarsest downsampling factor.

    Returns (``__call__``): the data dict with ``segmentation`` =
    ``[label_0, ..., label_{n-1}, map_0, ..., map_{n-1}]``, maps float32 ``(C, *spatial_s)``.
    """

    def __init__(
        self,
        spec: MapSpec,
        num_classes: int,
        spacing: Sequence[float],
        margin: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(spec, MapSpec):
            raise ValueError(f"spec must be a MapSpec, got {spec!r}")
        self.spec = spec
        self.num_classes = int(num_classes)
        self.spacing = tuple(float(s) for s in spacing)
        self.margin = tuple(int(m) for m in margin) if margin is not None else None
        if self.margin is not None and len(self.margin) != len(self.spacing):
            raise ValueError(f"margin {self.margin} and spacing {self.spacing} differ in length")

    def apply(self, data_dict: dict, **params) -> dict:
        segmentation = data_dict.get("segmentation")
        if segmentation is None:
            return data_dict
        targets = list(segmentation) if isinstance(segmentation, (list, tuple)) else [segmentation]
        if len(self.spacing) != targets[0].ndim - 1:
            raise ValueError(
                f"spacing {self.spacing} has {len(self.spacing)} axes but the target "
                f"{tuple(targets[0].shape)} has {targets[0].ndim - 1} spatial axes"
            )
        maps = deep_supervision_maps(targets, self.spec, self.num_classes, self.spacing)
        out = [*targets, *maps]
        if self.margin is not None and any(self.margin):
            full = targets[0].shape[1:]
            out = [_crop_margin(t, self.margin, full) for t in out]
            if data_dict.get("image") is not None:
                data_dict["image"] = _crop_margin(data_dict["image"], self.margin, full)
        data_dict["segmentation"] = out
        return data_dict


def _crop_margin(
    tensor: torch.Tensor, margin: Sequence[int], full_shape: Sequence[int]
) -> torch.Tensor:
    """Remove ``margin`` (full-resolution voxels, scaled to this tensor) from every side."""
    index = [slice(None)]
    for m, full, n in zip(margin, full_shape, tensor.shape[1:], strict=True):
        scaled = m * n / full
        if scaled != int(scaled):
            raise ValueError(
                f"margin {m} is not a whole number of voxels at the scale {n}/{full}; use a "
                "multiple of the coarsest downsampling factor"
            )
        index.append(slice(int(scaled), n - int(scaled)))
    return tensor[tuple(index)]


def split_target(target: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Split a batch target ``[labels..., maps...]`` into its labels and maps (same length).

    Raises:
        ValueError: the target is not a list of even length (the map transform is missing).
    """
    if not isinstance(target, (list, tuple)) or len(target) % 2:
        got = type(target).__name__ if not isinstance(target, (list, tuple)) else len(target)
        raise ValueError(
            "expected the batch target as [labels..., maps...] (even-length list) from "
            f"DeepSupervisionMapsTransform, got {got}"
        )
    half = len(target) // 2
    return list(target[:half]), list(target[half:])
