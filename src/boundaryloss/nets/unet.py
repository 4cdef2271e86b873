"""UNet (Ronneberger et al., MICCAI 2015), 2D and 3D."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._layers import (
    check_input,
    check_spatial_dims,
    conv,
    conv_transpose,
    crop_to,
    dropout,
    max_pool,
    norm_layer,
    pad_to_multiple,
)


def supervision_shapes(shape: Sequence[int], depth: int) -> list[tuple[int, ...]]:
    """Spatial shapes of a deeply supervised :class:`UNet`'s outputs for an input of
    ``shape``: ``ceil(shape / 2**i)`` per axis for ``i = 0 .. depth - 1``, full resolution
    first (the part of each decoder level that covers the input).

    Example:
        >>> supervision_shapes((32, 47, 31), 3)
        [(32, 47, 31), (16, 24, 16), (8, 12, 8)]
    """
    return [tuple(-(-int(size) // 2**level) for size in shape) for level in range(depth)]


def unet_widths(base_channels: int, depth: int, max_channels: int | None = None) -> list[int]:
    """Channels of a :class:`UNet`'s levels, first level to bottleneck (``depth + 1``
    values): ``min(base_channels * 2**level, max_channels)``; decoder level ``i`` has the
    width of encoder level ``i``.

    Raises:
        ValueError: ``max_channels`` is neither None nor an int >= ``base_channels``.

    Example:
        >>> unet_widths(32, 5, max_channels=320)
        [32, 64, 128, 256, 320, 320]
    """
    widths = [base_channels * 2**level for level in range(depth + 1)]
    if max_channels is None:
        return widths
    if (
        not isinstance(max_channels, int)
        or isinstance(max_channels, bool)
        or max_channels < base_channels
    ):
        raise ValueError(
            f"max_channels must be None or an int >= base_channels ({base_channels}), "
            f"got {max_channels!r}"
        )
    return [min(width, max_channels) for width in widths]


class DoubleConv(nn.Sequential):
    """(conv 3 -> norm -> ReLU) x 2, same padding."""

    def __init__(self, spatial_dims: int, cin: int, cout: int, norm: str, p_drop: float) -> None:
        conv_cls = conv(spatial_dims)
        bias = norm == "none"  # a bias before a normalisation layer is redundant
        layers: list[nn.Module] = [
            conv_cls(cin, cout, 3, padding=1, bias=bias),
            norm_layer(norm, spatial_dims, cout),
            nn.ReLU(inplace=True),
            conv_cls(cout, cout, 3, padding=1, bias=bias),
            norm_layer(norm, spatial_dims, cout),
            nn.ReLU(inplace=True),
        ]
        if p_drop > 0:
            layers.append(dropout(spatial_dims)(p_drop))
        super().__init__(*layers)


class UNet(nn.Module):
    """UNet with ``depth`` down-sampling steps; logits out.

    Ronneberger, Fischer, Brox, "U-Net: Convolutional networks for biomedical image
    segmentation", MICCAI 2015. Same-padded 3x3 convolutions, max pooling, transposed
    convolutions for up-sampling, skip connections by concatenation, a final 1x1
    convolution to ``num_classes`` logits.

    Inputs of any size are accepted: they are zero-padded to a multiple of ``2**depth``
    and the output is cropped back, so the output always has the input's spatial shape.

    With ``deep_supervision`` (nnU-Net), each decoder level below full resolution gets
    its own 1x1 convolution head, and in training mode ``forward`` returns a list of
    logits, full resolution first, then ``1/2``, ``1/4``, ... ``1/2**(depth-1)`` (each
    cropped to ``ceil(size / 2**level)`` per axis, the part covering the input:
    :func:`supervision_shapes`); in
    eval mode it returns only the full-resolution logits, so inference is unchanged.
    Train with :class:`~boundaryloss.losses.DeepSupervisionLoss`.

    Parameter counts (``in_channels=1, num_classes=2``): ``base_channels=64, depth=4``
    2D with batch norm is the paper's 31.0 M network; ``base_channels=16, depth=4``
    2D is 1.9 M; 3D ``base_channels=16, depth=3`` is 1.4 M (see
    ``tests/nets/test_unet.py``).

    ``max_channels`` caps every hidden width, as nnU-Net does (320 channels in 3D, 512
    in 2D): level ``i`` (the bottleneck is level ``depth``) has
    ``min(base_channels * 2**i, max_channels)`` channels in the encoder and the decoder
    alike (:func:`unet_widths`). Without a cap (None, the default) the network, its
    parameter names and shapes are those of earlier versions, so checkpoints still load.
    E.g. ``base_channels=32, depth=5`` gives a 1024-channel bottleneck, with
    ``max_channels=320`` 320 (widths 32, 64, 128, 256, 320, 320).

    Args:
        in_channels: image channels (modalities).
        num_classes: output channels (logits, one per class).
        spatial_dims: 2 or 3.
        base_channels: channels of the first level; doubled at each level.
        depth: number of down-sampling steps.
        max_channels: the most channels of any level, an int >= ``base_channels``;
            None for no cap.
        norm: ``"batch"``, ``"instance"``, ``"group"`` or ``"none"``.
        dropout: channel dropout after the bottleneck block.
        deep_supervision: add the lower-resolution outputs in training mode.

    Shapes:
        input ``(B, in_channels, *spatial)`` -> output ``(B, num_classes, *spatial)``;
        with ``deep_supervision`` in training mode a list of ``depth`` tensors
        ``(B, num_classes, *ceil(spatial / 2**i))``, ``i = 0 .. depth - 1``.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        spatial_dims: int = 2,
        base_channels: int = 32,
        depth: int = 4,
        norm: str = "batch",
        dropout: float = 0.0,
        deep_supervision: bool = False,
        max_channels: int | None = None,
    ) -> None:
        super().__init__()
        check_spatial_dims(spatial_dims)
        for name, value in (
            ("in_channels", in_channels),
            ("num_classes", num_classes),
            ("base_channels", base_channels),
            ("depth", depth),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.spatial_dims = spatial_dims
        self.depth = depth

        widths = unet_widths(base_channels, depth, max_channels)
        self.encoders = nn.ModuleList()
        cin = in_channels
        for width in widths[:-1]:
            self.encoders.append(DoubleConv(spatial_dims, cin, width, norm, 0.0))
            cin = width
        self.pool = max_pool(spatial_dims)(2)
        self.bottleneck = DoubleConv(spatial_dims, widths[-2], widths[-1], norm, dropout)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in reversed(range(depth)):
            self.ups.append(conv_transpose(spatial_dims)(widths[level + 1], widths[level], 2, 2))
            self.decoders.append(
                DoubleConv(spatial_dims, 2 * widths[level], widths[level], norm, 0.0)
            )
        self.head = conv(spatial_dims)(widths[0], num_classes, 1)
        self.deep_supervision = bool(deep_supervision)
        if self.deep_supervision:
            # one head per decoder level except full resolution, coarsest first (the
            # decoders' order)
            self.supervision_heads = nn.ModuleList(
                conv(spatial_dims)(widths[level], num_classes, 1)
                for level in reversed(range(1, depth))
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        check_input(x, self.in_channels, self.spatial_dims, type(self).__name__)
        x, shape = pad_to_multiple(x, 2**self.depth)
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        supervise = self.deep_supervision and self.training
        scaled = supervision_shapes(shape, self.depth)
        lower: list[torch.Tensor] = []
        for i, (up, decoder, skip) in enumerate(
            zip(self.ups, self.decoders, reversed(skips), strict=True)
        ):
            x = decoder(torch.cat([up(x), skip], dim=1))
            level = self.depth - 1 - i
            if supervise and level > 0:
                lower.append(crop_to(self.supervision_heads[i](x), scaled[level]))
        full = crop_to(self.head(x), shape)
        if supervise:
            return [full, *reversed(lower)]
        return full
