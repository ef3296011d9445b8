"""HRNet-W32/W48 with the parameter names of the official pose implementation.

The layout and the module names follow ``lib/models/pose_hrnet.py`` of the official HRNet pose repository
(leoxiaobin/deep-high-resolution-net.pytorch) and its COCO configurations (``w32_256x192``, ``w48_256x192``):

- stem: ``conv1``/``bn1``, ``conv2``/``bn2`` (two 3x3 convolutions of stride 2, 64 channels), then ``layer1``
  (four Bottlenecks, 256 channels), all at stride 4;
- ``transition1``/``2``/``3``: per branch, a 3x3 convolution where the width changes (``.0``/``.1`` inside a
  Sequential), an identity (no parameters) where it does not, and for a new branch a Sequential of stride-2
  3x3 convolutions from the lowest-resolution existing branch;
- ``stage2``/``3``/``4``: 1, 4 and 3 :class:`HighResolutionModule` with 2, 3 and 4 branches of widths
  ``(W, 2W, 4W, 8W)``, four BasicBlocks per branch, and ``fuse_layers[i][j]`` bringing branch j to the
  resolution of branch i (1x1 convolution + nearest upsampling from a lower resolution, a chain of stride-2
  3x3 convolutions from a higher one). The last module of ``stage4`` fuses into the highest-resolution
  branch only, as in the pose network (the ImageNet classification network fuses into all four).

``forward`` returns the highest-resolution branch: ``(B, W, H / 4, W_in / 4)``. Input H and W must be
multiples of 32 so that the four resolutions align.
"""

from __future__ import annotations

from torch import Tensor, nn

from integral_pose.models.resnet import BasicBlock, Bottleneck, init_backbone, make_layer

__all__ = ["HRNet", "HighResolutionModule", "hrnet_w32", "hrnet_w48"]


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int, relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _fuse_layer(channels: tuple[int, ...], i: int, j: int) -> nn.Module:
    """Bring branch ``j`` to the resolution and width of branch ``i``."""
    if j == i:
        return nn.Identity()
    if j > i:
        up = _conv_bn(channels[j], channels[i], 1, 1, relu=False)
        up.append(nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"))
        return up
    steps = i - j
    return nn.Sequential(*(
        _conv_bn(channels[j], channels[i] if k == steps - 1 else channels[j], 3, 2, relu=k < steps - 1)
        for k in range(steps)
    ))


class HighResolutionModule(nn.Module):
    """Parallel branches of BasicBlocks followed by an exchange between all resolutions.

    ``forward`` takes one map per branch, highest resolution first, and returns one fused map per output
    (``len(channels)`` outputs, or only the highest resolution with ``multi_scale_output=False``).
    """

    def __init__(self, channels: tuple[int, ...], blocks: int = 4, *, multi_scale_output: bool = True):
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList(make_layer(BasicBlock, c, c, blocks) for c in channels)
        outputs = n if multi_scale_output else 1
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(_fuse_layer(channels, i, j) for j in range(n)) for i in range(outputs)
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        out = []
        for row in self.fuse_layers:
            total = row[0](xs[0])
            for fuse, x in zip(row[1:], xs[1:], strict=True):
                total = total + fuse(x)
            out.append(self.relu(total))
        return out


def _transition(previous: tuple[int, ...], current: tuple[int, ...]) -> nn.ModuleList:
    """Adapt the outputs of one stage to the branches of the next (see the module docstring)."""
    layers: list[nn.Module] = []
    for i, c in enumerate(current):
        if i < len(previous):
            layers.append(nn.Identity() if c == previous[i] else _conv_bn(previous[i], c, 3, 1, relu=True))
        else:
            steps = i + 1 - len(previous)
            layers.append(nn.Sequential(*(
                _conv_bn(previous[-1], c if k == steps - 1 else previous[-1], 3, 2, relu=True) for k in range(steps)
            )))
    return nn.ModuleList(layers)


def _apply(transition: nn.ModuleList, xs: list[Tensor]) -> list[Tensor]:
    """Existing branches go through their own layer, new ones start from the lowest resolution."""
    return [layer(xs[min(i, len(xs) - 1)]) for i, layer in enumerate(transition)]


class HRNet(nn.Module):
    """HRNet trunk for pose: ``(B, 3, H, W) -> (B, width, H / 4, W / 4)``, the highest-resolution branch.

    Args:
        width: channels of the highest-resolution branch (32 or 48 for the published models); the other
            branches have 2, 4 and 8 times as many.

    Attributes:
        out_channels: ``width``.
        stride: 4.
        input_multiple: 32.
    """

    stride = 4
    input_multiple = 32

    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_layer(Bottleneck, 64, 64, 4)
        widths = tuple(width * 2**i for i in range(4))
        self.transition1 = _transition((64 * Bottleneck.expansion,), widths[:2])
        self.stage2 = nn.Sequential(HighResolutionModule(widths[:2]))
        self.transition2 = _transition(widths[:2], widths[:3])
        self.stage3 = nn.Sequential(*(HighResolutionModule(widths[:3]) for _ in range(4)))
        self.transition3 = _transition(widths[:3], widths)
        self.stage4 = nn.Sequential(*(HighResolutionModule(widths, multi_scale_output=i < 2) for i in range(3)))
        self.out_channels = width
        init_backbone(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        xs = [self.layer1(x)]
        xs = self.stage2(_apply(self.transition1, xs))
        xs = self.stage3(_apply(self.transition2, xs))
        xs = self.stage4(_apply(self.transition3, xs))
        return xs[0]

    def extra_repr(self) -> str:
        return f"width={self.width}, stride={self.stride}"


def hrnet_w32() -> HRNet:
    """HRNet-W32 trunk: 32 output channels at stride 4."""
    return HRNet(32)


def hrnet_w48() -> HRNet:
    """HRNet-W48 trunk: 48 output channels at stride 4."""
    return HRNet(48)
