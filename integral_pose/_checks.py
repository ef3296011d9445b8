"""The one place where argument checks and their error messages live.

Messages name the argument, what was expected and what arrived, for example
``heatmaps: expected at least 2 dimensions for ndim=2, got shape (64,)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def shape_str(shape: torch.Size | tuple[int, ...]) -> str:
    """``(64, 48)``-style text for a shape, ``(64,)`` for one dimension."""
    return str(tuple(shape))


def check_ndim(ndim: int) -> None:
    if ndim not in (2, 3):
        raise ValueError(f"ndim: expected 2 or 3, got {ndim!r}")


MAX_SIGMA = 64.0  # heatmap pixels; a wider Gaussian is flat on any map a network produces


def check_sigma(sigma: float, name: str = "sigma") -> None:
    """``sigma`` in ``(0, MAX_SIGMA]`` heatmap pixels, else ValueError naming it."""
    check_positive(name, sigma)
    if sigma > MAX_SIGMA:
        raise ValueError(f"{name}: expected at most {MAX_SIGMA:g} heatmap pixels, got {sigma!r}")


def check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")


def check_heatmaps(heatmaps: Tensor, ndim: int, name: str = "heatmaps", *, finite: bool = True) -> None:
    """Validate a batch of heatmaps of shape ``(..., H, W)`` or ``(..., D, H, W)``.

    With ``finite=False`` the values are left to the caller, which checks them with :func:`check_finite` once it
    has the per-map maxima it needs anyway.

    Raises:
        TypeError: if ``heatmaps`` is not a tensor.
        ValueError: for a wrong rank, a non-floating dtype, an empty spatial axis or non-finite values.
    """
    check_ndim(ndim)
    if not isinstance(heatmaps, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(heatmaps).__name__}")
    if heatmaps.dim() < ndim:
        raise ValueError(
            f"{name}: expected at least {ndim} dimensions for ndim={ndim}, got shape {shape_str(heatmaps.shape)}"
        )
    if not heatmaps.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point dtype, got {heatmaps.dtype}")
    spatial = heatmaps.shape[-ndim:]
    if any(n == 0 for n in spatial):
        raise ValueError(f"{name}: spatial dimensions must be non-empty, got shape {shape_str(heatmaps.shape)}")
    if finite:
        check_finite(heatmaps, name)


def check_finite(values: Tensor, name: str, *, maxima: Tensor | None = None) -> None:
    """Raise if ``values`` holds NaN or Inf.

    A NaN or Inf anywhere makes the sum non-finite, and one reduction costs far less than an elementwise
    test; only a non-finite sum (which finite values can also give, by overflow) is checked cell by cell.
    Given ``maxima``, maxima of ``values`` over some axes that the caller has computed anyway, the check is
    folded into them: NaN and +Inf show in a maximum, and only -Inf needs a reduction of its own (the minimum,
    which cannot overflow). Either way one host synchronisation.
    """
    if maxima is None:
        fine = torch.isfinite(values.sum())
    else:
        fine = torch.isfinite(maxima).all() & (values.amin() > -math.inf)
    if bool(fine):
        return
    bad = int((~torch.isfinite(values)).sum())
    if bad:
        raise ValueError(f"{name}: expected finite values, got {bad} NaN or Inf of {values.numel()}")
