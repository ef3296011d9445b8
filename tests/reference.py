"""Independent float64 references for the decoder tests, written with NumPy from the definitions alone."""

from __future__ import annotations

import numpy as np


def grid(shape: tuple[int, ...]) -> list[np.ndarray]:
    """Pixel-centre coordinates of every cell, one array of ``shape`` per axis in point order (x, y[, z])."""
    return list(reversed(np.meshgrid(*[np.arange(n, dtype=np.float64) for n in shape], indexing="ij")))


def expectation(weights: np.ndarray) -> np.ndarray:
    """``sum w * x / sum w`` over the trailing spatial axes of ``weights``, in point order."""
    shape = weights.shape
    total = weights.sum()
    return np.array([(weights * axis).sum() / total for axis in grid(shape)])


def soft_argmax(heatmap: np.ndarray, beta: float, debias: bool) -> np.ndarray:
    """Expectation under exp(beta H) (plain) or exp(beta H) - 1 (compensated), from the definition."""
    scaled = beta * heatmap.astype(np.float64)
    if debias:
        return expectation(np.expm1(scaled))
    return expectation(np.exp(scaled - scaled.max()))


def gaussian(shape: tuple[int, ...], centre: tuple[float, ...], sigma: tuple[float, ...] | float,
             amplitude: float = 1.0, cutoff: float | None = None) -> np.ndarray:
    """``amplitude * exp(-sum ((x_a - centre_a) / sigma_a)^2 / 2)`` on a zero background, float64.

    ``centre`` and ``sigma`` are in point order; with ``cutoff`` the blob is set to exactly 0 beyond
    ``cutoff`` standard deviations (a bounded support).
    """
    sigmas = np.broadcast_to(np.asarray(sigma, dtype=np.float64), (len(shape),))
    squared = sum(((axis - c) / s) ** 2 for axis, c, s in zip(grid(shape), centre, sigmas, strict=True))
    blob = amplitude * np.exp(-0.5 * squared)
    if cutoff is not None:
        blob[squared > cutoff**2] = 0.0
    return blob
