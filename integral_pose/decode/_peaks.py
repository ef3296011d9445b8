"""Private helpers shared by the decoders: flattening, the argmax peak, and gathering cells around it.

Coordinates follow :mod:`integral_pose.coords`: point order (x, y[, z]), integer = pixel centre.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype decoders accumulate in: float32 for half-precision input, the input dtype otherwise."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def point_strides(shape: tuple[int, ...]) -> list[int]:
    """Flat-index stride of each axis in point order: ``[1, W]`` for ``(H, W)``, ``[1, W, H*W]`` for ``(D, H, W)``."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step = step * n  # not *=: while exporting to ONNX, sizes are 0-dim tensors that *= would alter in place
    return strides


def _block_length(n: int) -> int | None:
    """A divisor of ``n`` of at least 64, for a two-stage maximum; None when there is none below ``n / 2``."""
    return next((b for b in range(64, n // 2 + 1) if n % b == 0), None)


def peak(flat: Tensor, shape: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """The first maximum of each flattened map.

    Index-returning reductions are several times slower than ``amax`` on CPU, so the maximum is found
    per block of the flattened map first and the index is taken within the winning block only.

    Args:
        flat: ``(..., N)`` with ``N = prod(shape)``.
        shape: spatial shape ``(H, W)`` or ``(D, H, W)``.

    Returns:
        ``(index, cell, value)``: the flat index ``(...)``, the integer cell ``(..., ndim)`` in point
        order (x, y[, z]) and the maximum ``(...)``.
    """
    block = _block_length(flat.shape[-1])
    if block is None:
        value, index = flat.max(dim=-1)
    else:
        blocks = flat.unflatten(-1, (-1, block))
        best = blocks.amax(dim=-1).argmax(dim=-1, keepdim=True)  # (..., 1), first block holding the maximum
        # -1 keeps the leading sizes symbolic (best.shape would fix the batch size in an ONNX export)
        winner = blocks.gather(-2, best.unsqueeze(-1).expand(*([-1] * best.dim()), block)).squeeze(-2)
        value, within = winner.max(dim=-1)
        index = best.squeeze(-1) * block + within
    cell = torch.stack([(index // s) % n for s, n in zip(point_strides(shape), reversed(shape), strict=True)], dim=-1)
    return index, cell, value


def offset_grid(radius: int, ndim: int, device: torch.device) -> Tensor:
    """All integer offsets of a ``(2r+1)^ndim`` window, ``((2r+1)^ndim, ndim)`` in point order, row-major."""
    axis = torch.arange(-radius, radius + 1, device=device)
    mesh = torch.meshgrid(*([axis] * ndim), indexing="ij")
    return torch.stack([m.reshape(-1) for m in reversed(mesh)], dim=-1)


def gather_window(flat: Tensor, cell: Tensor, radius: int, shape: tuple[int, ...]) -> Tensor:
    """Values of the ``(2r+1)^ndim`` window around each cell, edge-replicated beyond the map.

    Args:
        flat: ``(..., N)`` flattened maps.
        cell: ``(..., ndim)`` integer cells in point order.
        radius: the window's radius ``r``.
        shape: spatial shape of the maps.

    Returns:
        ``(..., P)`` with ``P = (2r+1)^ndim``, in the row-major order of :func:`offset_grid`; cells beyond the
        map take the value of the nearest edge cell (see :func:`window_inside`).
    """
    terms = [
        (position.clamp(0, size - 1) * stride).unflatten(-1, view)
        for position, size, stride, view in _window_axes(cell, radius, shape)
    ]
    return flat.gather(-1, sum(terms[1:], terms[0]).flatten(-len(shape)))


def window_inside(cell: Tensor, radius: int, shape: tuple[int, ...]) -> Tensor:
    """``(..., P)`` boolean: which cells of the window of :func:`gather_window` lie on the map."""
    masks = [((position >= 0) & (position < size)).unflatten(-1, view) for position, size, _, view in _window_axes(
        cell, radius, shape)]
    return functools.reduce(torch.logical_and, masks).flatten(-len(shape))


def _window_axes(cell: Tensor, radius: int, shape: tuple[int, ...]):
    """Per point-order axis: positions ``(..., 2r+1)`` along it, its size, flat stride, and the window shape that
    broadcasts it over the window (axis 0, x, is the window's last array dimension)."""
    ndim = len(shape)
    steps = torch.arange(-radius, radius + 1, device=cell.device)
    for axis, (size, stride) in enumerate(zip(reversed(shape), point_strides(shape), strict=True)):
        # window dimensions only (unflatten keeps the leading sizes symbolic for a dynamic-batch ONNX export)
        view = tuple(2 * radius + 1 if d == ndim - 1 - axis else 1 for d in range(ndim))
        yield cell[..., axis, None] + steps, size, stride, view
