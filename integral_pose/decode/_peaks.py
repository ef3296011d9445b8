"""Private helpers shared by the decoders: flattening, the argmax peak, and gathering cells around it.

Coordinates follow :mod:`integral_pose.coords`: point order (x, y[, z]), integer = pixel centre.
"""

from __future__ import annotations

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
        step *= n
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
        winner = blocks.gather(-2, best.unsqueeze(-1).expand(*best.shape, block)).squeeze(-2)
        value, within = winner.max(dim=-1)
        index = best.squeeze(-1) * block + within
    cell = torch.stack([(index // s) % n for s, n in zip(point_strides(shape), reversed(shape), strict=True)], dim=-1)
    return index, cell, value


def offset_grid(radius: int, ndim: int, device: torch.device) -> Tensor:
    """All integer offsets of a ``(2r+1)^ndim`` window, ``((2r+1)^ndim, ndim)`` in point order, row-major."""
    axis = torch.arange(-radius, radius + 1, device=device)
    mesh = torch.meshgrid(*([axis] * ndim), indexing="ij")
    return torch.stack([m.reshape(-1) for m in reversed(mesh)], dim=-1)


def gather_around(flat: Tensor, cell: Tensor, offsets: Tensor, shape: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """Values at ``cell + offsets``, with cells outside the map replaced by the nearest edge cell.

    Args:
        flat: ``(..., N)`` flattened maps.
        cell: ``(..., ndim)`` integer cells in point order.
        offsets: ``(P, ndim)`` integer offsets in point order.
        shape: spatial shape of the maps.

    Returns:
        ``(values, inside)``: ``(..., P)`` gathered values (edge-replicated outside the map) and a boolean
        ``(..., P)`` mask of the offsets that fall inside the map.
    """
    target = cell.unsqueeze(-2) + offsets  # (..., P, ndim)
    sizes = torch.tensor(shape[::-1], device=cell.device)
    inside = ((target >= 0) & (target < sizes)).all(dim=-1)
    clamped = torch.minimum(target.clamp(min=0), sizes - 1)
    strides = torch.tensor(point_strides(shape), device=cell.device)
    index = (clamped * strides).sum(dim=-1)
    return flat.gather(-1, index), inside
