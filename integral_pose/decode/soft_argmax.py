"""Integral regression decoders: soft-argmax, its bias-compensated form, and the local compensated form.

Coordinates are heatmap pixels, point order (x, y[, z]); see :mod:`integral_pose.coords`. The bias and its
closed form are derived in :mod:`integral_pose.bias`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from integral_pose._checks import check_heatmaps, check_positive, shape_str
from integral_pose.decode._peaks import compute_dtype, gather_window, offset_grid, peak, window_inside

# Exponents above this are shifted down before exp, so that weights and their sums stay finite.
_EXPONENT_LIMIT = 50.0
_LOG2_E = 1.0 / math.log(2.0)


def soft_argmax(heatmaps: Tensor, *, beta: float = 1.0, debias: bool = False, window: int | None = None,
                ndim: int = 2, return_scores: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Expected location under softmax(beta * heatmaps), optionally with the background bias removed.

    After the softmax every background cell with logit 0 weighs exp(0) = 1, which pulls the plain
    expectation towards the grid mean ``c``. The four forms:

    - ``debias=False``: the plain expectation ``J_soft`` under the weights ``exp(beta * H)``.
    - ``debias=True``: the compensated location ``(C J_soft - n c) / (C - n)`` with
      ``C = sum exp(beta * H)`` over the ``n`` cells, which is exactly the expectation under the weights
      ``exp(beta * H) - 1``. It is exact when the background is exactly 0. Weights stay signed: a cell
      below 0 weighs between -1 and 0, as the closed form implies (and as a training loss needs). Where
      the total weight ``C - n`` is not positive the location is undefined, and where it is so small that
      the location falls off the map (beyond ``[-0.5, W - 0.5]`` along some axis) it is meaningless: in both
      cases the argmax cell is returned instead, without gradient. An all-zero map gives ``(0, 0)``; a map
      with every logit below 0 gives its argmax. On maps whose background is far from 0 (networks trained
      with a detection loss) use the local form.
    - ``window=r``: only the ``(2r+1)^ndim`` cells around the argmax count (the window is clipped to the
      map). With ``debias=False`` this is the local soft-argmax. With ``debias=True`` the window's own
      background level ``b`` is the maximum of its outer ring (the cells at Chebyshev distance ``r`` from
      the argmax that lie on the map), each cell weighs ``max(exp(beta * (H - b)) - 1, 0)``, and the result
      is their weighted mean. The weights then cover the part of the peak above every ring cell, a region
      that stays clear of the window's edge and, for a symmetric peak, is symmetric about its true centre
      wherever the window sits; a neighbouring peak's flank or noise on the ring raises ``b`` and so cuts
      itself out. The result is invariant to adding a constant to the map, blind to anything outside the
      window, and equal to the global compensated form on a zero-background map whose support lies inside
      the window. If every weight is 0 (a flat window) the argmax cell is returned. The window's position
      and the ring cell that sets ``b`` carry no gradient of the location's choice; the values inside the
      window do. On heatmaps of a network trained with a detection loss, ``r = ceil(2 sigma)`` (sigma of the
      training target) with ``beta`` about 0.25 is what the bias study measures as best (see
      :mod:`integral_pose.bias`).

    Sums are accumulated in at least float32, every exponent is shifted so that nothing overflows for
    ``beta * H`` up to 1e4 and beyond, and the compensation subtracts the background mass cell by cell
    (``exp(beta * H) - 1`` per cell, exact where the logit is exactly 0), never as ``C - n`` after summing.

    Args:
        heatmaps: logits, ``(..., H, W)``, or ``(..., D, H, W)`` with ``ndim=3``. Floating point.
        beta: multiplies the logits before the softmax; > 0.
        debias: remove the background bias, see above.
        window: radius ``r >= 1`` of the local window, with ``2r + 1`` no larger than any spatial size;
            None uses the whole map.
        ndim: number of trailing spatial dimensions, 2 or 3.
        return_scores: also return a confidence per map: its peak logit, as :func:`argmax` returns.

    Returns:
        ``(..., 2)`` as (x, y), or ``(..., 3)`` as (x, y, z), in heatmap pixels; float32 for half-precision
        input, else the input dtype. With ``return_scores=True``, ``(coords, scores)`` with scores ``(...)``.

    Raises:
        ValueError: naming the argument and the shape or value at fault.

    Example:
        >>> hm = torch.zeros(5, 7); hm[1, 2] = 2.0   # a single-cell peak on a zero background
        >>> soft_argmax(hm).round(decimals=4)       # pulled towards the centre (3, 2)
        tensor([2.8456, 1.8456])
        >>> soft_argmax(hm, debias=True)
        tensor([2., 1.])
    """
    check_heatmaps(heatmaps, ndim)
    check_positive("beta", beta)
    shape = tuple(heatmaps.shape[-ndim:])
    if window is not None:
        _check_window(window, shape)
    flat = heatmaps.flatten(-ndim).to(compute_dtype(heatmaps.dtype))
    if window is None:
        coords, scores = _global(flat, shape, beta, debias)
    else:
        coords, scores = _local(flat, shape, beta, debias, window)
    return (coords, scores) if return_scores else coords


def _check_window(window: int, shape: tuple[int, ...]) -> None:
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window: expected an integer radius >= 1, got {window!r}")
    if 2 * window + 1 > min(shape):
        raise ValueError(
            f"window: a radius of {window} spans {2 * window + 1} cells, larger than the map {shape_str(shape)}"
        )


def _global(flat: Tensor, shape: tuple[int, ...], beta: float, debias: bool) -> tuple[Tensor, Tensor]:
    """Soft-argmax over whole maps. ``flat (..., N) -> (coords (..., ndim), peak values (...))``."""
    top = flat.detach().amax(dim=-1, keepdim=True)
    # Shift the exponent by the maximum (plain) or only as far as overflow requires (compensated: the
    # weights exp(z) - 1 are not invariant to a shift, so the shift's factor is divided out exactly below).
    shift = (beta * top).clamp(min=_EXPONENT_LIMIT) - _EXPONENT_LIMIT if debias else beta * top
    # exp2 is the fast vectorised exponential on CPU; exp(z) = exp2(z / ln 2).
    weights = torch.add(-shift * _LOG2_E, flat, alpha=beta * _LOG2_E).exp2_()
    if debias:
        background = torch.exp(-shift)  # what a logit of 0 weighs after the shift
        weights = weights - background if weights.requires_grad else weights.sub_(background)
    total, centred = _moments(weights, shape)
    coords = centred / _positive_or_one(total).unsqueeze(-1) + _grid_centre(shape, flat)
    if debias:
        half_extent = torch.tensor([n / 2 for n in reversed(shape)], dtype=coords.dtype, device=coords.device)
        off_map = ((coords - _grid_centre(shape, flat)).abs() > half_extent).any(dim=-1)
        coords = _argmax_where((total <= 0) | off_map, coords, flat, shape)
    return coords, top.squeeze(-1)


def _local(flat: Tensor, shape: tuple[int, ...], beta: float, debias: bool, radius: int) -> tuple[Tensor, Tensor]:
    """Soft-argmax inside a window around the argmax. ``flat (..., N) -> (coords (..., ndim), peaks (...))``."""
    _, cell, top = peak(flat.detach(), shape)
    offsets = offset_grid(radius, len(shape), flat.device)
    values, inside = gather_window(flat, cell, radius, shape), window_inside(cell, radius, shape)
    if debias:
        ring = inside & (offsets.abs().amax(dim=-1) == radius)
        background = values.masked_fill(~ring, -torch.inf).amax(dim=-1, keepdim=True)
        exponent = beta * (values - background)
        shift = (exponent.detach().amax(dim=-1, keepdim=True) - _EXPONENT_LIMIT).clamp(min=0)
        weights = (torch.expm1(exponent - shift) + -torch.expm1(-shift)).clamp(min=0)
    else:
        weights = torch.exp(beta * (values - top.unsqueeze(-1)))
    weights = weights * inside
    total = weights.sum(dim=-1)
    mean_offset = (weights @ offsets.to(weights.dtype)) / _positive_or_one(total).unsqueeze(-1)
    coords = torch.where((total > 0).unsqueeze(-1), cell + mean_offset, cell.to(weights.dtype))
    return coords, top


def _moments(weights: Tensor, shape: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """Total weight and first moments about the grid centre.

    Args:
        weights: ``(..., N)``, the flattened maps.
        shape: their spatial shape.

    Returns:
        ``(total (...), moments (..., ndim))`` with ``moments[..., a] = sum w * (x_a - c_a)`` in point order.
    """
    maps = weights.unflatten(-1, shape)
    # Two reductions over the full maps, along x (the last axis) and over every other spatial axis.
    columns = maps.sum(dim=tuple(range(-len(shape), -1)))  # (..., W)
    rows = maps.sum(dim=-1)  # (..., H) or (..., D, H)
    marginals = [columns, rows] if len(shape) == 2 else [columns, rows.sum(dim=-2), rows.sum(dim=-1)]
    total = columns.sum(dim=-1)
    moments = [m @ _centred_axis(n, m) for m, n in zip(marginals, reversed(shape), strict=True)]
    return total, torch.stack(moments, dim=-1)


def _positive_or_one(total: Tensor) -> Tensor:
    """The total weight where it is positive, 1 elsewhere: a divisor whose gradient stays finite."""
    return torch.where(total > 0, total, torch.ones_like(total))


def _centred_axis(n: int, like: Tensor) -> Tensor:
    """``(n,)`` pixel coordinates of one axis minus their mean ``(n - 1) / 2``."""
    return torch.arange(n, dtype=like.dtype, device=like.device) - (n - 1) / 2


def _grid_centre(shape: tuple[int, ...], like: Tensor) -> Tensor:
    """``(ndim,)``: the mean pixel coordinate ``((W - 1) / 2, (H - 1) / 2[, (D - 1) / 2])``."""
    return torch.tensor([(n - 1) / 2 for n in reversed(shape)], dtype=like.dtype, device=like.device)


def _argmax_where(undefined: Tensor, coords: Tensor, flat: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Replace ``coords (..., ndim)`` by the argmax cell where ``undefined (...)`` holds."""
    if not bool(undefined.any()):
        return coords
    _, cell, _ = peak(flat.detach(), shape)
    return torch.where(undefined.unsqueeze(-1), cell.to(coords.dtype), coords)
