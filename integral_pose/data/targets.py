"""Training targets, as pure functions over torch tensors or NumPy arrays (the result has the input's type; the
dataset uses NumPy, whose single-threaded kernels stay fast in a busy DataLoader worker or main process).

Coordinates are heatmap pixels with integer coordinates at pixel centres (see :mod:`integral_pose.coords`).
Gaussians are centred at the exact sub-pixel keypoint, never rounded to a whole pixel. A keypoint gets weight
1 when it is labelled (visibility > 0) and lies inside the crop, i.e. inside ``[-0.5, w - 0.5] x
[-0.5, h - 0.5]`` of the heatmap (the same region as the input crop); otherwise weight 0 and, for heatmaps, an
all-zero map.

Near the border the Gaussian is cut by the map's edge and keeps weight 1: its coordinate target stays exact and
its pixels are the true Gaussian's, but a decoder that takes a mean over the map (soft-argmax, DARK, the
centroid) reads a cut Gaussian up to about 1.6 px (sigma 2) inwards. :func:`border_distance` tells which targets
are cut; docs/data.md gives the measured numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor

from integral_pose._checks import check_sigma
from integral_pose.coords import map_extent, on_map

Array = TypeVar("Array", Tensor, np.ndarray)

__all__ = ["border_distance", "gaussian_heatmaps", "keypoint_weights", "sample_gaussians"]



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
    return _cast((visibility > 0) & on_map(coords, heatmap_size), coords)


def border_distance(coords: Array, heatmap_size: Sequence[int]) -> Array:
    """Distance in heatmap pixels from each point to the nearest edge of the map's extent
    ``[-0.5, w - 0.5] x [-0.5, h - 0.5]`` (negative outside).

    A Gaussian target of standard deviation sigma is cut by the border where this is below about ``3 sigma``;
    decoding such a target with a mean over the map is biased inwards (see the module docstring).

    Args:
        coords: ``(..., K, 2)`` heatmap pixels ``(x, y)``.
        heatmap_size: ``(H, W)``.

    Returns:
        ``(..., K)`` in the dtype of ``coords``.

    Example:
        >>> border_distance(torch.tensor([[3.0, 30.0], [46.0, 0.0], [-1.0, 5.0]]), (64, 48))
        tensor([ 3.5000,  0.5000, -0.5000])
    """
    (left, right), (top, bottom) = map_extent(heatmap_size)
    x, y = coords[..., 0], coords[..., 1]
    minimum = torch.minimum if isinstance(coords, Tensor) else np.minimum
    return minimum(minimum(x - left, right - x), minimum(y - top, bottom - y))


def gaussian_heatmaps(coords: Array, weights: Array, heatmap_size: Sequence[int], sigma: float) -> Array:
    """Unnormalised Gaussians, peak value 1 at the (sub-pixel) keypoint, zero maps where the weight is 0.

    ``H[k, i, j] = exp(-((j - x_k)^2 + (i - y_k)^2) / (2 sigma^2))``, untruncated.

    Args:
        coords: ``(..., K, 2)`` heatmap pixels ``(x, y)``.
        weights: ``(..., K)``, as from :func:`keypoint_weights`.
        heatmap_size: ``(H, W)``.
        sigma: standard deviation in heatmap pixels, in ``(0, MAX_SIGMA]``.

    Returns:
        ``(..., K, H, W)`` in the dtype of ``coords``.
    """
    check_sigma(sigma)
    return sample_gaussians(coords, heatmap_size, sigma) * _cast(weights > 0, coords)[..., None, None]


def sample_gaussians(centres: Array, shape: Sequence[int], sigma: float | Array) -> Array:
    """Isotropic Gaussians of peak 1 sampled at pixel centres: the one sampler of targets and synthetic maps.

    ``G[..., i, j] = exp(-((j - x)^2 + (i - y)^2) / (2 sigma^2))``, separable and untruncated; no argument checks.

    Args:
        centres: ``(..., 2)`` as ``(x, y)`` in pixels.
        shape: ``(H, W)``.
        sigma: a number, or ``(...)`` of the same type as ``centres``: one standard deviation per map.

    Returns:
        ``(..., H, W)`` in the dtype of ``centres``.
    """
    h, w = shape
    exp = torch.exp if isinstance(centres, Tensor) else np.exp
    two_var = 2 * sigma**2 if isinstance(sigma, (int, float)) else (2 * sigma**2)[..., None]
    gx = exp(-((_arange(w, centres) - centres[..., 0:1]) ** 2) / two_var)  # (..., W)
    gy = exp(-((_arange(h, centres) - centres[..., 1:2]) ** 2) / two_var)  # (..., H)
    return gy[..., :, None] * gx[..., None, :]
