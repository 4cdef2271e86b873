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

from boundaryloss.maps import MapSpec, rrw_map, signed_distance_map
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
        DeepSupervisionMapsTransform(MapSpec("signed"), 3, spacing),
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
    data = DeepSupervisionMapsTransform(MapSpec("signed"), 3, spacing)(**data)
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
    data = DeepSupervisionMapsTransform(MapSpec("rrw"), 3, (1.0, 1.0, 1.0))(segmentation=seg)
    labels, maps = split_target(data["segmentation"])
    assert len(labels) == 1 and torch.equal(labels[0], seg)
    np.testing.assert_array_equal(maps[0].numpy(), rrw_map(seg[0].numpy(), 3, (1.0, 1.0, 1.0)))


def test_errors():
    with pytest.raises(ValueError, match="spec must be a MapSpec, got 'signed'"):
        DeepSupervisionMapsTransform("signed", 2, (1.0, 1.0))
    transform = DeepSupervisionMapsTransform(MapSpec("signed"), 2, (1.0, 1.0))
    with pytest.raises(ValueError, match=r"spacing \(1.0, 1.0\) has 2 axes but the target"):
        transform(segmentation=torch.zeros((1, 4, 4, 4), dtype=torch.int16))
    with pytest.raises(ValueError, match="even-length list"):
        split_target([torch.zeros(1)] * 3)
    with pytest.raises(ValueError, match="got Tensor"):
        split_target(torch.zeros(1))


def test_margin_maps_see_context_then_crop():
    """Maps of the enlarged targets, cropped: the patch sees boundaries in the margin."""
    shape, margin = (24, 24, 24), (4, 4, 4)
    seg = _sample(shape)
    data = DownsampleSegForDSTransform([[1, 1, 1], [0.5, 0.5, 0.5], [0.25] * 3])(
        image=torch.randn((1, *shape)), segmentation=seg
    )
    enlarged = [t.clone() for t in data["segmentation"]]
    data = DeepSupervisionMapsTransform(MapSpec("signed"), 3, (1.0, 1.0, 1.0), margin)(**data)
    labels, maps = split_target(data["segmentation"])
    assert tuple(data["image"].shape) == (1, 16, 16, 16)
    for s, (label, dist, big) in enumerate(zip(labels, maps, enlarged, strict=True)):
        m = 4 // 2**s
        inner = (slice(None),) + (slice(m, big.shape[1] - m),) * 3
        assert torch.equal(label, big[inner])
        full_map = signed_distance_map(big[0].numpy(), 3, [2.0**s] * 3)
        np.testing.assert_array_equal(dist.numpy(), full_map[inner])


def test_margin_must_be_whole_voxels_at_every_scale():
    data = DownsampleSegForDSTransform([[1, 1, 1], [0.25] * 3])(segmentation=_sample((16,) * 3))
    with pytest.raises(ValueError, match="margin 2 is not a whole number of voxels"):
        DeepSupervisionMapsTransform(MapSpec("signed"), 3, (1.0,) * 3, (2, 2, 2))(**data)


def _nnunet_segmentation(patch, source_image, source_seg, seed):
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

    pipeline = nnUNetTrainer.get_training_transforms(
        patch, (-0.5, 0.5), [[1, 1, 1], [0.5, 0.5, 0.5]], (0, 1, 2), False,
        use_mask_for_norm=[False], is_cascaded=False, foreground_labels=[1, 2],
        regions=None, ignore_label=None,
    )  # fmt: skip
    np.random.seed(seed)  # noqa: NPY002 - nnU-Net's transforms draw from the global state
    torch.manual_seed(seed)
    return pipeline(image=source_image.clone(), segmentation=source_seg.clone())["segmentation"]


@pytest.mark.parametrize("seed", range(4))
def test_enlarged_nnunet_patch_is_concentric(seed):
    """nnU-Net's augmentation of a patch enlarged by a margin holds the patch at its centre.

    Same random rotation/scaling (same seeds), a source region larger by the margin on
    every side around the same centre: the inner crop of the enlarged target equals the
    normal target. The runs' mirroring can differ (it is drawn after noise whose amount
    depends on the image size); when it does, only the full-resolution target is
    compared (nearest-exact downsampling of a flipped patch is not the flipped
    downsampled patch), otherwise every deep-supervision target.
    """
    rng = np.random.default_rng(seed)
    big_shape, m = (40, 40, 40), 4
    seg = torch.from_numpy(
        ndimage.gaussian_filter(rng.normal(size=big_shape), 3).__gt__(0).astype(np.int16)
    )[None]
    seg[0][torch.from_numpy(ndimage.gaussian_filter(rng.normal(size=big_shape), 3) > 0.05)] = 2
    image = torch.randn((1, *big_shape))
    small = _nnunet_segmentation((16, 16, 16), image[:, m:-m, m:-m, m:-m],
                                 seg[:, m:-m, m:-m, m:-m], seed)  # fmt: skip
    large = _nnunet_segmentation((24, 24, 24), image, seg, seed)
    inner = large[0][:, m:-m, m:-m, m:-m]
    flips = [axes for r in range(4) for axes in _combinations((1, 2, 3), r)]
    matching = [
        axes for axes in flips if torch.equal(small[0], inner.flip(axes) if axes else inner)
    ]
    assert matching, "the inner crop differs from the normal patch under every mirroring"
    if () in matching:
        for s, (a, b) in enumerate(zip(small, large, strict=True)):
            k = m // 2**s
            assert torch.equal(a, b[:, k:-k, k:-k, k:-k]), f"scale {s}"


def _combinations(items, r):
    from itertools import combinations

    return list(combinations(items, r))
