"""The pose network: normalisation, backbone, head. RGB images in, heatmap logits out.

See :mod:`integral_pose.coords` for how heatmap pixels map to input pixels (``stride`` 4).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from integral_pose._checks import shape_str
from integral_pose.models.heads import ConvHead, SimpleBaselineHead

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "PoseModel", "build_model"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class PoseModel(nn.Module):
    """Top-down heatmap network: ``(B, 3, H, W)`` RGB images with values 0..255 -> ``(B, K, H / 4, W / 4)``.

    The images are normalised inside, with the ImageNet mean and standard deviation times 255 kept as
    non-persistent buffers (absent from the state dict), so data pipelines hand over uint8 crops as they are.
    The state dict holds ``backbone.*`` and ``head.*`` only.

    Args:
        backbone: module with ``out_channels``, ``stride`` and ``input_multiple`` attributes.
        head: module mapping the backbone's features to K logit maps at ``stride`` 4.
        stride: input pixels per heatmap pixel, on both axes.

    Attributes:
        stride: as given (4 for every model :func:`build_model` returns).
        input_multiple: H and W of the input must be multiples of it (the backbone's).
        num_keypoints: K.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, *, stride: int = 4):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.stride = stride
        self.input_multiple = int(getattr(backbone, "input_multiple", stride))
        self.num_keypoints = int(head.final_layer.out_channels)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).mul(255).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).mul(255).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: Tensor) -> Tensor:
        """Heatmap logits of a batch of RGB images.

        Args:
            images: ``(B, 3, H, W)``, uint8 or floating point, values 0..255, RGB order; H and W multiples of
                ``input_multiple``.

        Returns:
            ``(B, K, H / stride, W / stride)`` float32 logits.

        Raises:
            TypeError: if ``images`` is not a tensor.
            ValueError: for a wrong rank, channel count, dtype, or an H or W that is not a multiple of
                ``input_multiple``.
        """
        self._check(images)
        x = (images.to(self.mean.dtype) - self.mean) / self.std
        return self.head(self.backbone(x)).float()

    def _check(self, images: Tensor) -> None:
        if not isinstance(images, Tensor):
            raise TypeError(f"images: expected a torch.Tensor, got {type(images).__name__}")
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images: expected shape (B, 3, H, W), got {shape_str(images.shape)}")
        if images.dtype != torch.uint8 and not images.is_floating_point():
            raise ValueError(f"images: expected uint8 or a floating-point dtype, got {images.dtype}")
        h, w = images.shape[-2:]
        m = self.input_multiple
        if h % m or w % m:
            raise ValueError(
                f"images: H and W must be multiples of {m} for this backbone, got shape {shape_str(images.shape)}"
            )

    def extra_repr(self) -> str:
        return f"stride={self.stride}, input_multiple={self.input_multiple}, num_keypoints={self.num_keypoints}"


def build_model(backbone: str, num_keypoints: int, *, init_std: float = 0.001, init_bias: float = 0.0) -> PoseModel:
    """A :class:`PoseModel` from a backbone name in :data:`integral_pose.models.BACKBONES`.

    Stride-4 backbones (HRNet, small) get a 1x1 :class:`ConvHead`; stride-32 backbones (ResNet) get the
    SimpleBaseline head with three deconvolutions of 256 channels. Every model has heatmap stride 4.

    Args:
        backbone: a key of ``BACKBONES``: ``"small"``, ``"resnet18"`` .. ``"resnet101"``, ``"hrnet_w32"``,
            ``"hrnet_w48"``.
        num_keypoints: K, the number of heatmaps.
        init_std: standard deviation of the final convolution's initial weights (>= 0).
        init_bias: initial bias of the final convolution, the logit every map starts at.

    Raises:
        ValueError: for an unknown backbone name (listing the choices) or an invalid number.

    Example:
        >>> import torch
        >>> model = build_model("small", num_keypoints=17)
        >>> model(torch.zeros(2, 3, 128, 96, dtype=torch.uint8)).shape
        torch.Size([2, 17, 32, 24])
    """
    from integral_pose.models import BACKBONES

    if backbone not in BACKBONES:
        raise ValueError(f"model.backbone: unknown name {backbone!r}; choose from {', '.join(sorted(BACKBONES))}")
    if isinstance(num_keypoints, bool) or not isinstance(num_keypoints, int) or num_keypoints < 1:
        raise ValueError(f"num_keypoints: expected an integer >= 1, got {num_keypoints!r}")
    if not _is_number(init_std) or init_std < 0:
        raise ValueError(f"init_std: expected a finite number >= 0, got {init_std!r}")
    if not _is_number(init_bias):
        raise ValueError(f"init_bias: expected a finite number, got {init_bias!r}")
    trunk = BACKBONES[backbone]()
    options = {"init_std": float(init_std), "init_bias": float(init_bias)}
    if trunk.stride == 4:
        head: nn.Module = ConvHead(trunk.out_channels, num_keypoints, **options)
    else:
        num_deconv = int(math.log2(trunk.stride // 4))
        head = SimpleBaselineHead(trunk.out_channels, num_keypoints, num_deconv=num_deconv, **options)
    return PoseModel(trunk, head, stride=4)


def _is_number(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
