"""Synthetic heatmaps for the bias study: Gaussian peaks, a background level, noise and a second peak.

Every generator builds a whole batch as one ``(N, H, W)`` tensor. Centres are in heatmap pixels, point
order (x, y), integer = pixel centre (see integral_pose.coords). Randomness comes from the
``torch.Generator`` passed in, so a seeded generator gives the same maps on every run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from integral_pose.coords import map_extent
from integral_pose.data.targets import sample_gaussians


def gaussian_maps(shape: Sequence[int], centres: Tensor, sigmas: Tensor | float, amplitudes: Tensor | float = 1.0,
                  *, dtype: torch.dtype = torch.float64) -> Tensor:
    """Isotropic Gaussian peaks on a zero background, one per map.

    ``A exp(-((x - cx)^2 + (y - cy)^2) / (2 sigma^2))`` sampled at the pixel centres.

    Args:
        shape: ``(H, W)``.
        centres: ``(N, 2)`` as (x, y) in heatmap pixels.
        sigmas: ``(N,)`` or a number, standard deviation in heatmap pixels.
        amplitudes: ``(N,)`` or a number, the peak height.
        dtype: of the result; float64 keeps the tails exact down to 1e-300.

    Returns:
        ``(N, H, W)``.

    Example:
        >>> gaussian_maps((1, 3), torch.tensor([[1.0, 0.0]]), 1.0)[0, 0, :].round(decimals=4)
        tensor([0.6065, 1.0000, 0.6065], dtype=torch.float64)
    """
    centres = centres.to(dtype)
    n = centres.shape[0]
    sigmas = torch.as_tensor(sigmas, dtype=dtype).expand(n)
    amplitudes = torch.as_tensor(amplitudes, dtype=dtype).expand(n)
    return amplitudes.view(n, 1, 1) * sample_gaussians(centres, shape, sigmas)


def position_grid(shape: Sequence[int], step: float) -> Tensor:
    """Keypoint positions covering a whole map, for the error-over-position maps.

    The positions sit at the centres of ``step``-sized tiles over ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``,
    so a step that is not a whole number of pixels visits many sub-pixel phases.

    Returns:
        ``(ny * nx, 2)`` as (x, y), row-major over (y, x), with ``nx = round(W / step)``, ``ny = round(H / step)``.
    """
    height, width = shape
    nx, ny = max(1, round(width / step)), max(1, round(height / step))
    (left, _), (top, _) = map_extent(shape)
    xs = left + (torch.arange(nx, dtype=torch.float64) + 0.5) * width / nx
    ys = top + (torch.arange(ny, dtype=torch.float64) + 0.5) * height / ny
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x.reshape(-1), y.reshape(-1)], dim=-1)


@dataclass(frozen=True)
class Peaks:
    """Parameters of a batch of realistic maps, one row per map; lengths and positions in heatmap pixels.

    Attributes:
        centres: ``(N, 2)`` (x, y) of the main peak: the truth the decoders are scored against.
        sigmas: ``(N,)`` width shared by both peaks.
        amplitudes: ``(N,)`` height of the main peak above the background.
        second: ``(N, 2)`` (x, y) of the second peak (ignored where ``ratios`` is 0).
        ratios: ``(N,)`` height of the second peak over the main one; 0 for no second peak.
    """

    centres: Tensor
    sigmas: Tensor
    amplitudes: Tensor
    second: Tensor
    ratios: Tensor


def random_peaks(n: int, shape: Sequence[int], generator: torch.Generator, *, sigma: tuple[float, float] = (1.0, 3.0),
                 amplitude: tuple[float, float] = (1.0, 10.0), margin: float = 9.0, second_peak: bool = False,
                 distance: tuple[float, float] = (8.0, 16.0), ratio: tuple[float, float] = (0.5, 0.9)) -> Peaks:
    """Draw ``n`` peaks uniformly: sub-pixel centres at least ``margin`` px inside the map.

    A second peak, when asked for, lies ``distance`` px away in a uniform direction; along each axis where
    it would leave the map it is mirrored to the other side of the main peak (a map at least
    ``2 * margin + distance`` wide keeps it inside).
    """

    def uniform(bounds: tuple[float, float], count: int = n) -> Tensor:
        low, high = bounds
        return low + (high - low) * torch.rand(count, generator=generator, dtype=torch.float64)

    height, width = shape
    centres = torch.stack([uniform((margin, width - 1 - margin)), uniform((margin, height - 1 - margin))], dim=-1)
    sigmas, amplitudes = uniform(sigma), uniform(amplitude)
    angle = uniform((0.0, 2 * math.pi))
    offset = uniform(distance).unsqueeze(-1) * torch.stack([angle.cos(), angle.sin()], dim=-1)
    limits = torch.tensor([width - 1, height - 1], dtype=torch.float64)
    outside = (centres + offset < 0) | (centres + offset > limits)
    second = centres + torch.where(outside, -offset, offset)
    ratios = uniform(ratio) if second_peak else torch.zeros(n, dtype=torch.float64)
    return Peaks(centres, sigmas, amplitudes, second, ratios)


def realistic_maps(peaks: Peaks, shape: Sequence[int], background: float, noise: float,
                   generator: torch.Generator, *, dtype: torch.dtype = torch.float32) -> Tensor:
    """``b + A G(centre) + r A G(second) + noise``: what a trained network outputs, ``(N, H, W)``.

    Args:
        peaks: the peak parameters (see :class:`Peaks`).
        shape: ``(H, W)``.
        background: the constant level ``b`` of the logits away from the peaks.
        noise: standard deviation of the additive, independent Gaussian noise per cell.
        generator: source of the noise.
        dtype: of the result (the maps are built in float64 first).
    """
    maps = gaussian_maps(shape, peaks.centres, peaks.sigmas, peaks.amplitudes)
    if bool((peaks.ratios > 0).any()):
        maps += gaussian_maps(shape, peaks.second, peaks.sigmas, peaks.ratios * peaks.amplitudes)
    maps += background
    if noise > 0:
        maps += noise * torch.randn(maps.shape, generator=generator, dtype=torch.float64)
    return maps.to(dtype)
