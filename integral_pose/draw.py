"""Drawing predicted skeletons on images (the ``predict`` command's pictures).

Keypoints whose score exceeds a threshold are drawn filled, the others hollow (red); limbs are coloured by side as
in :mod:`integral_pose.data.show`, whose skeleton drawing this reuses. Coordinates are image pixels (see
:mod:`integral_pose.coords`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from integral_pose.data.show import _draw_person
from integral_pose.data.spec import KeypointSpec

__all__ = ["draw_predictions"]


def draw_predictions(image: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, spec: KeypointSpec,
                     path: str | os.PathLike[str], *, threshold: float = 0.2,
                     boxes: Sequence[Sequence[float]] | None = None, title: str | None = None) -> Path:
    """Write a PNG of ``image`` with every predicted person's skeleton.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        keypoints: ``(N, K, 2)`` image pixels.
        scores: ``(N, K)`` keypoint confidences; ``> threshold`` is drawn as confident (filled), the rest hollow.
        spec: skeleton and names (left/right colours).
        path: the PNG to write (its folder is created).
        threshold: see ``scores``.
        boxes: ``(N, 4)`` COCO boxes to outline, or None.
        title: drawn above the image.

    Returns:
        ``path``.
    """
    keypoints, scores = np.asarray(keypoints, np.float64), np.asarray(scores, np.float64)
    if keypoints.shape[:-1] != scores.shape or keypoints.shape[-1] != 2:
        raise ValueError(f"keypoints and scores: expected shapes (N, K, 2) and (N, K), got {keypoints.shape} and "
                         f"{scores.shape}")
    fig = Figure(figsize=(6, 6 * image.shape[0] / image.shape[1]), dpi=120)
    ax = fig.subplots()
    ax.imshow(image)
    for n in range(len(keypoints)):
        visibility = np.where(scores[n] > threshold, 2.0, 1.0)  # show.py: 2 filled, 1 hollow
        _draw_person(ax, spec, np.concatenate([keypoints[n], visibility[:, None]], axis=1),
                     None if boxes is None else boxes[n])
    ax.scatter([], [], s=14, c="yellow", edgecolors="black", label=f"score > {threshold:g}")
    ax.scatter([], [], s=16, facecolors="none", edgecolors="red", label=f"score <= {threshold:g}")
    ax.legend(loc="lower right", fontsize=7, framealpha=0.7)
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    if title:
        ax.set_title(title, fontsize=8)
    ax.axis("off")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path
