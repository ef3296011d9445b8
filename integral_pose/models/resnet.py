"""ResNet-18/34/50/101 feature extractors with torchvision's parameter names.

The modules and their attribute names follow ``torchvision.models.resnet`` (``conv1``, ``bn1``, ``layer1`` ..
``layer4``; blocks with ``conv1``/``bn1``/``conv2``/``bn2``[/``conv3``/``bn3``] and ``downsample.0``/
``downsample.1``), so an ImageNet checkpoint loads strictly once its ``fc.*`` entries are dropped (see
:func:`integral_pose.models.weights.remap_torchvision_resnet`). There is no ``avgpool`` or ``fc``: ``forward``
returns the ``layer4`` map, stride 32 (ResNet v1.5: the stride of a bottleneck sits on its 3x3 convolution).
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101"]


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def _conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or ``downsample``) shortcut."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(in_channels, channels, stride)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = _conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand by 4, with an identity (or ``downsample``) shortcut."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv1x1(in_channels, channels)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = _conv3x3(channels, channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = _conv1x1(channels, channels * self.expansion)
        self.bn3 = nn.BatchNorm2d(channels * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + shortcut)


def make_layer(block: type[BasicBlock | Bottleneck], in_channels: int, channels: int, blocks: int,
               stride: int = 1) -> nn.Sequential:
    """``blocks`` residual blocks; the first one changes stride and width through a ``downsample`` shortcut.

    Shared with :mod:`integral_pose.models.hrnet`, whose ``layer1`` is built the same way.
    """
    out_channels = channels * block.expansion
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(_conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))
    layers = [block(in_channels, channels, stride, downsample)]
    layers += [block(out_channels, channels) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def init_backbone(module: nn.Module) -> None:
    """He initialisation (fan out, ReLU) for convolutions, BatchNorm at weight 1 and bias 0 (as torchvision)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class ResNet(nn.Module):
    """ResNet trunk without pooling or classifier: ``(B, 3, H, W) -> (B, out_channels, H / 32, W / 32)``.

    Attributes:
        out_channels: channels of the returned map (512 for BasicBlock nets, 2048 for Bottleneck nets).
        stride: 32, the input-to-output stride on both axes.
        input_multiple: 32; H and W must be multiples of it for the heads to give exactly H / 4, W / 4.
    """

    stride = 32
    input_multiple = 32

    def __init__(self, block: type[BasicBlock | Bottleneck], layers: tuple[int, int, int, int]):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        widths = (64, 128, 256, 512)
        in_channels = 64
        for i, (channels, blocks) in enumerate(zip(widths, layers, strict=True)):
            layer = make_layer(block, in_channels, channels, blocks, stride=1 if i == 0 else 2)
            self.add_module(f"layer{i + 1}", layer)
            in_channels = channels * block.expansion
        self.out_channels = in_channels
        self.depths = tuple(layers)
        init_backbone(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)

    def extra_repr(self) -> str:
        return f"depths={self.depths}, out_channels={self.out_channels}, stride={self.stride}"


def resnet18() -> ResNet:
    """ResNet-18 trunk: BasicBlock x (2, 2, 2, 2), 512 output channels at stride 32."""
    return ResNet(BasicBlock, (2, 2, 2, 2))


def resnet34() -> ResNet:
    """ResNet-34 trunk: BasicBlock x (3, 4, 6, 3), 512 output channels at stride 32."""
    return ResNet(BasicBlock, (3, 4, 6, 3))


def resnet50() -> ResNet:
    """ResNet-50 trunk: Bottleneck x (3, 4, 6, 3), 2048 output channels at stride 32."""
    return ResNet(Bottleneck, (3, 4, 6, 3))


def resnet101() -> ResNet:
    """ResNet-101 trunk: Bottleneck x (3, 4, 23, 3), 2048 output channels at stride 32."""
    return ResNet(Bottleneck, (3, 4, 23, 3))
