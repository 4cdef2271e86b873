"""Losses on CUDA with maps computed on the fly, and a mixed-precision training step.

Skipped (with the reason) on machines without CUDA.
"""

from __future__ import annotations

import warnings

import pytest
import torch

from boundaryloss.losses import (
    BoundaryLoss,
    CompoundLoss,
    GeneralizedDiceLoss,
    HausdorffDTLoss,
    RegionWiseLoss,
)
from boundaryloss.maps import CPUFallbackWarning
from boundaryloss.nets import UNet
from boundaryloss.schedules import Rebalance

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

LOSSES = {
    "boundary_paper": lambda sp: BoundaryLoss(include_background=False, spacing=sp),
    "boundary_official": lambda sp: BoundaryLoss(convention="official", spacing=sp),
    "boundary_rw": lambda sp: BoundaryLoss(convention="rw", spacing=sp),
    "rrw": lambda sp: RegionWiseLoss("rrw", spacing=sp),
    "rw_boundary": lambda sp: RegionWiseLoss("boundary", spacing=sp),
    "ac": lambda sp: RegionWiseLoss("ac"),
    "hausdorff": lambda sp: HausdorffDTLoss(spacing=sp),
}
SHAPES = {"2d": ((2, 3, 32, 28), (0.8, 1.2)), "3d": ((2, 3, 16, 14, 12), (0.5, 0.5, 2.0))}


def _target(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    batch, _, *spatial = shape
    grids = torch.meshgrid(*[torch.arange(s, dtype=torch.float32) for s in spatial], indexing="ij")
    radius = sum(((g - s / 2) / (s / 3)) ** 2 for g, s in zip(grids, spatial, strict=True))
    target = torch.zeros(batch, *spatial, dtype=torch.long)
    target[:, radius < 1] = 1
    target[:, radius < 0.3] = 2
    noise = torch.rand(batch, *spatial, generator=generator) < 0.01
    return torch.where(noise, torch.full_like(target, 2), target)


@pytest.mark.parametrize("dims", sorted(SHAPES))
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_on_the_fly_maps_on_cuda_equal_cpu(name, dims):
    shape, spacing = SHAPES[dims]
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(shape, generator=generator, dtype=torch.float64)
    target = _target(shape, generator)
    loss = LOSSES[name](spacing)
    cpu_logits = logits.clone().requires_grad_(True)
    gpu_logits = logits.cuda().requires_grad_(True)
    on_cpu = loss(cpu_logits, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CPUFallbackWarning)
        on_gpu = loss(gpu_logits, target.cuda())
    on_cpu.backward()
    on_gpu.backward()
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gpu_logits.grad.cpu(), cpu_logits.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_mixed_precision_training_step(dtype):
    torch.manual_seed(0)
    device = torch.device("cuda")
    network = UNet(1, 3, spatial_dims=3, base_channels=8, depth=2).to(device)
    loss = CompoundLoss(
        {"gdl": GeneralizedDiceLoss(), "boundary": BoundaryLoss(include_background=False)},
        Rebalance(start=0.5),
    )
    generator = torch.Generator().manual_seed(1)
    target = _target((2, 3, 16, 16, 16), generator).to(device)
    image = (target.float() + 0.3 * torch.randn(target.shape, generator=generator).to(device))[
        :, None
    ]
    optimizer = torch.optim.SGD(network.parameters(), lr=0.05)
    # float16 needs loss scaling; a step whose scaled gradients overflow is skipped (and
    # the scale lowered), so a few steps are taken.
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0**10, enabled=dtype == torch.float16)
    with torch.no_grad():
        full_precision = loss(network(image), target)
    before = [p.detach().clone() for p in network.parameters()]
    for step in range(3):
        optimizer.zero_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CPUFallbackWarning)
            with torch.autocast("cuda", dtype=dtype):
                logits = network(image)
                value = loss(logits, target)
        assert logits.dtype == dtype
        assert torch.isfinite(value)
        if step == 0:
            torch.testing.assert_close(value.float(), full_precision, rtol=2e-2, atol=2e-2)
        scaler.scale(value).backward()
        scaler.step(optimizer)
        scaler.update()
    changed = [not torch.equal(a, b) for a, b in zip(before, network.parameters(), strict=True)]
    assert all(torch.isfinite(p).all() for p in network.parameters()) and any(changed)
