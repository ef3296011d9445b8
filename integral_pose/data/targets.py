"""Training targets, as pure functions over tensors.

Coordinates are heatmap pixels with integer coordinates at pixel centres (see :mod:`integral_pose.coords`).
Gaussians are centred at the exact sub-pixel keypoint, never rounded to a whole pixel. A keypoint gets weight
1 when it is labelled (visibility > 0) and lies inside the crop, i.e. inside ``[-0.5, w - 0.5] x
[-0.5, h - 0.5]`` of the heatmap (the same region as the input crop); otherwise weight 0 and, for heatmaps, an
all-zero map.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from integral_pose._checks import check_positive

__all__ = ["gaussian_heatmaps", "keypoint_weights"]


def keypoint_weights(coords: Tensor, visibility: Tensor, heatmap_size: Sequence[int]) -> Tensor:
    """Per-keypoint weights: 1 for a labelled keypoint inside the crop, else 0.

    Args:
        coords: ``(..., K, 2)`` heatmap pixels ``(x, y)``.
        visibility: ``(..., K)`` COCO visibility (0, 1, 2).
        heatmap_size: ``(H, W)``.

    Returns:
        ``(..., K)`` in the dtype of ``coords``.

    Example:
        >>> keypoint_weights(torch.tensor([[3.0, 2.0], [47.6, 2.0], [3.0, 2.0]]), torch.tensor([2, 1, 0]), (64, 48))
        tensor([1., 0., 0.])
    """
    h, w = heatmap_size
    x, y = coords[..., 0], coords[..., 1]
    inside = (x >= -0.5) & (x <= w - 0.5) & (y >= -0.5) & (y <= h - 0.5)
    return ((visibility > 0) & inside).to(coords.dtype)


def gaussian_heatmaps(coords: Tensor, weights: Tensor, heatmap_size: Sequence[int], sigma: float) -> Tensor:
    """Unnormalised Gaussians, peak value 1 at the (sub-pixel) keypoint, zero maps where the weight is 0.

    ``H[k, i, j] = exp(-((j - x_k)^2 + (i - y_k)^2) / (2 sigma^2))``, untruncated.

    Args:
        coords: ``(..., K, 2)`` heatmap pixels ``(x, y)``.
        weights: ``(..., K)``, as from :func:`keypoint_weights`.
        heatmap_size: ``(H, W)``.
        sigma: standard deviation in heatmap pixels, > 0.

    Returns:
        ``(..., K, H, W)`` in the dtype of ``coords``.
    """
    check_positive("sigma", sigma)
    h, w = heatmap_size
    xs = torch.arange(w, dtype=coords.dtype, device=coords.device)
    ys = torch.arange(h, dtype=coords.dtype, device=coords.device)
    gx = torch.exp(-((xs - coords[..., 0:1]) ** 2) / (2 * sigma**2))  # (..., K, W)
    gy = torch.exp(-((ys - coords[..., 1:2]) ** 2) / (2 * sigma**2))  # (..., K, H)
    return gy[..., :, None] * gx[..., None, :] * (weights > 0).to(coords.dtype)[..., None, None]
