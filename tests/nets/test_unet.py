"""UNet: shapes for odd sizes, parameter counts from the architecture written out."""

from __future__ import annotations

import pytest
import torch

from boundaryloss.nets import UNet, supervision_shapes, unet_widths


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def expected_unet_params(cin, classes, base, depth, dims, norm_params_per_channel, cap=None):
    """Count by hand: k^d*cin*cout weights per conv (+cout bias without norm)."""
    k3, k2 = 3**dims, 2**dims
    bias = norm_params_per_channel == 0

    def double(a, b):
        convs = k3 * a * b + k3 * b * b + (2 * b if bias else 0)
        return convs + 2 * b * norm_params_per_channel

    widths = [base * 2**i if cap is None else min(base * 2**i, cap) for i in range(depth + 1)]
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


# --- max_channels: nnU-Net's cap on the widths (320 in 3D, 512 in 2D) ---


def level_widths(net: UNet) -> dict[str, list[int]]:
    """The widths read off the built layers: encoder levels then bottleneck; per decoder
    level (coarsest first) the transposed conv's in/out and the decoder block's in/out."""
    return {
        "encoder": [block[0].out_channels for block in net.encoders]
        + [net.bottleneck[0].out_channels],
        "up": [(up.in_channels, up.out_channels) for up in net.ups],
        "decoder": [(block[0].in_channels, block[3].out_channels) for block in net.decoders],
    }


@pytest.mark.parametrize(
    ("dims", "base", "depth", "cap", "encoder"),
    [
        (3, 32, 5, 320, [32, 64, 128, 256, 320, 320]),  # nnU-Net 3D
        (2, 32, 5, 512, [32, 64, 128, 256, 512, 512]),  # nnU-Net 2D
        (2, 32, 6, 512, [32, 64, 128, 256, 512, 512, 512]),
        (3, 32, 5, None, [32, 64, 128, 256, 512, 1024]),
        (2, 32, 5, 1024, [32, 64, 128, 256, 512, 1024]),  # cap at the widest: no change
        (3, 16, 3, 24, [16, 24, 24, 24]),  # a cap that is not a power of two times base
        (2, 16, 3, 16, [16, 16, 16, 16]),  # cap == base: every level equal
    ],
)
def test_widths_per_level(dims, base, depth, cap, encoder):
    assert unet_widths(base, depth, cap) == encoder
    with torch.device("meta"):  # shapes only: the uncapped 3D network has 90 M parameters
        net = UNet(1, 2, dims, base_channels=base, depth=depth, max_channels=cap)
    widths = level_widths(net)
    assert widths["encoder"] == encoder
    # decoder level i takes the level below's width up to its own and then convolves its
    # skip (encoder width) concatenated with that
    coarse_first = list(reversed(range(depth)))
    assert widths["up"] == [(encoder[i + 1], encoder[i]) for i in coarse_first]
    assert widths["decoder"] == [(2 * encoder[i], encoder[i]) for i in coarse_first]
    assert net.head.in_channels == base


def test_capped_parameter_count_by_hand():
    # 2D, 1 -> 2 classes, base 2, depth 2, cap 3, no norm: widths 2, 3, 3. Per 3x3 conv
    # 9 * cin * cout weights + cout biases; transposed 2x2: 4 * cin * cout + cout.
    encoder0 = (9 * 1 * 2 + 2) + (9 * 2 * 2 + 2)  # 58
    encoder1 = (9 * 2 * 3 + 3) + (9 * 3 * 3 + 3)  # 141
    bottleneck = 2 * (9 * 3 * 3 + 3)  # 168
    level1 = (4 * 3 * 3 + 3) + (9 * 6 * 3 + 3) + (9 * 3 * 3 + 3)  # 39 + 249
    level0 = (4 * 3 * 2 + 2) + (9 * 4 * 2 + 2) + (9 * 2 * 2 + 2)  # 26 + 112
    head = 2 * 2 + 2
    expected = encoder0 + encoder1 + bottleneck + level1 + level0 + head
    assert expected == 799
    net = UNet(1, 2, 2, base_channels=2, depth=2, norm="none", max_channels=3)
    assert n_params(net) == expected


@pytest.mark.parametrize(
    ("base", "depth", "dims", "norm", "per_channel", "cap"),
    [(4, 4, 2, "batch", 2, 16), (4, 3, 3, "none", 0, 12), (8, 4, 2, "instance", 2, 8)],
)
def test_capped_parameter_count(base, depth, dims, norm, per_channel, cap):
    net = UNet(1, 2, dims, base_channels=base, depth=depth, norm=norm, max_channels=cap)
    assert n_params(net) == expected_unet_params(1, 2, base, depth, dims, per_channel, cap)
    assert n_params(net) < n_params(UNet(1, 2, dims, base_channels=base, depth=depth, norm=norm))


@pytest.mark.parametrize(("dims", "shape", "depth"), [(2, (37, 50), 4), (3, (12, 17, 9), 3)])
def test_capped_deep_supervision_forward_and_backward(dims, shape, depth):
    torch.manual_seed(0)
    kwargs = dict(spatial_dims=dims, base_channels=4, depth=depth, max_channels=8)
    net = UNet(2, 3, **kwargs, deep_supervision=True)
    # heads coarsest first, on the capped decoder widths (levels depth-1 .. 1)
    assert [head.in_channels for head in net.supervision_heads] == [
        min(4 * 2**level, 8) for level in reversed(range(1, depth))
    ]
    x = torch.randn(2, 2, *shape, requires_grad=True)
    outputs = net(x)
    assert [tuple(out.shape) for out in outputs] == [
        (2, 3, *s) for s in supervision_shapes(shape, depth)
    ]
    sum(out.square().mean() for out in outputs).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    net.eval()
    with torch.no_grad():
        assert net(x).shape == (2, 3, *shape)


@pytest.mark.parametrize("deep_supervision", [False, True])
@pytest.mark.parametrize(("dims", "depth"), [(2, 4), (3, 3)])
def test_no_cap_is_the_network_without_the_argument(dims, depth, deep_supervision):
    kwargs = dict(spatial_dims=dims, base_channels=4, depth=depth)
    kwargs["deep_supervision"] = deep_supervision
    before = UNet(1, 3, **kwargs).state_dict()  # what existing checkpoints hold
    after = UNet(1, 3, **kwargs, max_channels=None)
    assert {k: v.shape for k, v in after.state_dict().items()} == {
        k: v.shape for k, v in before.items()
    }
    after.load_state_dict(before)  # strict: an existing checkpoint loads unchanged
    # a cap below the widest level keeps the names but changes shapes
    capped = UNet(1, 3, **kwargs, max_channels=8).state_dict()
    assert list(capped) == list(before)
    assert any(capped[k].shape != before[k].shape for k in before)


@pytest.mark.parametrize("value", [0, -320, 3, 2.5, 320.0, "320", True])
def test_bad_max_channels_is_refused(value):
    with pytest.raises(ValueError, match=r"max_channels") as error:
        UNet(1, 2, base_channels=4, max_channels=value)
    message = str(error.value)
    assert "\n" not in message and repr(value) in message and "base_channels (4)" in message
