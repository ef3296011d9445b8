"""Heatmap heads: backbone features in, one logit map per keypoint out, ``(B, K, H, W)``.

Heads return logits and nothing else; targets, losses and decoding live elsewhere. The final 1x1 convolution
starts at N(0, init_std^2) weights and a constant bias ``init_bias``, as in SimpleBaseline and HRNet
(std 0.001, bias 0); both are plain arguments so that training configurations can set them.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ConvHead", "SimpleBaselineHead"]


def _final_layer(in_channels: int, num_keypoints: int, init_std: float, init_bias: float) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, num_keypoints, 1)
    nn.init.normal_(conv.weight, std=init_std)
    nn.init.constant_(conv.bias, init_bias)
    return conv


class ConvHead(nn.Module):
    """One 1x1 convolution to K maps (HRNet, small): ``(B, C, H, W) -> (B, K, H, W)``.

    State dict: ``final_layer.weight`` ``(K, C, 1, 1)``, ``final_layer.bias`` ``(K,)``, the names of the
    official HRNet pose network and of mmpose's ``HeatmapHead`` without deconvolutions.

    Example:
        >>> import torch
        >>> head = ConvHead(32, 17)
        >>> head(torch.zeros(2, 32, 64, 48)).shape
        torch.Size([2, 17, 64, 48])
    """

    def __init__(self, in_channels: int, num_keypoints: int, *, init_std: float = 0.001, init_bias: float = 0.0):
        super().__init__()
        self.final_layer = _final_layer(in_channels, num_keypoints, init_std, init_bias)

    def forward(self, features: Tensor) -> Tensor:
        return self.final_layer(features)


class SimpleBaselineHead(nn.Module):
    """SimpleBaseline head (Xiao et al. 2018): deconvolutions, then a 1x1 convolution to K maps.

    Each deconvolution is a 4x4 transposed convolution of stride 2 and padding 1 without bias, BatchNorm and
    ReLU, so ``num_deconv`` layers multiply H and W by ``2 ** num_deconv``: ``(B, C, H, W) ->
    (B, K, 8 H, 8 W)`` with the default three.

    State dict: ``deconv_layers.{0,3,6}.weight`` (transposed convolutions), ``deconv_layers.{1,4,7}.*``
    (BatchNorm), ``final_layer.*``: the names of the official SimpleBaseline network and of mmpose's
    ``HeatmapHead``. The deconvolutions start at N(0, 0.001^2) as in SimpleBaseline.

    Example:
        >>> import torch
        >>> head = SimpleBaselineHead(512, 17)
        >>> head(torch.zeros(2, 512, 8, 6)).shape
        torch.Size([2, 17, 64, 48])
    """

    def __init__(self, in_channels: int, num_keypoints: int, *, channels: int = 256, num_deconv: int = 3,
                 init_std: float = 0.001, init_bias: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(num_deconv):
            deconv = nn.ConvTranspose2d(in_channels if i == 0 else channels, channels, 4, stride=2, padding=1,
                                        bias=False)
            nn.init.normal_(deconv.weight, std=0.001)
            layers += [deconv, nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = _final_layer(channels if num_deconv else in_channels, num_keypoints, init_std, init_bias)
        self.num_deconv = num_deconv

    def forward(self, features: Tensor) -> Tensor:
        return self.final_layer(self.deconv_layers(features))

    def extra_repr(self) -> str:
        return f"num_deconv={self.num_deconv}"
