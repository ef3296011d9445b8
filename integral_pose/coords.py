"""The pixel convention of integral-pose, written once.

Every module that handles coordinates refers here.

- Points are ``(x, y)`` or ``(x, y, z)``: x runs along the last (width) axis, y along the height axis,
  z along the depth axis. Sizes and shapes are ``(H, W)`` or ``(D, H, W)``; a ``(w, h)`` pair is never
  passed around.
- Integer coordinates are pixel centres: pixel ``[i, j]`` of an image or heatmap is the point
  ``(x, y) = (j, i)``, and it covers ``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]``. A map of width W spans
  ``x`` in ``[-0.5, W - 0.5]`` (:func:`map_extent`, :func:`on_map`) and its mean pixel coordinate is
  ``(W - 1) / 2`` (:func:`grid_mean`).
- Image pixels (the original photograph), input pixels (the crop fed to the network) and heatmap
  pixels all follow this rule. A heatmap of stride ``s`` relative to its input (``s = input W / heatmap
  W``, likewise for H) covers each heatmap pixel with an ``s x s`` block of input pixels, so

      x_input = s * x_heatmap + (s - 1) / 2

  (heatmap pixel 0 is the centre of input pixels ``0 .. s - 1``).
- Decoders return heatmap pixels. Mapping to input pixels happens here; mapping between input and
  image pixels is the affine crop of :mod:`integral_pose.data.crop`.

Symbols used in docstrings: B batch, K keypoints, D/H/W heatmap depth/height/width.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["grid_mean", "heatmap_to_input", "input_to_heatmap", "map_extent", "on_map", "pixel_grid", "strides"]


def strides(input_size: Sequence[int], heatmap_size: Sequence[int]) -> tuple[float, ...]:
    """Stride of each axis, returned in point order ``(x, y[, z])``.

    Args:
        input_size: ``(H, W)`` or ``(D, H, W)`` of the network input.
        heatmap_size: ``(H, W)`` or ``(D, H, W)`` of the heatmap, same length.

    Returns:
        ``(s_x, s_y[, s_z])`` with ``s = input / heatmap`` along each axis.
    """
    if len(input_size) != len(heatmap_size):
        raise ValueError(f"input_size {tuple(input_size)} and heatmap_size {tuple(heatmap_size)} differ in length")
    if any(s <= 0 for s in (*input_size, *heatmap_size)):
        raise ValueError(f"sizes must be positive, got input {tuple(input_size)}, heatmap {tuple(heatmap_size)}")
    return tuple(float(i) / float(h) for i, h in zip(reversed(input_size), reversed(heatmap_size), strict=True))


def heatmap_to_input(points: Tensor, stride: Sequence[float]) -> Tensor:
    """Heatmap pixels to input pixels: ``x_input = s * x_heatmap + (s - 1) / 2`` per axis.

    Args:
        points: ``(..., N)`` with N = ``len(stride)``, in point order ``(x, y[, z])``.
        stride: ``(s_x, s_y[, s_z])``, as returned by :func:`strides`.

    Returns:
        ``(..., N)`` in input pixels.
    """
    s = torch.as_tensor(stride, dtype=points.dtype, device=points.device)
    return points * s + (s - 1) / 2


def input_to_heatmap(points: Tensor, stride: Sequence[float]) -> Tensor:
    """Input pixels to heatmap pixels, the inverse of :func:`heatmap_to_input`.

    Args:
        points: ``(..., N)`` in input pixels, point order ``(x, y[, z])``.
        stride: ``(s_x, s_y[, s_z])``.

    Returns:
        ``(..., N)`` in heatmap pixels.
    """
    s = torch.as_tensor(stride, dtype=points.dtype, device=points.device)
    return (points - (s - 1) / 2) / s


def pixel_grid(shape: Sequence[int], *, dtype: torch.dtype = torch.float32,
               device: torch.device | str | None = None) -> Tensor:
    """Coordinates of every pixel centre of a map, in point order.

    Args:
        shape: ``(H, W)`` or ``(D, H, W)``.

    Returns:
        ``(prod(shape), len(shape))``: row ``i`` holds ``(x, y[, z])`` of the i-th pixel in row-major
        (flattened) order.

    Example:
        >>> pixel_grid((2, 3))
        tensor([[0., 0.],
                [1., 0.],
                [2., 0.],
                [0., 1.],
                [1., 1.],
                [2., 1.]])
    """
    axes = [torch.arange(n, dtype=dtype, device=device) for n in shape]
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([m.reshape(-1) for m in reversed(mesh)], dim=-1)


def grid_mean(shape: Sequence[int]) -> tuple[float, ...]:
    """The mean pixel coordinate of a map, in point order.

    Args:
        shape: ``(H, W)`` or ``(D, H, W)``.

    Returns:
        ``((W - 1) / 2, (H - 1) / 2[, (D - 1) / 2])``: the centre of the map, where plain soft-argmax pulls
        its result (see :mod:`integral_pose.bias`).

    Example:
        >>> grid_mean((64, 48))
        (23.5, 31.5)
    """
    return tuple((n - 1) / 2 for n in reversed(shape))


def map_extent(shape: Sequence[int]) -> tuple[tuple[float, float], ...]:
    """The region a map covers, per axis in point order: pixel centres ``0 .. n - 1`` plus half a pixel.

    Args:
        shape: ``(H, W)`` or ``(D, H, W)``.

    Returns:
        ``((-0.5, W - 0.5), (-0.5, H - 0.5)[, (-0.5, D - 0.5)])``.

    Example:
        >>> map_extent((64, 48))
        ((-0.5, 47.5), (-0.5, 63.5))
    """
    return tuple((-0.5, n - 0.5) for n in reversed(shape))


def on_map(points: Tensor, shape: Sequence[int]) -> Tensor:
    """Whether each point lies on the map, border included (see :func:`map_extent`).

    Args:
        points: ``(..., N)`` in point order ``(x, y[, z])``, N = ``len(shape)``; a tensor or a NumPy array.
        shape: ``(H, W)`` or ``(D, H, W)`` of the map.

    Returns:
        ``(...)`` bool, of the type of ``points``. NaN is not on the map.

    Example:
        >>> on_map(torch.tensor([[47.5, 0.0], [47.6, 0.0], [-0.5, -0.5]]), (64, 48))
        tensor([ True, False,  True])
    """
    # Per axis against plain numbers: no tensor is built from host data, so nothing waits on a GPU.
    inside = [(points[..., a] >= low) & (points[..., a] <= high) for a, (low, high) in enumerate(map_extent(shape))]
    return functools.reduce(operator.and_, inside)
