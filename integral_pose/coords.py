"""The pixel convention of integral-pose, written once.

Every module that handles coordinates refers here.

- Points are ``(x, y)`` or ``(x, y, z)``: x runs along the last (width) axis, y along the height axis,
  z along the depth axis. Sizes and shapes are ``(H, W)`` or ``(D, H, W)``; a ``(w, h)`` pair is never
  passed around.
- Integer coordinates are pixel centres: pixel ``[i, j]`` of an image or heatmap is the point
  ``(x, y) = (j, i)``, and it covers ``[j - 0.5, j + 0.5] x [i - 0.5, i + 0.5]``. A map of width W spans
  ``x`` in ``[-0.5, W - 0.5]`` and its mean pixel coordinate is ``(W - 1) / 2``.
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

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["heatmap_to_input", "input_to_heatmap", "pixel_grid", "strides"]


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
