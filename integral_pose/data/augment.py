"""Training augmentation of top-down samples: horizontal flip, random scale and rotation, half-body crops.

All randomness of one sample comes from :func:`sample_rng`, a NumPy generator derived from
``(seed, epoch, index)`` alone, so a sample is the same whichever DataLoader worker draws it and however many
workers there are. Flips act on the input crop through the affine matrix (:mod:`integral_pose.data.crop`), so
the image is warped once and the pixel-centre convention holds: a flip maps ``x -> (W - 1) - x`` on any map of
width W, and flipping twice is the identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from integral_pose.data.spec import KeypointSpec

__all__ = [
    "Augmentation",
    "CropJitter",
    "annotation_order",
    "flip_heatmaps",
    "flip_points",
    "half_body_region",
    "sample_jitter",
    "sample_rng",
    "upper_body_indices",
]

LOWER_BODY_WORDS = ("hip", "knee", "ankle", "foot", "heel", "toe")


@dataclass(frozen=True)
class Augmentation:
    """Parameters of training augmentation; the defaults are SimpleBaseline/HRNet's for COCO.

    Attributes:
        flip_prob: probability of a horizontal flip (with the dataset's flip pairs).
        scale_factor: region size times ``clip(1 + scale_factor * N(0, 1), 1 - scale_factor, 1 + scale_factor)``.
        rotation_factor: rotation ``clip(rotation_factor * N(0, 1), -2 rf, 2 rf)`` degrees ...
        rotation_prob: ... applied with this probability (else no rotation).
        half_body_prob: probability of cropping to the upper or lower body ...
        half_body_min_keypoints: ... when the person has more than this many labelled keypoints.
    """

    flip_prob: float = 0.5
    scale_factor: float = 0.35
    rotation_factor: float = 45.0
    rotation_prob: float = 0.6
    half_body_prob: float = 0.3
    half_body_min_keypoints: int = 8

    def __post_init__(self) -> None:
        for name in ("flip_prob", "rotation_prob", "half_body_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: expected a probability in [0, 1], got {value!r}")
        if not 0.0 <= self.scale_factor < 1.0:
            raise ValueError(f"scale_factor: expected a number in [0, 1), got {self.scale_factor!r}")
        if not self.rotation_factor >= 0.0:
            raise ValueError(f"rotation_factor: expected a number >= 0, got {self.rotation_factor!r}")


@dataclass(frozen=True)
class CropJitter:
    """The random draws of one sample: region scale factor, rotation in degrees, flip, half-body choice.

    ``half_body`` is None (no half-body crop), ``"upper"`` or ``"lower"``.
    """

    scale: float = 1.0
    rotation: float = 0.0
    flip: bool = False
    half_body: str | None = None


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of one sample, a function of ``(seed, epoch, index)`` only."""
    return np.random.default_rng([seed, epoch, index])


def sample_jitter(rng: np.random.Generator, params: Augmentation, num_labelled: int) -> CropJitter:
    """Draw one sample's augmentation; always consumes the same number of draws from ``rng``.

    Args:
        rng: the sample's generator (:func:`sample_rng`).
        params: augmentation parameters.
        num_labelled: the person's number of keypoints with visibility > 0 (half-body needs enough of them).
    """
    u_half, u_upper, u_rot, u_flip = rng.random(4)
    z_scale, z_rot = rng.standard_normal(2)
    sf, rf = params.scale_factor, params.rotation_factor
    half_body = None
    if num_labelled > params.half_body_min_keypoints and u_half < params.half_body_prob:
        half_body = "upper" if u_upper < 0.5 else "lower"
    return CropJitter(
        scale=float(np.clip(1.0 + sf * z_scale, 1.0 - sf, 1.0 + sf)),
        rotation=float(np.clip(rf * z_rot, -2 * rf, 2 * rf)) if u_rot < params.rotation_prob else 0.0,
        flip=bool(u_flip < params.flip_prob),
        half_body=half_body,
    )


def upper_body_indices(spec: KeypointSpec) -> tuple[int, ...]:
    """Indices of the upper body: keypoints whose names mention none of hip, knee, ankle, foot, heel, toe.

    For COCO these are nose, eyes, ears, shoulders, elbows and wrists (indices 0-10).
    """
    return tuple(i for i, name in enumerate(spec.names) if not any(w in name for w in LOWER_BODY_WORDS))


def half_body_region(
    keypoints: np.ndarray, part: Sequence[int], input_size: Sequence[int], padding: float = 1.5
) -> tuple[np.ndarray, np.ndarray] | None:
    """Crop region around the labelled keypoints of one body part, or None when fewer than 2 are labelled.

    Args:
        keypoints: ``(K, 3)`` image pixels and visibility.
        part: indices of the part (e.g. :func:`upper_body_indices` or its complement).
        input_size: ``(H, W)``; the region gets its aspect ratio.
        padding: growth of the keypoints' extent after matching the aspect ratio (1.5 as in HRNet).

    Returns:
        ``centre`` (2,) ``(x, y)`` and ``size`` (2,) ``(H, W)`` in image pixels, float64.
    """
    chosen = keypoints[list(part)]
    chosen = chosen[chosen[:, 2] > 0, :2]
    if len(chosen) < 2:
        return None
    low, high = chosen.min(axis=0), chosen.max(axis=0)
    w, h = high - low
    aspect = input_size[1] / input_size[0]
    if w > aspect * h:
        h = w / aspect
    else:
        w = h * aspect
    return (low + high) / 2, np.array([h, w]) * padding


def flip_points(points, width: float, flip_index: Sequence[int]):
    """Mirror ``(..., K, 2)`` points on a map of width ``width``: ``x -> (width - 1) - x``, swapping flip pairs.

    NumPy arrays and torch tensors alike; returns a new array/tensor.
    """
    flipped = points[..., list(flip_index), :] * 1
    flipped[..., 0] = (width - 1) - flipped[..., 0]
    return flipped


def annotation_order(points, flipped, flip_index: Sequence[int]):
    """Put per-keypoint values of (possibly) flipped samples back in the annotation's keypoint order.

    A flipped sample's targets (and a model's predictions on its crop) list keypoint ``k`` of the mirrored person
    at index ``k``, which is annotated keypoint ``flip_index[k]`` (the left wrist of the mirror image is the
    right wrist of the person). The sample's ``inverse`` already includes the mirror, so predictions mapped to
    the image through it need only this reordering to compare with ``keypoints``: since ``flip_index`` is its own
    inverse, index ``k`` takes entry ``flip_index[k]`` where the sample is flipped.

    Args:
        points: ``(B, K, ...)`` (e.g. ``(B, K, 2)`` coordinates or ``(B, K)`` scores), NumPy or torch.
        flipped: ``(B,)`` bool, the samples' ``flipped``.
        flip_index: the spec's ``flip_index``.

    Returns:
        ``(B, K, ...)``, a new array/tensor.

    Example:
        >>> annotation_order(torch.tensor([[10.0, 11.0, 12.0], [10.0, 11.0, 12.0]]), torch.tensor([False, True]),
        ...                  (0, 2, 1))
        tensor([[10., 11., 12.],
                [10., 12., 11.]])
    """
    swapped = points[:, list(flip_index)]
    if isinstance(points, Tensor):
        mask = torch.as_tensor(flipped, dtype=torch.bool, device=points.device)
        return torch.where(mask.reshape(-1, *[1] * (points.dim() - 1)), swapped, points)
    mask = np.asarray(flipped, dtype=bool)
    return np.where(mask.reshape(-1, *[1] * (points.ndim - 1)), swapped, points)


def flip_heatmaps(heatmaps: Tensor, flip_index: Sequence[int]) -> Tensor:
    """Mirror ``(..., K, H, W)`` heatmaps and swap flip pairs: what the flipped input's heatmaps look like.

    Pixel ``j`` becomes ``W - 1 - j``, matching :func:`flip_points` with ``width = W``; no shift is needed.
    """
    return torch.flip(heatmaps, dims=(-1,))[..., list(flip_index), :, :]
