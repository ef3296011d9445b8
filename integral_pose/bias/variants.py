"""Decoder variants that exist only in the study, written over plain tensor ops.

- :func:`clamped_compensated`: the global compensated soft-argmax with weights ``max(exp(beta H) - 1, 0)``
  instead of the library's signed ``exp(beta H) - 1``. Not a public decoder.
- :func:`local_compensated`: the local compensated soft-argmax with a choice of rule for the window's
  background level (the library uses the maximum of the outer ring; the study compares others). With
  ``rule="max"`` it computes what ``soft_argmax(..., debias=True, window=r)`` computes.
- :func:`expectation64`: the compensated expectation in float64, the reference for float32 rounding.

All take ``(N, H, W)`` maps and return ``(N, 2)`` as (x, y) in heatmap pixels (see integral_pose.coords).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["RING_RULES", "clamped_compensated", "dark_inputs", "expectation64", "local_compensated", "per_radius",
           "radius_for"]

_EXPONENT_LIMIT = 50.0  # exponents are shifted below this before exp, as in the library


def _argmax_cells(maps: Tensor) -> tuple[Tensor, Tensor]:
    """``(N, H, W) -> (x (N,), y (N,))``: the integer cell of each map's first maximum."""
    width = maps.shape[-1]
    index = maps.flatten(1).argmax(dim=-1)
    return index % width, index // width


def _positive_part_of_expm1(exponent: Tensor) -> Tensor:
    """``max(exp(z) - 1, 0)`` scaled by ``exp(-s)`` with ``s = max(max z - 50, 0)`` per map: finite for any z.

    A common positive factor per map leaves a weighted mean unchanged.
    """
    top = exponent.flatten(1).amax(dim=-1).view(-1, *([1] * (exponent.dim() - 1)))
    shift = (top - _EXPONENT_LIMIT).clamp(min=0)
    return (torch.expm1(exponent - shift) - torch.expm1(-shift)).clamp(min=0)


def _weighted_mean(weights: Tensor, xs: Tensor, ys: Tensor) -> tuple[Tensor, Tensor]:
    """Weighted mean of ``(N, h, w)`` weights; x and y coordinates ``(N, w)``/``(w,)`` and ``(N, h)``/``(h,)``.

    Returns:
        ``(mean (N, 2), total (N,))``.
    """
    total = weights.sum(dim=(1, 2))
    divisor = torch.where(total > 0, total, torch.ones_like(total))
    mean_x = (weights.sum(dim=1) * xs).sum(dim=-1) / divisor
    mean_y = (weights.sum(dim=2) * ys).sum(dim=-1) / divisor
    return torch.stack([mean_x, mean_y], dim=-1), total


def _fallback_to_argmax(coords: Tensor, total: Tensor, cell_x: Tensor, cell_y: Tensor) -> Tensor:
    """The argmax cell where the total weight is not positive (the location is undefined there)."""
    cell = torch.stack([cell_x, cell_y], dim=-1).to(coords.dtype)
    return torch.where((total > 0).unsqueeze(-1), coords, cell)


def clamped_compensated(maps: Tensor, *, beta: float = 1.0) -> Tensor:
    """Global compensated soft-argmax with cells below 0 dropped: weights ``max(exp(beta H) - 1, 0)``.

    ``(N, H, W) -> (N, 2)`` in heatmap pixels, computed in the maps' dtype; the argmax cell where no cell
    is above 0.
    """
    height, width = maps.shape[-2:]
    weights = _positive_part_of_expm1(beta * maps)
    xs = torch.arange(width, dtype=maps.dtype)
    ys = torch.arange(height, dtype=maps.dtype)
    coords, total = _weighted_mean(weights, xs, ys)
    return _fallback_to_argmax(coords, total, *_argmax_cells(maps))


def expectation64(maps: Tensor, *, beta: float = 1.0) -> Tensor:
    """The compensated soft-argmax in float64: the mean under the signed weights ``exp(beta H) - 1``.

    ``(N, H, W) -> (N, 2)`` float64. Valid while ``beta * H`` stays below about 700 (float64's exp) and
    the total weight is positive, which the study's zero-background maps satisfy.
    """
    maps = maps.to(torch.float64)
    height, width = maps.shape[-2:]
    weights = torch.expm1(beta * maps)
    coords, _ = _weighted_mean(weights, torch.arange(width, dtype=torch.float64),
                               torch.arange(height, dtype=torch.float64))
    return coords


def _ring_max(values: Tensor, ring: Tensor, beta: float) -> Tensor:
    """The highest ring cell: the weights then cover only the part of the peak above the whole ring."""
    return values.masked_fill(~ring, -torch.inf).amax(dim=-1)


def _ring_mean(values: Tensor, ring: Tensor, beta: float) -> Tensor:
    return (values * ring).sum(dim=-1) / ring.sum(dim=-1)


def _ring_median(values: Tensor, ring: Tensor, beta: float) -> Tensor:
    """The lower median of the ring cells (torch's convention for an even count)."""
    return torch.where(ring, values, torch.nan).nanmedian(dim=-1).values


def _ring_log_mean_exp(values: Tensor, ring: Tensor, beta: float) -> Tensor:
    """``log(mean(exp(beta H))) / beta`` over the ring: the level whose weight ``exp(beta (H - b))`` averages 1."""
    scaled = torch.where(ring, beta * values, -torch.inf)
    return (torch.logsumexp(scaled, dim=-1) - ring.sum(dim=-1).to(values.dtype).log()) / beta


def _ring_mean_plus_two_sd(values: Tensor, ring: Tensor, beta: float) -> Tensor:
    """Mean plus two standard deviations of the ring: a level above most of the noise."""
    count = ring.sum(dim=-1)
    mean = _ring_mean(values, ring, beta)
    variance = ((values - mean.unsqueeze(-1)) ** 2 * ring).sum(dim=-1) / count
    return mean + 2 * variance.sqrt()


RING_RULES: dict[str, Callable[[Tensor, Tensor, float], Tensor]] = {
    "max": _ring_max,
    "mean": _ring_mean,
    "median": _ring_median,
    "log-mean-exp": _ring_log_mean_exp,
    "mean+2sd": _ring_mean_plus_two_sd,
}


def local_compensated(maps: Tensor, *, radius: int, beta: float = 1.0, rule: str = "max") -> Tensor:
    """Local compensated soft-argmax with the window's background level chosen by ``rule``.

    The ``(2r+1)^2`` window around the argmax cell (clipped to the map), its background ``b`` from the
    ring of cells at Chebyshev distance ``r`` by ``RING_RULES[rule]``, weights ``max(exp(beta (H - b)) - 1, 0)``
    and their weighted mean, computed in float64. The argmax cell where every weight is 0.

    Args:
        maps: ``(N, H, W)``.
        radius: ``r >= 1`` with ``2r + 1 <= min(H, W)``.
        beta: multiplies the logits, > 0.
        rule: a key of ``RING_RULES``.

    Returns:
        ``(N, 2)`` float64, (x, y) in heatmap pixels.
    """
    height, width = maps.shape[-2:]
    cell_x, cell_y = _argmax_cells(maps)
    offsets = torch.arange(-radius, radius + 1)
    xs, ys = cell_x.unsqueeze(-1) + offsets, cell_y.unsqueeze(-1) + offsets  # (N, 2r+1)
    inside = (((ys >= 0) & (ys < height)).unsqueeze(-1) & ((xs >= 0) & (xs < width)).unsqueeze(-2))
    rows = torch.arange(maps.shape[0]).view(-1, 1, 1)
    window = maps[rows, ys.clamp(0, height - 1).unsqueeze(-1), xs.clamp(0, width - 1).unsqueeze(-2)].double()
    chebyshev = torch.maximum(offsets.abs().unsqueeze(-1), offsets.abs().unsqueeze(-2))
    ring = inside & (chebyshev == radius)
    background = RING_RULES[rule](window.flatten(1), ring.flatten(1), beta).view(-1, 1, 1)
    weights = _positive_part_of_expm1(beta * (window - background)) * inside
    coords, total = _weighted_mean(weights, xs.double(), ys.double())
    return _fallback_to_argmax(coords, total, cell_x, cell_y)


def dark_inputs(maps: Tensor) -> dict[str, Tensor]:
    """The inputs DARK is evaluated on: the map as given, its sigmoid, and the map minus its own minimum.

    DARK takes the log of the smoothed map, so it needs a positive peak; a decoder cannot know the true
    background, but it can shift by the map's minimum or squash logits through a sigmoid.
    """
    shifted = maps - maps.amin(dim=(1, 2), keepdim=True)
    return {"dark": maps, "dark-sigmoid": torch.sigmoid(maps), "dark-shifted": shifted}


def per_radius(maps: Tensor, radii: Tensor, decode: Callable[[Tensor, int], Tensor]) -> Tensor:
    """Decode each map with its own window radius: one call of ``decode(maps_of_radius, r)`` per distinct r.

    Args:
        maps: ``(N, H, W)``.
        radii: ``(N,)`` integer radii.
        decode: ``(M, H, W), r -> (M, 2)``.

    Returns:
        ``(N, 2)`` float64.
    """
    coords = torch.empty(maps.shape[0], 2, dtype=torch.float64)
    for radius in radii.unique().tolist():
        chosen = radii == radius
        coords[chosen] = decode(maps[chosen], int(radius)).double()
    return coords


def radius_for(sigmas: Tensor, factor: float, shape: tuple[int, int]) -> Tensor:
    """``ceil(factor * sigma)`` per map, at least 1 and at most what fits the map: ``(N,)`` long."""
    return (factor * sigmas - 1e-9).ceil().clamp(1, (min(shape) - 1) // 2).long()
