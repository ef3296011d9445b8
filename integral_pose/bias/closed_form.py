"""The closed form of the soft-argmax bias; see :mod:`integral_pose.bias`."""


from __future__ import annotations

import math

import torch
from torch import Tensor

from integral_pose._checks import check_heatmaps, check_positive
from integral_pose.coords import grid_mean as mean_pixel

__all__ = ["background_share", "closed_form", "predicted_soft_argmax"]


def closed_form(peak_location: Tensor, share: Tensor, grid_mean: Tensor) -> Tensor:
    """``J_soft = (1 - n / C) J + (n / C) c``: where plain soft-argmax lands.

    Args:
        peak_location: ``(..., 2)`` the peak's own expectation ``J`` (or the keypoint, as the
            closed form's prediction), (x, y) in heatmap pixels.
        share: ``(...)`` the background's share ``n / C`` of the softmax mass, in (0, 1].
        grid_mean: ``(2,)`` the mean pixel coordinate ``c = ((W - 1) / 2, (H - 1) / 2)``.

    Returns:
        ``(..., 2)`` the plain soft-argmax location, (x, y) in heatmap pixels.

    Example:
        >>> closed_form(torch.tensor([10.0, 4.0]), torch.tensor(0.25), torch.tensor([23.5, 31.5]))
        tensor([13.3750, 10.8750])
    """
    share = share.unsqueeze(-1)
    return (1 - share) * peak_location + share * grid_mean.to(peak_location.dtype)


def background_share(heatmaps: Tensor, *, beta: float = 1.0) -> Tensor:
    """``n / C``: the share of the softmax mass that ``n`` zero logits would hold, per map.

    Computed as ``exp(log n - logsumexp(beta * H))`` in float64, so that it neither overflows nor rounds to 0.

    Args:
        heatmaps: ``(..., H, W)`` logits.
        beta: multiplies the logits, > 0.

    Returns:
        ``(...)`` float64.

    Example:
        >>> background_share(torch.zeros(2, 3))   # a flat zero map: only background
        tensor(1., dtype=torch.float64)
    """
    check_heatmaps(heatmaps, 2)
    check_positive("beta", beta)
    scaled = beta * heatmaps.to(torch.float64).flatten(-2)
    return torch.exp(math.log(scaled.shape[-1]) - torch.logsumexp(scaled, dim=-1))


def predicted_soft_argmax(heatmaps: Tensor, keypoints: Tensor, *, beta: float = 1.0) -> Tensor:
    """The closed form's prediction of plain soft-argmax on maps whose peak is centred on ``keypoints``.

    Args:
        heatmaps: ``(..., H, W)`` logits.
        keypoints: ``(..., 2)`` the true peak centres, (x, y) in heatmap pixels.
        beta: multiplies the logits, > 0.

    Returns:
        ``(..., 2)`` float64: ``(1 - n / C) keypoint + (n / C) c``, (x, y) in heatmap pixels.
    """
    grid_mean = torch.tensor(mean_pixel(heatmaps.shape[-2:]), dtype=torch.float64)
    return closed_form(keypoints.to(torch.float64), background_share(heatmaps, beta=beta), grid_mean)

