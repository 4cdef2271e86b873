"""UNet: shapes for odd sizes, parameter counts from the architecture written out."""

from __future__ import annotations

import pytest
import torch

from boundaryloss.nets import UNet, supervision_shapes


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def expected_unet_params(cin, classes, base, depth, dims, norm_params_per_channel):
    """Count by hand: k^d*cin*cout weights per conv (+cout bias without norm)."""
    k3, k2 = 3**dims, 2**dims
    bias = norm_params_per_channel == 0

    def double(a, b):
        convs = k3 * a * b + k3 * b * b + (2 * b if bias else 0)
        return convs + 2 * b * norm_params_per_channel

    widths = [base * 2**i for i in range(depth + 1)]
    total, previous = 0, cin
    for w in widths[:-1]:
        total += double(previous, w)
        previous = w
    total += double(widths[-2], widths[-1])
    for level in reversed(range(depth)):
        total += k2 * widths[level + 1] * widths[level] + widths[level]  # transposed conv
        total += double(2 * widths[level], widths[level])
    return total + widths[0] * classes + classes


@pytest.mark.parametrize(
    ("base", "depth", "dims", "norm", "per_channel"),
    [(64, 4, 2, "none", 0), (64, 4, 2, "batch", 2), (16, 4, 2, "batch", 2), (16, 3, 3, "batch", 2)],
)
def test_parameter_count(base, depth, dims, norm, per_channel):
    net = UNet(1, 2, dims, base_channels=base, depth=depth, norm=norm)
    assert n_params(net) == expected_unet_params(1, 2, base, depth, dims, per_channel)


def test_classic_unet_is_31_million():
    assert 30.9e6 < n_params(UNet(1, 2, base_channels=64, depth=4)) < 31.1e6


@pytest.mark.parametrize("shape", [(37, 53), (64, 64), (1, 1), (17, 5)])
@pytest.mark.parametrize("norm", ["batch", "instance", "group", "none"])
def test_2d_output_shape_for_any_size(shape, norm):
    if norm == "instance" and shape == (1, 1):
        pytest.skip("instance norm needs more than one element at the 1x1 bottleneck")
    net = UNet(3, 4, base_channels=8, depth=3, norm=norm).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, *shape))
    assert out.shape == (2, 4, *shape)


@pytest.mark.parametrize("shape", [(13, 17, 9), (16, 16, 16)])
def test_3d_output_shape_and_gradient(shape):
    net = UNet(2, 3, spatial_dims=3, base_channels=4, depth=2)
    x = torch.randn(2, 2, *shape, requires_grad=True)
    out = net(x)
    assert out.shape == (2, 3, *shape)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="spatial_dims"):
        UNet(1, 2, spatial_dims=4)
    with pytest.raises(ValueError, match="norm"):
        UNet(1, 2, norm="layer")
    with pytest.raises(ValueError, match="depth"):
        UNet(1, 2, depth=0)
    with pytest.raises(ValueError, match="dropout"):
        UNet(1, 2, dropout=1.5)
    with pytest.raises(ValueError, match=r"C=1, got \(2, 3, 8, 8\)"):
        UNet(1, 2, base_channels=4, depth=1)(torch.randn(2, 3, 8, 8))


@pytest.mark.parametrize(
    ("dims", "shape", "depth"), [(2, (37, 50), 4), (3, (12, 17, 9), 3), (2, (16, 16), 2)]
)
def test_deep_supervision_outputs_in_training_only(dims, shape, depth):
    torch.manual_seed(0)
    net = UNet(1, 3, spatial_dims=dims, base_channels=4, depth=depth, deep_supervision=True)
    x = torch.randn(2, 1, *shape)
    outputs = net(x)
    assert isinstance(outputs, list) and len(outputs) == depth
    for level, out in enumerate(outputs):
        expected = tuple(-(-s // 2**level) for s in shape)  # ceil(s / 2**level)
        assert out.shape == (2, 3, *expected)
    # what the data pipeline computes deep-supervision targets for
    assert supervision_shapes(shape, depth) == [tuple(out.shape[2:]) for out in outputs]
    sum(o.sum() for o in outputs).backward()
    assert all(p.grad is not None for p in net.parameters())
    # Eval mode: the plain network's output, from the same weights.
    plain = UNet(1, 3, spatial_dims=dims, base_channels=4, depth=depth)
    missing = plain.load_state_dict(net.state_dict(), strict=False)
    assert not missing.missing_keys
    assert all(k.startswith("supervision_heads.") for k in missing.unexpected_keys)
    net.eval(), plain.eval()
    with torch.no_grad():
        assert torch.equal(net(x), plain(x))
    assert n_params(net) - n_params(plain) == sum(4 * 2**level * 3 + 3 for level in range(1, depth))
