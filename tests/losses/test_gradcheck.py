"""torch.autograd.gradcheck in float64 for every loss, with precomputed maps."""

from __future__ import annotations

import pytest
import torch

from .cases import MODULES
from .reference import random_case, rrw_maps, rw_signed_maps, unsigned_rw_maps

MAPS = {
    "boundary": ("dist_map", rw_signed_maps),
    "hausdorff": ("dist_map", unsigned_rw_maps),
    "region_wise_rrw": ("rw_map", rrw_maps),
    "region_wise_boundary": ("rw_map", rw_signed_maps),
    "region_wise_ac": ("rw_map", rrw_maps),
    "rrw_cross_entropy": ("rw_map", rrw_maps),
}


@pytest.mark.parametrize("activation", ["softmax", "sigmoid"])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_gradcheck(name, activation):
    logits, label = random_case((1, 3, 5, 4), seed=1, dtype=torch.float64)
    extra = {}
    if name in MAPS:
        argument, reference = MAPS[name]
        extra[argument] = torch.tensor(reference(label.numpy(), 3))
    loss = MODULES[name](activation=activation, reduction="sum")
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: loss(x, label, **extra), (logits,))


@pytest.mark.parametrize("name", ["dice", "generalized_dice", "cross_entropy", "focal"])
def test_gradcheck_3d_without_background(name):
    logits, label = random_case((1, 3, 3, 4, 3), seed=2, dtype=torch.float64)
    loss = MODULES[name](include_background=False, reduction="none")
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: loss(x, label), (logits,))
