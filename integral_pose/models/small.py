"""A small, fast backbone for CPU work: demos, tests and minutes-long training runs.

Layout (``c = (32, 64, 160)`` by default, strides relative to the input):

- ``stem``: 3x3 convolution of stride 2 (3 -> 16), then a depthwise-separable convolution of stride 2
  (16 -> c0): stride 4;
- ``stage1``: two residual blocks at stride 4 (c0 channels);
- ``down2``, ``stage2``: stride 8, c1 channels, three residual blocks;
- ``down3``, ``stage3``: stride 16, c2 channels, four residual blocks (the context of a whole person);
- ``lateral3``/``fuse2`` and ``lateral2``/``fuse1``: a top-down path (1x1 projection, nearest upsampling,
  add, 3x3 smoothing) back to stride 4, returning c0 channels.

Every residual block is a depthwise 3x3 convolution (BatchNorm, ReLU) followed by a pointwise 1x1 (BatchNorm)
with an identity shortcut, twice: cheap on CPU and wide enough in receptive field. Input H and W must be
multiples of 4; the top-down path resizes to the shapes of the finer maps, so other multiples work too.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from integral_pose.models.resnet import init_backbone

__all__ = ["SmallNet", "small"]


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                  groups: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, groups=groups,
                  bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _separable(in_channels: int, out_channels: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """Depthwise 3x3 (BN, ReLU) then pointwise 1x1 (BN[, ReLU])."""
    return nn.Sequential(
        _conv_bn_relu(in_channels, in_channels, 3, stride, groups=in_channels),
        _conv_bn_relu(in_channels, out_channels, 1, relu=relu),
    )


class SeparableBlock(nn.Module):
    """``relu(x + f(x))`` with ``f`` two depthwise-separable convolutions."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = _separable(channels, channels)
        self.conv2 = _separable(channels, channels, relu=False)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(x + self.conv2(self.conv1(x)))


class SmallNet(nn.Module):
    """Small multi-scale backbone: ``(B, 3, H, W) -> (B, channels[0], H / 4, W / 4)``.

    Args:
        channels: widths at stride 4, 8 and 16.
        blocks: residual blocks at stride 4, 8 and 16.

    Attributes:
        out_channels: ``channels[0]``.
        stride: 4.
        input_multiple: 4.
    """

    stride = 4
    input_multiple = 4

    def __init__(self, channels: tuple[int, int, int] = (32, 64, 160), blocks: tuple[int, int, int] = (2, 3, 4)):
        super().__init__()
        c0, c1, c2 = channels
        self.channels, self.blocks = tuple(channels), tuple(blocks)
        self.stem = nn.Sequential(_conv_bn_relu(3, 16, 3, 2), _separable(16, c0, stride=2))
        self.stage1 = nn.Sequential(*(SeparableBlock(c0) for _ in range(blocks[0])))
        self.down2 = _separable(c0, c1, stride=2)
        self.stage2 = nn.Sequential(*(SeparableBlock(c1) for _ in range(blocks[1])))
        self.down3 = _separable(c1, c2, stride=2)
        self.stage3 = nn.Sequential(*(SeparableBlock(c2) for _ in range(blocks[2])))
        self.lateral3 = _conv_bn_relu(c2, c1, 1, relu=False)
        self.fuse2 = _separable(c1, c1)
        self.lateral2 = _conv_bn_relu(c1, c0, 1, relu=False)
        self.fuse1 = _separable(c0, c0)
        self.out_channels = c0
        init_backbone(self)

    def forward(self, x: Tensor) -> Tensor:
        x4 = self.stage1(self.stem(x))
        x8 = self.stage2(self.down2(x4))
        x16 = self.stage3(self.down3(x8))
        y8 = self.fuse2(x8 + F.interpolate(self.lateral3(x16), size=x8.shape[-2:], mode="nearest"))
        return self.fuse1(x4 + F.interpolate(self.lateral2(y8), size=x4.shape[-2:], mode="nearest"))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, blocks={self.blocks}, stride={self.stride}"


def small() -> SmallNet:
    """The default small backbone: widths (32, 64, 160), blocks (2, 3, 4), 32 output channels at stride 4."""
    return SmallNet()
