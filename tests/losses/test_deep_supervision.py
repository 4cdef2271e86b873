"""Deep supervision: nnU-Net's weights, targets and maps at each scale, written out."""

from __future__ import annotations

import pytest
import torch

from boundaryloss.losses import (
    BoundaryLoss,
    CompoundLoss,
    CrossEntropyLoss,
    DeepSupervisionLoss,
    GeneralizedDiceLoss,
    deep_supervision_weights,
    downsample_target,
)
from boundaryloss.maps import MapSpec, signed_distance_map


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
    assert loss.maps == [MapSpec("signed", "paper", "dist_map")]
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
