"""Deep supervision: nnU-Net's weights, targets and maps at each scale, written out;
the same targets and maps computed per sample in the data pipeline."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import default_collate

from boundaryloss.losses import (
    BoundaryLoss,
    CompoundLoss,
    CrossEntropyLoss,
    DeepSupervisionLoss,
    DeepSupervisionTargets,
    GeneralizedDiceLoss,
    HausdorffDTLoss,
    deep_supervision_weights,
    downsample_target,
)
from boundaryloss.losses.deep_supervision import (
    SCALE_TARGETS,
    nearest_exact_indices,
    scale_target,
)
from boundaryloss.maps import MapSpec, signed_distance_map
from boundaryloss.nets import UNet, supervision_shapes


def test_weights_are_nnunets():
    # 1, 1/2, 1/4, then the coarsest set to 0, normalised: (1, .5, .25, 0) / 1.75
    assert deep_supervision_weights(4) == pytest.approx([1 / 1.75, 0.5 / 1.75, 0.25 / 1.75, 0])
    assert deep_supervision_weights(2) == [1.0, 0.0]
    assert deep_supervision_weights(1) == [1.0]
    with pytest.raises(ValueError, match="num_scales"):
        deep_supervision_weights(0)


@pytest.mark.parametrize("dims", [2, 3])
def test_downsampling_by_two_takes_the_second_voxel_of_each_pair(dims):
    target = torch.randint(0, 3, (2, *(8,) * dims))
    small = downsample_target(target, (4,) * dims)
    expected = target[(slice(None), *(slice(1, None, 2),) * dims)]
    assert torch.equal(small, expected) and small.dtype == target.dtype


def test_indices_are_the_voxels_pytorch_nearest_exact_picks():
    for size in range(1, 401):
        row = torch.arange(size, dtype=torch.float32)[None, None]
        for new_size in {
            1,
            2,
            3,
            size,
            2 * size,
            max(1, size // 2),
            (size + 1) // 2,
            max(1, size // 3),
            max(1, size // 4),
            max(1, size - 1),
        }:
            expected = F.interpolate(row, size=new_size, mode="nearest-exact")[0, 0].long()
            np.testing.assert_array_equal(
                nearest_exact_indices(size, new_size),
                expected.numpy(),
                err_msg=f"{size}->{new_size}",
            )


def test_float64_positions_pick_other_voxels_than_pytorch():
    # Why the indices are computed in float32 (docs/measurements.md): the two float64
    # forms of the same formula pick another voxel than F.interpolate for 30 -> 29.
    size, new_size = 30, 29
    row = torch.arange(size, dtype=torch.float32)[None, None]
    expected = F.interpolate(row, size=new_size, mode="nearest-exact")[0, 0].long().numpy()
    positions = np.arange(new_size) + 0.5
    for picked in (positions * (size / new_size), positions * size / new_size):
        float64 = np.minimum(np.floor(picked).astype(np.int64), size - 1)
        assert not np.array_equal(float64, expected)
    np.testing.assert_array_equal(nearest_exact_indices(size, new_size), expected)


@pytest.mark.parametrize("dims", [2, 3])
def test_downsampling_equals_nearest_exact_interpolation_for_arrays_and_tensors(dims):
    rng = np.random.default_rng(dims)
    for _ in range(40):
        shape = tuple(int(n) for n in rng.integers(3, 70 if dims == 2 else 30, size=dims))
        small = tuple(int(rng.integers(1, n + 1)) for n in shape)
        target = torch.from_numpy(rng.integers(0, 4, size=(2, *shape)))
        expected = F.interpolate(target[:, None].float(), size=small, mode="nearest-exact")
        expected = expected[:, 0].long()
        ours = downsample_target(target, small)
        assert torch.equal(ours, expected) and ours.dtype == torch.int64
        from_array = downsample_target(target.numpy(), small)
        assert isinstance(from_array, np.ndarray)
        np.testing.assert_array_equal(from_array, expected.numpy())


def compound():
    return CompoundLoss(
        {"gdl": GeneralizedDiceLoss(), "boundary": BoundaryLoss(include_background=False)},
        [1.0, 0.5],
    )


@pytest.mark.parametrize("dims", [2, 3])
def test_value_is_the_weighted_sum_over_scales_with_maps_of_the_downsampled_target(dims):
    torch.manual_seed(0)
    size = 16 if dims == 2 else 8
    target = torch.zeros(2, *(size,) * dims, dtype=torch.long)
    target[(slice(None), *(slice(2, size - 3),) * dims)] = 1
    target[(0, *(slice(3, 6),) * dims)] = 2
    outputs = [torch.randn(2, 3, *(size // 2**i,) * dims, requires_grad=True) for i in range(3)]
    spacing = torch.tensor([[0.5 * (a + 1) for a in range(dims)], [1.0] * dims])
    full_maps = {"dist_map": signed_distance_map(target, 3, None, batch=True)}
    loss = DeepSupervisionLoss(compound())  # the maps the compound loss declares
    assert loss.maps == [MapSpec("signed", "paper", "dist_map", include_background=False)]
    value = loss(outputs, target, spacing=spacing, **full_maps)

    reference = compound()
    expected = (2 / 3) * reference(outputs[0], target, **full_maps)
    small = target[(slice(None), *(slice(1, None, 2),) * dims)]
    small_maps = torch.stack(
        [signed_distance_map(small[b], 3, tuple((2 * spacing[b]).tolist())) for b in range(2)]
    )
    expected = expected + (1 / 3) * reference(outputs[1], small, dist_map=small_maps)
    torch.testing.assert_close(value, expected)

    value.backward()
    assert outputs[2].grad is not None and torch.count_nonzero(outputs[2].grad) == 0
    assert torch.count_nonzero(outputs[1].grad) > 0


def test_single_tensor_and_schedule_pass_through():
    inner = compound()
    loss = DeepSupervisionLoss(inner)
    logits, target = torch.randn(1, 3, 8, 8), torch.randint(0, 3, (1, 8, 8))
    torch.testing.assert_close(loss(logits, target), compound()(logits, target))
    assert loss.weights == inner.weights and loss.schedule is inner.schedule
    assert loss.last_values == inner.last_values


def test_last_values_are_summed_with_the_scale_weights():
    torch.manual_seed(0)
    loss = DeepSupervisionLoss(CompoundLoss({"ce": CrossEntropyLoss()}), weights=[0.75, 0.25])
    target = torch.randint(0, 2, (2, 8, 8))
    outputs = [torch.randn(2, 2, 8, 8), torch.randn(2, 2, 4, 4)]
    value = loss(outputs, target)
    ce = CrossEntropyLoss()
    expected = 0.75 * ce(outputs[0], target) + 0.25 * ce(outputs[1], target[:, 1::2, 1::2])
    torch.testing.assert_close(value, expected)
    assert loss.last_values["ce"] == pytest.approx(float(expected))


def test_bad_weights():
    with pytest.raises(ValueError, match="weights"):
        DeepSupervisionLoss(compound(), weights=[0.0, 0.0])
    loss = DeepSupervisionLoss(compound(), weights=[1.0, 0.5])
    with pytest.raises(ValueError, match="3 outputs but 2 weights"):
        loss([torch.randn(1, 3, 8, 8)] * 3, torch.zeros(1, 8, 8, dtype=torch.long))


def nearest_exact(label: np.ndarray, shape) -> np.ndarray:
    """Output voxel j takes input voxel floor((j + 0.5) * size / new_size), per axis."""
    index = [
        np.floor((np.arange(n) + 0.5) * size / n).astype(int)
        for size, n in zip(label.shape, shape, strict=True)
    ]
    return label[np.ix_(*index)]


def samples(dims: int, seed: int = 0):
    """Labels of odd sizes with three classes, and an anisotropic spacing per sample."""
    rng = np.random.default_rng(seed)
    shape = (37, 50) if dims == 2 else (13, 19, 11)
    out = []
    for b in range(3):
        label = np.zeros(shape, dtype=np.int64)
        for k in (1, 2):
            start = [int(rng.integers(0, n - n // 3)) for n in shape]
            label[tuple(slice(s, s + n // 3) for s, n in zip(start, shape, strict=True))] = k
        spacing = (0.8 + 0.3 * b, 1.7, 0.45)[:dims]
        out.append({"label": label, "spacing": spacing})
    return out


def collated(batch):
    return default_collate(
        [
            {
                **s,
                "label": torch.from_numpy(s["label"]),
                "spacing": torch.tensor(s["spacing"], dtype=torch.float64),
            }
            for s in batch
        ]
    )


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("weights", [None, [0.5, 0.0, 0.3, 0.2]])
def test_targets_from_the_data_pipeline_give_exactly_the_in_forward_values(dims, weights):
    torch.manual_seed(1)
    depth = 4 if dims == 2 else 3
    weights = weights[:depth] if weights else None
    net = UNet(1, 3, spatial_dims=dims, base_channels=2, depth=depth, deep_supervision=True)
    batch = samples(dims)
    loss = DeepSupervisionLoss(compound(), weights=weights)
    shapes = functools.partial(supervision_shapes, depth=depth)
    transform = DeepSupervisionTargets(loss.maps, 3, shapes, loss.scale_weights(depth))
    full_maps = [signed_distance_map(s["label"], 3, s["spacing"]) for s in batch]
    prepared = collated(
        [
            {**transform(s), "dist_map": torch.from_numpy(m)}
            for s, m in zip(batch, full_maps, strict=True)
        ]
    )
    image = torch.randn(len(batch), 1, *batch[0]["label"].shape)
    outputs = net(image)
    label, spacing, dist_map = prepared["label"], prepared["spacing"], prepared["dist_map"]
    in_forward = loss(outputs, label, spacing=spacing, dist_map=dist_map)
    gradients = torch.autograd.grad(in_forward, outputs)
    precomputed = loss(
        outputs, label, spacing=spacing, dist_map=dist_map, scale_targets=prepared[SCALE_TARGETS]
    )
    assert torch.equal(precomputed, in_forward)  # the same value, to the last bit
    for a, b in zip(torch.autograd.grad(precomputed, outputs), gradients, strict=True):
        assert torch.equal(a, b)

    used = loss.scale_weights(depth)
    scales = prepared[SCALE_TARGETS]
    assert len(scales) == depth - 1
    for i, (entry, output) in enumerate(zip(scales, outputs[1:], strict=True), start=1):
        if used[i] == 0:
            assert entry == {}  # nothing computed for a scale the loss does not read
            continue
        shape = tuple(output.shape[2:])
        for b, sample in enumerate(batch):
            small = nearest_exact(sample["label"], shape)
            assert torch.equal(entry["label"][b], torch.from_numpy(small))
            factor = [f / n for f, n in zip(sample["label"].shape, shape, strict=True)]
            spacing_b = [s * f for s, f in zip(sample["spacing"], factor, strict=True)]
            expected = signed_distance_map(small, 3, spacing_b)
            np.testing.assert_array_equal(entry["dist_map"][b, 1:].numpy(), expected[1:])
            assert not entry["dist_map"][b, 0].any()  # the background is never read


def test_the_transform_keeps_the_sample_and_works_for_any_size():
    transform = DeepSupervisionTargets(
        [MapSpec("signed")], 2, functools.partial(supervision_shapes, depth=3)
    )
    label = np.zeros((9, 14), dtype=np.uint8)
    label[2:6, 3:9] = 1
    sample = {"label": label[:, ::-1], "image": "kept"}  # a flipped view, unit spacing
    out = transform(sample)
    assert out["image"] == "kept" and SCALE_TARGETS not in sample
    (half, coarsest) = out[SCALE_TARGETS]
    assert coarsest == {}  # weight 0 with nnU-Net's weights
    assert half["label"].dtype == torch.int64 and tuple(half["label"].shape) == (5, 7)
    np.testing.assert_array_equal(half["label"].numpy(), nearest_exact(label[:, ::-1], (5, 7)))
    expected = signed_distance_map(half["label"].numpy(), 2, (9 / 5, 14 / 7))
    np.testing.assert_array_equal(half["dist_map"].numpy(), expected)


def test_precomputed_targets_that_do_not_fit_are_refused():
    loss = DeepSupervisionLoss(compound())
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    outputs = [torch.randn(1, 3, 8, 8), torch.randn(1, 3, 4, 4), torch.randn(1, 3, 2, 2)]
    small = {"label": torch.zeros(1, 4, 4, dtype=torch.long), "dist_map": torch.zeros(1, 3, 4, 4)}
    with pytest.raises(ValueError, match="3 outputs need 2 scale_targets, got 1"):
        loss(outputs, target, scale_targets=[small])
    with pytest.raises(ValueError, match=r"has no \['dist_map'\]"):
        loss(outputs, target, scale_targets=[{"label": small["label"]}, {}])
    with pytest.raises(ValueError, match=r"has no \['label', 'dist_map'\]"):
        loss(outputs, target, scale_targets=[{}, {}])
    wrong = {"label": torch.zeros(1, 5, 4, dtype=torch.long), "dist_map": torch.zeros(1, 3, 5, 4)}
    with pytest.raises(ValueError, match=r"spatial shape \(5, 4\) but output 1 has \(4, 4\)"):
        loss(outputs, target, scale_targets=[wrong, {}])
    loss(outputs, target, scale_targets=[small, {}])  # the weight-0 scale is never read
    with pytest.raises(ValueError, match="3 outputs but 2 weights"):
        DeepSupervisionTargets([], 2, functools.partial(supervision_shapes, depth=3), [1.0, 0.0])(
            {"label": np.zeros((8, 8), dtype=np.int64)}
        )


@pytest.mark.parametrize(
    ("maps", "missing"),
    [
        ([MapSpec("signed", include_background=False)], "[0]"),
        ([MapSpec("signed", classes=[2])], "[0, 1]"),
    ],
)
def test_lower_scale_maps_must_hold_every_channel_the_loss_reads(maps, missing):
    # BoundaryLoss() reads every channel: a map leaving one out (zeros there) would change
    # the loss silently at every lower scale
    target = torch.randint(0, 3, (2, 16, 16))
    outputs = [torch.randn(2, 3, 16, 16), torch.randn(2, 3, 8, 8), torch.randn(2, 3, 4, 4)]
    for loss in (CompoundLoss([BoundaryLoss(), GeneralizedDiceLoss()]), BoundaryLoss()):
        wrapped = DeepSupervisionLoss(loss, maps=maps)
        with pytest.raises(ValueError, match=rf"leaves out channel\(s\) {re.escape(missing)} of 3"):
            wrapped(outputs, target)
    # nothing is read at the lower scales with their weights 0
    DeepSupervisionLoss(BoundaryLoss(), [1.0, 0.0, 0.0], maps)(outputs, target)


def test_lower_scale_maps_must_be_the_map_the_loss_takes():
    with pytest.raises(ValueError, match="is not the map the loss takes as dist_map"):
        DeepSupervisionLoss(CompoundLoss([BoundaryLoss()]), maps=[MapSpec("unsigned", "rw")])


def test_lower_scale_maps_may_hold_more_channels_than_the_loss_reads():
    torch.manual_seed(2)
    target = torch.randint(0, 3, (2, 16, 16))
    outputs = [torch.randn(2, 3, 16, 16), torch.randn(2, 3, 8, 8), torch.randn(2, 3, 4, 4)]
    declared = DeepSupervisionLoss(compound())  # the foreground channels only
    every = DeepSupervisionLoss(compound(), maps=[MapSpec("signed")])
    assert torch.equal(declared(outputs, target), every(outputs, target))
    listed = DeepSupervisionLoss(compound(), maps=[MapSpec("signed", classes=[1, 2])])
    assert torch.equal(declared(outputs, target), listed(outputs, target))  # 3 classes
    # terms in conflict over one keyword take no precomputed map: nothing to check
    conflicting = CompoundLoss([BoundaryLoss(), HausdorffDTLoss()])
    assert DeepSupervisionLoss(conflicting, maps=[]).maps == []


def test_a_single_boundary_term_gets_lower_scale_maps_with_the_scaled_spacing():
    # A plain BoundaryLoss (no CompoundLoss around it) declares its map too: the lower
    # scale's map must use the scaled spacing, not the loss's own unit voxels.
    target = torch.zeros(1, 16, 16, dtype=torch.long)
    target[0, 4:11, 3:9] = 1
    outputs = [torch.randn(1, 2, 16 // 2**i, 16 // 2**i) for i in range(3)]
    spacing = torch.tensor([[0.7, 2.0]])
    loss = DeepSupervisionLoss(BoundaryLoss(include_background=False))
    assert loss.maps == [MapSpec("signed", include_background=False)]
    full = signed_distance_map(target, 2, None, batch=True)
    value = loss(outputs, target, spacing=spacing, dist_map=full)

    reference = BoundaryLoss(include_background=False)
    small = target[:, 1::2, 1::2]
    small_map = signed_distance_map(small[0], 2, (1.4, 4.0))[None]
    expected = (2 / 3) * reference(outputs[0], target, dist_map=full) + (1 / 3) * reference(
        outputs[1], small, dist_map=small_map
    )
    torch.testing.assert_close(value, expected)


def test_the_transform_reads_spacing_as_the_full_resolution_maps_do():
    # A MONAI MetaTensor label (channel first) carries its voxel size in its affine; the
    # lower-scale maps must use it (scaled), as DistanceMapTransform does at full size.
    monai_data = pytest.importorskip("monai.data")
    label = np.zeros((1, 12, 10), dtype=np.int64)
    label[0, 3:9, 2:7] = 1
    affine = torch.diag(torch.tensor([0.5, 3.0, 1.0, 1.0], dtype=torch.float64))
    meta_label = monai_data.MetaTensor(torch.from_numpy(label), affine=affine)
    transform = DeepSupervisionTargets(
        [MapSpec("signed")], 2, functools.partial(supervision_shapes, depth=3)
    )
    sample = {"label": meta_label, "spacing": (9.0, 9.0)}  # the metadata wins
    half, _ = transform(sample)[SCALE_TARGETS]
    assert type(half["label"]) is torch.Tensor and tuple(half["label"].shape) == (6, 5)
    expected = signed_distance_map(half["label"].numpy(), 2, (0.5 * 2, 3.0 * 2))
    np.testing.assert_array_equal(half["dist_map"].numpy(), expected)


def test_the_transform_names_what_is_wrong():
    transform = DeepSupervisionTargets(
        [MapSpec("signed")], 2, functools.partial(supervision_shapes, depth=2)
    )
    with pytest.raises(ValueError, match="no 'label' entry"):
        transform({"image": np.zeros((4, 4))})
    with pytest.raises(ValueError, match="one weight per output"):
        DeepSupervisionTargets([], 2, functools.partial(supervision_shapes, depth=2), weights=[])


@pytest.mark.parametrize("shape", [(16, 16), (8, 8), (16, 8)])
@pytest.mark.parametrize(
    "flip", [np.s_[::-1], np.s_[:, ::-1], np.s_[::-1, ::-1]], ids=["rows", "cols", "both"]
)
def test_scale_target_of_a_flipped_numpy_label(shape, flip):
    """A NumPy label with negative strides (a flip augmentation's view) gives the same
    target and maps as its contiguous copy, also when its shape is already the target's
    (where the label is not resampled, so not copied, on the way)."""
    rng = np.random.default_rng(0)
    flipped = rng.integers(0, 2, (16, 16))[flip]
    assert any(stride < 0 for stride in flipped.strides)
    maps = [MapSpec("signed")]
    got = scale_target(flipped, shape, maps, 2, (1.0, 1.0))
    expected = scale_target(flipped.copy(), shape, maps, 2, (1.0, 1.0))
    assert got.keys() == expected.keys() == {"label", "dist_map"}
    for key, value in got.items():
        assert value.is_contiguous() and value.dtype == expected[key].dtype
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
    assert got["label"].shape == shape


def test_scale_target_does_not_copy_a_contiguous_label_of_the_target_shape():
    label = np.random.default_rng(0).integers(0, 2, (16, 16))
    assert np.shares_memory(scale_target(label, (16, 16), [], 2, (1.0, 1.0))["label"], label)


def test_float64_picks_another_voxel_where_the_docstring_says():
    """30 -> 29, the first pair where float64 arithmetic (either order) differs from
    PyTorch's float32 nearest-exact, which nearest_exact_indices matches."""
    size, new_size = 30, 29
    row = torch.arange(size, dtype=torch.float32)[None, None]
    expected = F.interpolate(row, size=new_size, mode="nearest-exact")[0, 0].long().numpy()
    j = np.arange(new_size, dtype=np.float64)
    for positions in ((j + 0.5) * (size / new_size), (j + 0.5) * size / new_size):
        assert not np.array_equal(np.minimum(np.floor(positions), size - 1), expected)
    np.testing.assert_array_equal(nearest_exact_indices(size, new_size), expected)
