"""Training targets, as pure functions over torch tensors or NumPy arrays (the result has the input's type; the
dataset uses NumPy, whose single-threaded kernels stay fast in a busy DataLoader worker or main process).

Coordinates are heatmap pixels with integer coordinates at pixel centres (see :mod:`integral_pose.coords`).
Gaussians are centred at the exact sub-pixel keypoint, never rounded to a whole pixel. A keypoint gets weight
1 when it is labelled (visibility > 0) and lies inside the crop, i.e. inside ``[-0.5, w - 0.5] x
[-0.5, h - 0.5]`` of the heatmap (the same region as the input crop); otherwise weight 0 and, for heatmaps, an
all-zero map.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor

from integral_pose._checks import check_positive

Array = TypeVar("Array", Tensor, np.ndarray)

__all__ = ["gaussian_heatmaps", "keypoint_weights"]


def _cast(mask: Array, like: Array) -> Array:
    """A boolean mask as numbers of ``like``'s dtype."""
    return mask.to(like.dtype) if isinstance(mask, Tensor) else mask.astype(like.dtype)


def _arange(n: int, like: Array) -> Array:
    """``0, 1, ..., n - 1`` with ``like``'s type, dtype (and device)."""
    if isinstance(like, Tensor):
        return torch.arange(n, dtype=like.dtype, device=like.device)
    return np.arange(n, dtype=like.dtype)


def keypoint_weights(coords: Array, visibility: Array, heatmap_size: Sequence[int]) -> Array:
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
    return _cast((visibility > 0) & inside, coords)


def gaussian_heatmaps(coords: Array, weights: Array, heatmap_size: Sequence[int], sigma: float) -> Array:
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
    exp = torch.exp if isinstance(coords, Tensor) else np.exp
    gx = exp(-((_arange(w, coords) - coords[..., 0:1]) ** 2) / (2 * sigma**2))  # (..., K, W)
    gy = exp(-((_arange(h, coords) - coords[..., 1:2]) ** 2) / (2 * sigma**2))  # (..., K, H)
    return gy[..., :, None] * gx[..., None, :] * _cast(weights > 0, coords)[..., None, None]
