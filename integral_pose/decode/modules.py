"""``nn.Module`` wrappers of the decoders, for use inside models and losses. Each ``forward`` is one call."""

from __future__ import annotations

from torch import Tensor, nn

from integral_pose.decode.argmax import argmax
from integral_pose.decode.soft_argmax import soft_argmax


class SoftArgmax(nn.Module):
    """Module form of :func:`integral_pose.soft_argmax` with fixed options.

    Example:
        >>> decode = SoftArgmax(beta=2.0, debias=True)
        >>> decode
        SoftArgmax(beta=2.0, debias=True, window=None, ndim=2)
    """

    def __init__(self, *, beta: float = 1.0, debias: bool = False, window: int | None = None, ndim: int = 2):
        super().__init__()
        self.beta, self.debias, self.window, self.ndim = beta, debias, window, ndim

    def forward(self, heatmaps: Tensor) -> Tensor:
        """``(..., H, W) -> (..., 2)`` (or ``(..., D, H, W) -> (..., 3)``) in heatmap pixels."""
        return soft_argmax(heatmaps, beta=self.beta, debias=self.debias, window=self.window, ndim=self.ndim)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, debias={self.debias}, window={self.window}, ndim={self.ndim}"


class Argmax(nn.Module):
    """Module form of :func:`integral_pose.argmax`; ``forward`` returns ``(coords, scores)``."""

    def __init__(self, refine: str | None = None, ndim: int = 2, *, blur_sigma: float = 2.0):
        super().__init__()
        self.refine, self.ndim, self.blur_sigma = refine, ndim, blur_sigma

    def forward(self, heatmaps: Tensor) -> tuple[Tensor, Tensor]:
        """``(..., H, W) -> ((..., 2), (...))``: heatmap pixels and peak values."""
        return argmax(heatmaps, self.refine, self.ndim, blur_sigma=self.blur_sigma)

    def extra_repr(self) -> str:
        return f"refine={self.refine!r}, ndim={self.ndim}, blur_sigma={self.blur_sigma}"
