"""ENet: shapes for odd sizes and the paper's parameter budget."""

from __future__ import annotations

import pytest
import torch

from boundaryloss.nets import ENet


def test_parameter_count_close_to_paper():
    # Paszke et al. report 0.37 M parameters for 12 classes on RGB input.
    count = sum(p.numel() for p in ENet(3, 12).parameters())
    assert 0.33e6 < count < 0.39e6


@pytest.mark.parametrize("shape", [(37, 53), (64, 80), (9, 9)])
def test_output_shape_for_any_size(shape):
    net = ENet(1, 4).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 1, *shape))
    assert out.shape == (2, 4, *shape)


def test_trains_one_step():
    torch.manual_seed(0)
    net = ENet(1, 2)
    x, y = torch.randn(2, 1, 32, 32), torch.randint(0, 2, (2, 32, 32))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="in_channels"):
        ENet(16, 2)
    with pytest.raises(ValueError, match=r"BCHW with C=1"):
        ENet(1, 2)(torch.randn(1, 2, 8, 8))
