"""Per-keypoint training losses and their one masked reducer.

Every loss returns ``(B, K)`` (any leading shape ``(...)`` works): one value per keypoint, so that unlabelled or
cropped-out keypoints, and maps the decoder marks invalid, are masked in one place, :func:`masked_mean`.
Coordinates are heatmap pixels (see :mod:`integral_pose.coords`). Nothing here validates or synchronises with
the host: these run inside the training step.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["coordinate_l1", "heatmap_mse", "js_to_target", "masked_mean"]


def heatmap_mse(logits: Tensor, targets: Tensor) -> Tensor:
    """Mean squared error between predicted maps and target maps, per map.

    Args:
        logits: ``(..., H, W)`` network output.
        targets: ``(..., H, W)`` target maps (Gaussians with peak 1, see :mod:`integral_pose.data.targets`).

    Returns:
        ``(...)``: the mean over the ``H * W`` cells.

    Example:
        >>> heatmap_mse(torch.zeros(1, 2, 2, 2), torch.ones(1, 2, 2, 2))
        tensor([[1., 1.]])
    """
    return (logits - targets).square().mean(dim=(-2, -1))


def coordinate_l1(coords: Tensor, targets: Tensor) -> Tensor:
    """L1 distance between predicted and target points, per point.

    Args:
        coords: ``(..., 2)`` predicted ``(x, y)``, heatmap pixels.
        targets: ``(..., 2)`` target ``(x, y)``, heatmap pixels.

    Returns:
        ``(...)``: ``|dx| + |dy|``.

    Example:
        >>> coordinate_l1(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, 4.0]]))
        tensor([2.5000])
    """
    return (coords - targets).abs().sum(dim=-1)


def js_to_target(logits: Tensor, targets: Tensor, *, beta: float | Tensor = 1.0, eps: float = 1e-12) -> Tensor:
    """Jensen-Shannon divergence between ``softmax(beta * logits)`` and the normalised target map (as in DSNT).

    A heatmap-shape term for integral regression: the softmax is pulled towards a Gaussian of the target's width
    around the target point, instead of any distribution that happens to have the right mean.

    Args:
        logits: ``(..., H, W)`` network output.
        targets: ``(..., H, W)`` non-negative target maps; each is divided by its sum (an all-zero map gives 0,
            masked by the caller's weights anyway).
        beta: the softmax's inverse temperature.

    Returns:
        ``(...)`` in nats, between 0 and ``ln 2``.
    """
    log_p = torch.log_softmax(beta * logits.flatten(-2), dim=-1)
    q = targets.flatten(-2)
    q = q / q.sum(dim=-1, keepdim=True).clamp(min=eps)
    p = log_p.exp()
    m = 0.5 * (p + q)
    log_m = m.clamp(min=eps).log()
    kl_pm = (p * (log_p - log_m)).sum(dim=-1)
    kl_qm = (q * (q.clamp(min=eps).log() - log_m)).sum(dim=-1)
    return 0.5 * (kl_pm + kl_qm)


def masked_mean(losses: Tensor, weights: Tensor) -> Tensor:
    """Weighted mean of per-keypoint losses: ``sum(w * l) / max(sum(w), 1)``.

    Args:
        losses: ``(B, K)`` (any shape).
        weights: the same shape, >= 0 (0 leaves a keypoint out; a keypoint weighted 0 may hold any finite loss).

    Returns:
        A scalar; 0 when every weight is 0.

    Example:
        >>> masked_mean(torch.tensor([[1.0, 5.0], [3.0, 100.0]]), torch.tensor([[1.0, 1.0], [1.0, 0.0]]))
        tensor(3.)
    """
    weighted = torch.where(weights > 0, losses * weights, torch.zeros_like(losses))
    return weighted.sum() / weights.sum().clamp(min=1.0)
