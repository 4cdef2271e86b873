"""Maps of every deep-supervision target, appended by the last nnU-Net transform."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("batchgeneratorsv2", reason="nnunetv2 is not installed (boundaryloss[nnunet])")

from batchgeneratorsv2.transforms.utils.deep_supervision_downsampling import (
    DownsampleSegForDSTransform,
)
from scipy import ndimage

from boundaryloss.maps import rrw_map, signed_distance_map
from boundaryloss.nnunet.transforms import (
    DeepSupervisionMapsTransform,
    scaled_spacing,
    split_target,
)


def _sample(shape, seed=0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    label = np.zeros(shape, dtype=np.int16)
    centre = np.asarray(shape) / 2 + rng.uniform(-2, 2, len(shape))
    dist = np.sqrt(sum((g - c) ** 2 for g, c in zip(np.indices(shape), centre, strict=True)))
    label[dist < min(shape) / 3] = 1
    label[dist < min(shape) / 6] = 2
    return torch.from_numpy(label)[None]


def test_scaled_spacing():
    assert scaled_spacing((2.0, 0.5, 0.5), (16, 32, 32), (8, 8, 16)) == (4.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="one entry per spatial axis"):
        scaled_spacing((1.0, 1.0), (4, 4, 4), (2, 2, 2))


@pytest.mark.parametrize("shape", [(16, 24, 20), (32, 24)], ids=["3d", "2d"])
def test_maps_after_downsampling_equal_the_projects_maps(shape):
    spacing = (2.0, 0.8, 1.0)[: len(shape)]
    scales = [[1.0] * len(shape), [0.5] * len(shape), [0.25] * len(shape)]
    pipeline = [
        DownsampleSegForDSTransform(scales),
        DeepSupervisionMapsTransform("signed", 3, spacing),
    ]
    data = {"image": torch.zeros((1, *shape)), "segmentation": _sample(shape)}
    for transform in pipeline:
        data = transform(**data)
    labels, maps = split_target(data["segmentation"])
    assert len(labels) == len(maps) == 3
    for s, (label, dist) in enumerate(zip(labels, maps, strict=True)):
        assert label.dtype == torch.int16
        assert dist.dtype == torch.float32
        assert tuple(dist.shape) == (3, *label.shape[1:])
        factor = 2**s  # the target was halved s times along every axis
        expected = signed_distance_map(label[0].numpy(), 3, [sp * factor for sp in spacing])
        np.testing.assert_array_equal(dist.numpy(), expected)


def test_signed_map_of_a_downsampled_target_against_scipy():
    """Independent check of spacing and sign at the coarsest scale (scipy's EDT)."""
    seg = _sample((16, 16, 16))
    spacing = (1.5, 1.0, 1.0)
    data = DownsampleSegForDSTransform([[1, 1, 1], [0.5, 0.5, 0.5]])(segmentation=seg)
    data = DeepSupervisionMapsTransform("signed", 3, spacing)(**data)
    labels, maps = split_target(data["segmentation"])
    coarse, dist = labels[1][0].numpy(), maps[1].numpy()
    coarse_spacing = (3.0, 2.0, 2.0)
    for k in (1, 2):
        mask = coarse == k
        outside = ndimage.distance_transform_edt(~mask, sampling=coarse_spacing)
        np.testing.assert_allclose(dist[k][~mask], outside[~mask], rtol=1e-6)
        assert (dist[k][mask] <= 0).all()


def test_rrw_maps_and_single_tensor():
    seg = _sample((12, 12, 12))
    data = DeepSupervisionMapsTransform("rrw", 3, (1.0, 1.0, 1.0))(segmentation=seg)
    labels, maps = split_target(data["segmentation"])
    assert len(labels) == 1 and torch.equal(labels[0], seg)
    np.testing.assert_array_equal(maps[0].numpy(), rrw_map(seg[0].numpy(), 3, (1.0, 1.0, 1.0)))


def test_errors():
    transform = DeepSupervisionMapsTransform("signed", 2, (1.0, 1.0))
    with pytest.raises(ValueError, match=r"spacing \(1.0, 1.0\) has 2 axes but the target"):
        transform(segmentation=torch.zeros((1, 4, 4, 4), dtype=torch.int16))
    with pytest.raises(ValueError, match="even-length list"):
        split_target([torch.zeros(1)] * 3)
    with pytest.raises(ValueError, match="got Tensor"):
        split_target(torch.zeros(1))
