"""Integral regression decoders: soft-argmax, its bias-compensated form, and the local compensated form.

Coordinates are heatmap pixels, point order (x, y[, z]); see :mod:`integral_pose.coords`. The bias and its
closed form are derived in :mod:`integral_pose.bias`.

Two entry points share one implementation: :func:`soft_argmax`, validated, for decoding, and :func:`integrate`,
the training hot path (no validation, no host synchronisation on a GPU, a closed-form backward for the global
forms).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from integral_pose._checks import check_finite, check_heatmaps, check_positive, shape_str
from integral_pose.coords import grid_mean, on_map
from integral_pose.decode._peaks import compute_dtype, gather_window, offset_grid, peak, window_inside

# Exponents above this are shifted down to it before the exponential, so that weights and sums stay finite.
_EXPONENT_LIMIT = 50.0
_LOG2_E = 1.0 / math.log(2.0)
# The most, in heatmap pixels, that the compensated form's fast CPU path may move a location by rounding.
_FAST_PATH_TOLERANCE = 1e-4


class Integral(NamedTuple):
    """What :func:`integrate` returns; every field has the leading shape ``(...)`` of the heatmaps."""

    coords: Tensor
    """``(..., ndim)`` as (x, y[, z]) in heatmap pixels; where ``valid`` is False, the argmax cell, detached."""
    valid: Tensor
    """``(...)`` bool: False where the compensated total weight is not positive or the location is off the map."""
    peak: Tensor
    """``(...)`` the peak logit of each map (of the map, not of the window, for the local form), detached."""
    total: Tensor
    """``(...)`` the total weight, detached, for logging: ``sum exp(beta (H - peak))`` (plain), ``sum exp(beta H) - 1``
    (compensated) divided by ``exp(beta peak - 50)`` where ``beta peak > 50``; over the window for the local form."""


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

    Sums are accumulated in at least float32. Exponents are taken relative to the peak (or, compensated, shifted
    only where ``beta * peak`` exceeds 50), so values and gradients stay finite for any finite logits and any
    ``beta``: a ``beta`` beyond the largest number of the compute dtype acts as that number, the hard-argmax
    limit. The compensation never forms ``C - n`` after summing: each cell weighs ``expm1(beta * H)`` (exact
    where the logit is exactly 0, and without cancellation at small ``beta * H``).

    Validity is not returned here: see :func:`integrate`, which returns the same coordinates with a ``valid``
    mask, the peak and the total weight.

    Args:
        heatmaps: logits, ``(..., H, W)``, or ``(..., D, H, W)`` with ``ndim=3``. Floating point.
        beta: multiplies the logits before the softmax; > 0. It is ``1 / temperature`` of kornia 0.9's
            ``spatial_soft_argmax2d``, which divides by its temperature (see docs/decoders.md).
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
    check_heatmaps(heatmaps, ndim, finite=False)
    check_positive("beta", beta)
    shape = tuple(heatmaps.shape[-ndim:])
    if window is not None:
        _check_window(window, shape)
    flat = _flatten(heatmaps, ndim)
    top, cell = _peak(flat, shape, need_cell=window is not None)
    check_finite(heatmaps, "heatmaps", maxima=top)
    out = _decode(flat, shape, beta, debias, window, top, cell)
    return (out.coords, out.peak) if return_scores else out.coords


def integrate(heatmaps: Tensor, *, beta: float | Tensor, debias: bool = False, window: int | None = None,
              ndim: int = 2) -> Integral:
    """The decoders of :func:`soft_argmax` for training losses: no validation, no host synchronisation on a GPU.

    Computes what ``soft_argmax(heatmaps, beta=beta, debias=debias, window=window, ndim=ndim)`` computes, and
    returns with it where the result is defined, the peak logit and the total weight. Nothing is checked and, off
    the CPU, nothing is read back to the host, so a training step stays asynchronous on a GPU; the caller passes
    what :func:`soft_argmax` would accept (NaN in, NaN out). On CPU, where reading a value costs nothing, the
    global compensated form branches on the data to save time: it computes ``exp2(...) - 1`` and redoes with
    ``expm1`` only the maps that need it, and finds the argmax cell only when some map falls back to it.

    The global forms (``window=None``) have a closed-form backward: with weights ``w_i`` (``exp(beta H_i)``, or
    ``exp(beta H_i) - 1`` compensated), ``J = sum w_i x_i / sum w_i`` and
    ``dJ / dH_i = beta exp(beta H_i) (x_i - J) / sum w_i`` (the derivative of ``exp(beta H) - 1`` is
    ``exp(beta H)``, not the weight), computed in one pass over the maps from the saved weights. It supports
    one backward (no double backward). ``beta`` is a constant: no gradient flows to a tensor ``beta``.
    Where ``valid`` is False the coordinates are the argmax cell and carry no gradient.

    Args:
        heatmaps: logits, ``(..., H, W)``, or ``(..., D, H, W)`` with ``ndim=3``. Floating point, finite.
        beta: > 0, a number or a 0-dim tensor (detached; moved to the heatmaps' device and dtype).
        debias: the compensated form, see :func:`soft_argmax`.
        window: radius ``r`` of the local form, ``2r + 1`` no larger than any spatial size; None: global.
        ndim: number of trailing spatial dimensions, 2 or 3.

    Returns:
        :class:`Integral` ``(coords, valid, peak, total)``: ``(..., ndim)`` heatmap pixels as (x, y[, z]) (float32
        for half-precision input, else the input dtype), then ``(...)`` each. ``valid`` is all True for plain
        soft-argmax; compensated, False where the total weight is not positive or the location is off the map
        (global) or every weight in the window is 0 (local).

    Example:
        >>> hm = torch.zeros(2, 5, 7); hm[0, 1, 2] = 2.0   # the second map is flat: no mass above 0
        >>> out = integrate(hm, beta=1.0, debias=True)
        >>> out.coords, out.valid
        (tensor([[2., 1.],
                [0., 0.]]), tensor([ True, False]))
    """
    shape = tuple(heatmaps.shape[-ndim:])
    flat = _flatten(heatmaps, ndim)
    top, cell = _peak(flat, shape, need_cell=window is not None)
    return _decode(flat, shape, beta, debias, window, top, cell)


def _check_window(window: int, shape: tuple[int, ...]) -> None:
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"window: expected an integer radius >= 1, got {window!r}")
    if 2 * window + 1 > min(shape):
        raise ValueError(
            f"window: a radius of {window} spans {2 * window + 1} cells, larger than the map {shape_str(shape)}"
        )


def _flatten(heatmaps: Tensor, ndim: int) -> Tensor:
    return heatmaps.flatten(-ndim).to(compute_dtype(heatmaps.dtype))


def _peak(flat: Tensor, shape: tuple[int, ...], need_cell: bool) -> tuple[Tensor, Tensor | None]:
    """The maximum ``(...)`` of each map, detached, and its argmax cell ``(..., ndim)`` where needed."""
    if not need_cell:
        return flat.detach().amax(dim=-1), None
    _, cell, top = peak(flat.detach(), shape)
    return top, cell


def _decode(flat: Tensor, shape: tuple[int, ...], beta: float | Tensor, debias: bool, window: int | None,
            top: Tensor, cell: Tensor | None) -> Integral:
    beta = _as_beta(beta, flat)
    if window is not None:
        return _local(flat, shape, beta, debias, window, top, cell)
    if torch.is_grad_enabled() and flat.requires_grad:
        coords, total = _GlobalExpectation.apply(flat, top, beta, debias, shape)
    else:
        coords, total, _ = _global(flat, top, beta, debias, shape)
    if not debias:
        return Integral(coords, torch.ones_like(top, dtype=torch.bool), top, total)
    valid = (total > 0) & on_map(coords.detach(), shape)
    # The argmax cell is only the fallback of undefined maps: on CPU, found only when there are some.
    if _host_reads_are_free(flat) and bool(valid.all()):
        return Integral(coords, valid, top, total)
    cell = peak(flat.detach(), shape)[1]
    coords = torch.where(valid.unsqueeze(-1), coords, cell.to(coords.dtype))
    return Integral(coords, valid, top, total)


def _as_beta(beta: float | Tensor, like: Tensor) -> float | Tensor:
    """``beta`` as the compute dtype can hold it, capped at the dtype's largest finite value (beyond it, the
    hard-argmax limit). A tensor is detached and cast but left on its device: a 0-dim CPU tensor enters GPU
    arithmetic as a scalar, where copying it over would wait for the GPU."""
    largest = torch.finfo(like.dtype).max
    if isinstance(beta, Tensor):
        return beta.detach().to(dtype=like.dtype).clamp(max=largest)
    return min(float(beta), largest)


def _zero_level(top: Tensor, level: Tensor | float, beta: float | Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Where to take exponents from, for the compensated weights ``exp(beta (H - level)) - 1``.

    Returns ``(origin, start, correction)``, each ``(..., 1)``: the weight of a cell is
    ``expm1(start + beta (H - origin)) + correction``, which equals ``exp(beta (H - level) - s) - exp(-s)``:
    the weight divided by ``exp(s)`` with ``s = max(beta (top - level) - 50, 0)``. Without a shift (``s = 0``)
    ``origin = level``, ``start = correction = 0``: the weight is ``expm1(beta (H - level))``, exact to rounding
    at any size. With one, exponents are taken from the peak itself (``origin = top``, ``start = 50``), so that
    ``H - top`` is exact near the peak and the peak's exponent is exactly 50 however large ``beta * H`` is.
    """
    excess = beta * (top - level)
    shifted = excess > _EXPONENT_LIMIT
    origin = torch.where(shifted, top, level)
    start = torch.where(shifted, _EXPONENT_LIMIT, 0.0).to(top.dtype)
    correction = -torch.expm1(-(excess - _EXPONENT_LIMIT).clamp(min=0))
    return origin.unsqueeze(-1), start.unsqueeze(-1), correction.unsqueeze(-1)


def _global(flat: Tensor, top: Tensor, beta: float | Tensor, debias: bool,
            shape: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """Soft-argmax over whole maps: ``(coords (..., ndim), total (...), weights (..., N))``.

    The forward pass of :class:`_GlobalExpectation`, and the whole computation where no gradient is needed
    (inference, and ONNX export, which cannot trace a custom autograd function). Compensated, ``weights`` are
    ``exp(beta H) - 1`` shifted as :func:`_zero_level` says, without its uniform correction.
    """
    if debias:
        weights, total, moments = _compensated(flat, top, beta, shape)
    else:
        # exp(beta (H - top)) as exp2: the vectorised exponential on CPU; H - top is exact near the peak.
        weights = torch.sub(flat, top.unsqueeze(-1)).mul_(_exp2_scale(beta, flat)).exp2_()
        total, moments = _moments(weights, shape)
    offset = moments / _positive_or_one(total).unsqueeze(-1)
    # + the grid mean, axis by axis as plain numbers (a tensor built from them would be a copy to the GPU).
    coords = torch.stack([offset[..., a] + c for a, c in enumerate(grid_mean(shape))], dim=-1)
    return coords, total, weights


def _exp2_scale(beta: float | Tensor, like: Tensor) -> float | Tensor:
    """``beta / ln 2``, capped at the largest finite value of ``like``'s dtype."""
    largest = torch.finfo(like.dtype).max
    scale = beta * _LOG2_E
    return scale.clamp(max=largest) if isinstance(scale, Tensor) else min(scale, largest)


def _host_reads_are_free(tensor: Tensor) -> bool:
    """Whether a branch on ``tensor``'s values is free: on CPU, outside tracing and ``torch.compile``."""
    return tensor.device.type == "cpu" and not (torch.jit.is_tracing() or torch.compiler.is_compiling())


def _compensated(flat: Tensor, top: Tensor, beta: float | Tensor,
                 shape: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """The compensated weights ``(..., N)`` with their total ``(...)`` and moments ``(..., ndim)``.

    Each weight is ``expm1(start + beta (H - origin))`` (:func:`_zero_level`); the uniform correction adds
    ``n * correction`` to the total and nothing to the moments about the grid mean. It is 0 unless the exponents
    were shifted, and then negligible against a peak of ``exp(50)``.

    On CPU ``expm1`` is a scalar loop, about 3x the vectorised ``exp2``, so the weights are first taken as
    ``exp2(...) - 1``. That adds at most ``eps (w_i + 1)`` of rounding to each weight ``w_i``, so at most
    ``eps (total + n) R / total`` to the location (``R`` the largest distance on the map): maps whose total is
    too small to keep that under :data:`_FAST_PATH_TOLERANCE` (near-flat maps, tiny ``beta``, a total near or
    below 0) are computed again with ``expm1``. On other devices, under tracing and under ``torch.compile``,
    ``expm1`` is used throughout (on a GPU it costs what ``exp`` costs).
    """
    origin, start, correction = _zero_level(top, 0.0, beta)
    n = flat.shape[-1]
    if not _host_reads_are_free(flat):
        return _expm1_weights(flat, origin, start, correction, beta, shape)
    scale = _exp2_scale(beta, flat)
    if bool(start.any()):  # some exponents shifted; a host read costs nothing on CPU
        weights = torch.sub(flat, origin).mul_(scale).add_(start * _LOG2_E).exp2_().sub_(1)
    else:
        weights = torch.mul(flat, scale).exp2_().sub_(1)
    total, moments = _moments(weights, shape)
    total = total + n * correction.squeeze(-1)
    eps = torch.finfo(flat.dtype).eps
    redo = (total < eps * n * max(shape) / _FAST_PATH_TOLERANCE).flatten().nonzero().squeeze(-1)
    if redo.numel():
        rows = [t.reshape(-1, t.shape[-1])[redo] for t in (flat, origin, start, correction)]
        exact, exact_total, exact_moments = _expm1_weights(*rows, beta, shape)
        weights.view(-1, n)[redo] = exact
        total.view(-1)[redo] = exact_total
        moments.view(-1, len(shape))[redo] = exact_moments
    return weights, total, moments


def _expm1_weights(flat: Tensor, origin: Tensor, start: Tensor, correction: Tensor, beta: float | Tensor,
                   shape: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """The compensated weights ``expm1(start + beta (H - origin))`` ``(..., N)`` on one temporary, with their total
    ``(...)``, the uniform correction included, and moments ``(..., ndim)``; ``origin``, ``start`` and
    ``correction`` are ``(..., 1)`` (:func:`_zero_level`)."""
    weights = torch.sub(flat, origin).mul_(beta).add_(start).expm1_()
    total, moments = _moments(weights, shape)
    return weights, total + flat.shape[-1] * correction.squeeze(-1), moments


class _GlobalExpectation(torch.autograd.Function):
    """Soft-argmax over whole maps with its closed-form backward.

    Forward: ``(flat (..., N), top (...), beta, debias, shape) -> (coords (..., ndim), total (...))``. Only
    ``coords`` is differentiable, with respect to ``flat``.
    """

    @staticmethod
    def forward(ctx, flat: Tensor, top: Tensor, beta: float | Tensor, debias: bool, shape: tuple[int, ...]):
        coords, total, weights = _global(flat, top, beta, debias, shape)
        ctx.save_for_backward(weights, coords, total)
        ctx.beta, ctx.debias, ctx.shape = beta, debias, shape
        ctx.mark_non_differentiable(total)
        return coords, total

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_coords: Tensor, _grad_total: Tensor):
        # d J_a / d H_i = beta * d_i * (x_a,i - J_a) / total, with d_i = exp(beta H_i) shift-scaled: the
        # weight itself (plain) or the weight + 1 (compensated: the saved expm1 values). Per axis a the factor
        # beta / total * g_a * (x_a - J_a) is a vector along that axis only; their sum is the map to multiply by.
        weights, coords, total = ctx.saved_tensors
        shape, ndim = ctx.shape, len(ctx.shape)
        factor = (ctx.beta / _positive_or_one(total)).unsqueeze(-1) * grad_coords  # (..., ndim)
        # Only absurd ranges (beta near the dtype's limit over a tiny total) reach inf here: 0 * inf (a zero
        # upstream gradient, as on every fallback map) is 0, and the rest is capped so that the field below,
        # |x - J| <= n times this per axis, stays finite.
        cap = torch.finfo(weights.dtype).max / (2 * ndim * max(shape))
        factor = torch.nan_to_num(factor, nan=0.0).clamp_(-cap, cap)
        lead = weights.shape[:-1]
        field = None
        for axis, n in enumerate(reversed(shape)):
            line = torch.arange(n, dtype=weights.dtype, device=weights.device) - coords[..., axis, None]
            line = line.mul_(factor[..., axis, None])
            view = (*lead, *[n if d == ndim - 1 - axis else 1 for d in range(ndim)])
            field = line.view(view) if field is None else field + line.view(view)
        maps = weights.view(*lead, *shape)
        grad = field.addcmul_(maps, field) if ctx.debias else field.mul_(maps)
        return grad.flatten(-ndim), None, None, None, None


def _local(flat: Tensor, shape: tuple[int, ...], beta: float | Tensor, debias: bool, radius: int, top: Tensor,
           cell: Tensor) -> Integral:
    """Soft-argmax inside a window around the argmax (ordinary autograd: the window is small)."""
    offsets = offset_grid(radius, len(shape), flat.device)
    values, inside = gather_window(flat, cell, radius, shape), window_inside(cell, radius, shape)
    if debias:
        ring = inside & (offsets.abs().amax(dim=-1) == radius)
        background = values.masked_fill(~ring, -torch.inf).amax(dim=-1)
        origin, start, correction = _zero_level(top, background, beta)
        weights = (torch.expm1(start + beta * (values - origin)) + correction).clamp(min=0)
    else:
        weights = torch.exp(beta * (values - top.unsqueeze(-1)))
    weights = weights * inside
    total = weights.sum(dim=-1)
    valid = total > 0
    mean_offset = (weights @ offsets.to(weights.dtype)) / _positive_or_one(total).unsqueeze(-1)
    coords = torch.where(valid.unsqueeze(-1), cell + mean_offset, cell.to(weights.dtype))
    return Integral(coords, valid, top, total.detach())


def _moments(weights: Tensor, shape: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """Total weight and first moments about the grid mean.

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
    return torch.where(total > 0, total, total.detach() * 0 + 1)  # not ones_like: an ONNX trace fixes its shape


def _centred_axis(n: int, like: Tensor) -> Tensor:
    """``(n,)`` pixel coordinates of one axis minus their mean (:func:`integral_pose.coords.grid_mean`)."""
    return torch.arange(n, dtype=like.dtype, device=like.device) - grid_mean((n,))[0]
