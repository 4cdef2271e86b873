"""ENet (Paszke et al., 2016), 2D: the network of the ACDC reproduction."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._layers import check_input, crop_to, pad_to_multiple


def _bn_act(channels: int, relu: bool) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels), nn.ReLU(inplace=True) if relu else nn.PReLU(channels)]


class InitialBlock(nn.Module):
    """3x3 stride-2 convolution concatenated with a max-pooled copy of the input (16 ch)."""

    def __init__(self, in_channels: int, out_channels: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels - in_channels, 3, 2, 1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.post = nn.Sequential(*_bn_act(out_channels, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(torch.cat([self.conv(x), self.pool(x)], dim=1))


class Bottleneck(nn.Module):
    """Regular, dilated or asymmetric residual bottleneck (internal ratio 4)."""

    def __init__(
        self,
        channels: int,
        dilation: int = 1,
        asymmetric: bool = False,
        p_drop: float = 0.1,
        relu: bool = False,
    ) -> None:
        super().__init__()
        inner = channels // 4
        if asymmetric:
            middle: list[nn.Module] = [
                nn.Conv2d(inner, inner, (5, 1), padding=(2, 0), bias=False),
                nn.Conv2d(inner, inner, (1, 5), padding=(0, 2), bias=False),
            ]
        else:
            middle = [nn.Conv2d(inner, inner, 3, padding=dilation, dilation=dilation, bias=False)]
        self.branch = nn.Sequential(
            nn.Conv2d(channels, inner, 1, bias=False),
            *_bn_act(inner, relu),
            *middle,
            *_bn_act(inner, relu),
            nn.Conv2d(inner, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.Dropout2d(p_drop),
        )
        self.act = nn.ReLU(inplace=True) if relu else nn.PReLU(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.branch(x))


class DownsamplingBottleneck(nn.Module):
    """Halves the resolution: max-pool (indices kept for the decoder) + 2x2 stride-2 branch."""

    def __init__(self, in_channels: int, out_channels: int, p_drop: float) -> None:
        super().__init__()
        inner = in_channels // 4
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.extra_channels = out_channels - in_channels
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, inner, 2, 2, bias=False),
            *_bn_act(inner, relu=False),
            nn.Conv2d(inner, inner, 3, padding=1, bias=False),
            *_bn_act(inner, relu=False),
            nn.Conv2d(inner, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.Dropout2d(p_drop),
        )
        self.act = nn.PReLU(out_channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        main, indices = self.pool(x)
        main = F.pad(main, (0, 0, 0, 0, 0, self.extra_channels))  # zero channels appended
        return self.act(main + self.branch(x)), indices


class UpsamplingBottleneck(nn.Module):
    """Doubles the resolution: 1x1 conv + max-unpool with the encoder's indices."""

    def __init__(self, in_channels: int, out_channels: int, p_drop: float) -> None:
        super().__init__()
        inner = in_channels // 4
        self.main = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
        )
        self.unpool = nn.MaxUnpool2d(2)
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, inner, 1, bias=False),
            *_bn_act(inner, relu=True),
            nn.ConvTranspose2d(inner, inner, 2, 2, bias=False),
            *_bn_act(inner, relu=True),
            nn.Conv2d(inner, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.Dropout2d(p_drop),
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        main = self.unpool(self.main(x), indices)
        return self.act(main + self.branch(x))


def _stage(channels: int, p_drop: float) -> nn.Sequential:
    """Stages 2 and 3: regular, dilated 2, asymmetric 5, dilated 4, regular, dilated 8,
    asymmetric 5, dilated 16."""
    return nn.Sequential(
        Bottleneck(channels, p_drop=p_drop),
        Bottleneck(channels, dilation=2, p_drop=p_drop),
        Bottleneck(channels, asymmetric=True, p_drop=p_drop),
        Bottleneck(channels, dilation=4, p_drop=p_drop),
        Bottleneck(channels, p_drop=p_drop),
        Bottleneck(channels, dilation=8, p_drop=p_drop),
        Bottleneck(channels, asymmetric=True, p_drop=p_drop),
        Bottleneck(channels, dilation=16, p_drop=p_drop),
    )


class ENet(nn.Module):
    """ENet, a light 2D encoder-decoder; logits out.

    Paszke, Chaurasia, Kim, Culurciello, "ENet: A deep neural network architecture for
    real-time semantic segmentation", arXiv:1606.02147, 2016. Stages as in the paper's
    table 1: initial block (16 ch), stage 1 (down to 64 ch, 4 bottlenecks, dropout 0.01),
    stages 2-3 (128 ch, dilated and asymmetric bottlenecks, dropout 0.1), stages 4-5
    (max-unpooling decoder to 64 and 16 ch, ReLU), and a 2x2 transposed convolution to
    ``num_classes``. About 0.35 M parameters (0.37 M in the paper for 12 classes and RGB).

    Inputs of any size are accepted (zero-padded to a multiple of 8, output cropped back).

    Args:
        in_channels: image channels, fewer than 16.
        num_classes: output channels (logits).

    Shapes:
        input ``(B, in_channels, H, W)`` -> output ``(B, num_classes, H, W)``.
    """

    spatial_dims = 2

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        if not isinstance(in_channels, int) or not 1 <= in_channels < 16:
            raise ValueError(f"in_channels must be an int in [1, 16) for ENet, got {in_channels!r}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.initial = InitialBlock(in_channels)
        self.down1 = DownsamplingBottleneck(16, 64, p_drop=0.01)
        self.stage1 = nn.Sequential(*(Bottleneck(64, p_drop=0.01) for _ in range(4)))
        self.down2 = DownsamplingBottleneck(64, 128, p_drop=0.1)
        self.stage2 = _stage(128, 0.1)
        self.stage3 = _stage(128, 0.1)
        self.up4 = UpsamplingBottleneck(128, 64, p_drop=0.1)
        self.stage4 = nn.Sequential(
            Bottleneck(64, p_drop=0.1, relu=True), Bottleneck(64, p_drop=0.1, relu=True)
        )
        self.up5 = UpsamplingBottleneck(64, 16, p_drop=0.1)
        self.stage5 = Bottleneck(16, p_drop=0.1, relu=True)
        self.head = nn.ConvTranspose2d(16, num_classes, 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_channels, 2, type(self).__name__)
        x, shape = pad_to_multiple(x, 8)
        x = self.initial(x)
        x, indices1 = self.down1(x)
        x = self.stage1(x)
        x, indices2 = self.down2(x)
        x = self.stage3(self.stage2(x))
        x = self.stage4(self.up4(x, indices2))
        x = self.stage5(self.up5(x, indices1))
        return crop_to(self.head(x), shape)
