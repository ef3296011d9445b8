"""Detection decoders: the integer argmax and its sub-pixel refinements (quarter offset, DARK).

Coordinates are heatmap pixels, point order (x, y[, z]); see :mod:`integral_pose.coords`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from integral_pose._checks import MAX_SIGMA, check_heatmaps
from integral_pose.decode._peaks import compute_dtype, gather_window, peak

REFINEMENTS = (None, "quarter", "dark")
_DARK_FLOOR = 1e-10  # smoothed values are clipped here before the log, as in the DARK reference code
_DARK_MAX_STEP = 1.0  # a Newton step beyond one pixel means the local quadratic model does not hold


def argmax(heatmaps: Tensor, refine: str | None = None, ndim: int = 2, *,
           blur_sigma: float = 2.0) -> tuple[Tensor, Tensor]:
    """Location and value of each heatmap's maximum, optionally refined to sub-pixel precision.

    - ``refine=None``: the integer cell of the first maximum.
    - ``refine="quarter"``: the classic shift of 0.25 px along each axis towards the higher of the two
      neighbours (no shift where they are equal).
    - ``refine="dark"``: DARK (Zhang et al., CVPR 2020). The map is smoothed with a Gaussian of
      ``blur_sigma`` (the training target's sigma; 0 skips the smoothing), clipped at 1e-10, and the
      location is one Newton step on its log around the peak: ``-Hess^-1 grad`` from central differences.
      Only the smoothed values of the 3^ndim cells around each peak are computed. DARK assumes a positive,
      roughly Gaussian peak, as a network trained against Gaussian targets gives: on logits with a negative
      background pass ``sigmoid(heatmaps)`` or a shifted map instead. The step is skipped where the log's
      Hessian is not negative definite, and limited to 1 px per axis.

    Peaks on the border: refinement is skipped along an axis where the peak has no neighbour on one side
    (the other axes are refined as usual). A constant map gives its first cell, ``(0, 0)``.

    Args:
        heatmaps: ``(..., H, W)``, or ``(..., D, H, W)`` with ``ndim=3``; floating point.
        refine: ``None``, ``"quarter"`` or ``"dark"``.
        ndim: number of trailing spatial dimensions, 2 or 3.
        blur_sigma: standard deviation of DARK's smoothing in heatmap pixels, in ``[0, 64]`` (the targets' bound).

    Returns:
        ``(coords, scores)``: ``(..., ndim)`` in heatmap pixels as (x, y[, z]), and ``(...)`` the maximum
        value. Float32 for half-precision input, else the input dtype. Not differentiable.

    Raises:
        ValueError: naming the argument and the shape or value at fault.

    Example:
        >>> hm = torch.zeros(4, 5); hm[1, 3] = 1.0; hm[1, 4] = 0.5
        >>> argmax(hm)
        (tensor([3., 1.]), tensor(1.))
        >>> argmax(hm, refine="quarter")[0]
        tensor([3.2500, 1.0000])
    """
    check_heatmaps(heatmaps, ndim)
    if refine not in REFINEMENTS:
        raise ValueError(f"refine: expected one of None, 'quarter', 'dark', got {refine!r}")
    if isinstance(blur_sigma, bool) or not isinstance(blur_sigma, (int, float)) or not 0 <= blur_sigma <= MAX_SIGMA:
        raise ValueError(f"blur_sigma: expected a number in [0, {MAX_SIGMA:g}] heatmap pixels, got {blur_sigma!r}")
    shape = tuple(heatmaps.shape[-ndim:])
    with torch.no_grad():
        flat = heatmaps.detach().flatten(-ndim).to(compute_dtype(heatmaps.dtype))
        _, cell, value = peak(flat, shape)
        coords = cell.to(flat.dtype)
        if refine == "quarter":
            coords = coords + _quarter_offset(flat, cell, shape)
        elif refine == "dark":
            coords = coords + _dark_offset(flat, cell, shape, blur_sigma)
    return coords, value


def _interior(cell: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``(..., ndim)`` True along the axes where the cell has a neighbour on both sides."""
    sizes = torch.tensor(shape[::-1], device=cell.device)
    return (cell > 0) & (cell < sizes - 1)


def _quarter_offset(flat: Tensor, cell: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``(..., ndim)``: 0.25 px towards the higher neighbour along each interior axis."""
    ahead, behind = _axis_neighbours(gather_window(flat, cell, 1, shape), len(shape))
    return 0.25 * torch.sign(ahead - behind) * _interior(cell, shape)


def _axis_neighbours(window: Tensor, ndim: int) -> tuple[Tensor, Tensor]:
    """From a flattened ``3^ndim`` window, the values one step ahead and behind along each axis.

    Returns:
        ``(ahead, behind)``, each ``(..., ndim)`` in point order.
    """
    centre = (3**ndim - 1) // 2
    ahead = torch.stack([window[..., centre + 3**a] for a in range(ndim)], dim=-1)
    behind = torch.stack([window[..., centre - 3**a] for a in range(ndim)], dim=-1)
    return ahead, behind


def gaussian_kernel1d(sigma: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Normalised 1D Gaussian of odd length ``2 * ceil(3 sigma) + 1``; ``[1.]`` for ``sigma = 0``."""
    radius = math.ceil(3 * sigma)
    if radius == 0:
        return torch.ones(1, dtype=dtype, device=device)
    x = torch.arange(-radius, radius + 1, dtype=dtype, device=device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def _smoothed_neighbourhood(flat: Tensor, cell: Tensor, shape: tuple[int, ...], sigma: float) -> Tensor:
    """The map smoothed by a Gaussian, evaluated only on the ``3^ndim`` cells around each peak.

    The border is edge-replicated (as padding the map with its edge before blurring would).

    Returns:
        ``(..., 3, 3[, 3])`` indexed ``[z][y][x]`` offset by one, i.e. ``[..., 1, 1]`` is the peak.
    """
    ndim = len(shape)
    kernel = gaussian_kernel1d(sigma, flat.dtype, flat.device)
    radius = (kernel.numel() - 1) // 2 + 1
    patch = gather_window(flat, cell, radius, shape).unflatten(-1, (2 * radius + 1,) * ndim)
    # band[i, j] = kernel[i - j]: one matrix product per axis smooths the patch down to 3 cells along it.
    band = torch.zeros(2 * radius + 1, 3, dtype=flat.dtype, device=flat.device)
    for j in range(3):
        band[j : j + kernel.numel(), j] = kernel
    for axis in range(ndim):
        patch = (patch.movedim(-1 - axis, -1) @ band).movedim(-1, -1 - axis)
    return patch


def _dark_offset(flat: Tensor, cell: Tensor, shape: tuple[int, ...], sigma: float) -> Tensor:
    """``(..., ndim)``: the Newton step on the log of the smoothed map, see :func:`argmax`."""
    ndim = len(shape)
    log = _smoothed_neighbourhood(flat, cell, shape, sigma).clamp(min=_DARK_FLOOR).log()
    log = log.flatten(-ndim)  # 3^ndim values, centre at index (3^ndim - 1) / 2
    centre = (3**ndim - 1) // 2
    strides = [3**a for a in range(ndim)]  # point-order axis a moves the flat 3^ndim index by 3^a
    grad, hess = [], [[None] * ndim for _ in range(ndim)]
    for a, sa in enumerate(strides):
        ahead, behind = log[..., centre + sa], log[..., centre - sa]
        grad.append(0.5 * (ahead - behind))
        hess[a][a] = ahead - 2 * log[..., centre] + behind
        for b in range(a):
            sb = strides[b]
            cross = log[..., centre + sa + sb] - log[..., centre + sa - sb] - log[..., centre - sa + sb]
            hess[a][b] = hess[b][a] = 0.25 * (cross + log[..., centre - sa - sb])
    grad = torch.stack(grad, dim=-1)
    hess = torch.stack([torch.stack(row, dim=-1) for row in hess], dim=-2)
    # Axes without both neighbours are decoupled and left unrefined: zero gradient, Hessian row -e_a.
    interior = _interior(cell, shape)
    both = interior.unsqueeze(-1) & interior.unsqueeze(-2)
    eye = torch.eye(ndim, dtype=hess.dtype, device=hess.device)
    hess = torch.where(both, hess, -eye)
    grad = grad * interior
    factor, info = torch.linalg.cholesky_ex(-hess)
    step = torch.cholesky_solve(grad.unsqueeze(-1), factor).squeeze(-1)
    concave = (info == 0).unsqueeze(-1)
    return torch.where(concave, step.clamp(-_DARK_MAX_STEP, _DARK_MAX_STEP), torch.zeros_like(step))
