"""Drawing and summarising keypoint datasets: images with skeletons, top-down crops with targets, tables.

Figures use matplotlib's object-oriented API (no pyplot state; PNGs through the Agg canvas). Keypoints
labelled visible (2) are drawn filled, those labelled occluded (1) hollow; limbs of the left side orange,
of the right side blue, others green.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from rich.table import Table

from integral_pose.coords import heatmap_to_input
from integral_pose.data.augment import Augmentation
from integral_pose.data.coco import KeypointDataset, PersonRecord
from integral_pose.data.dataset import IMAGENET_MEAN, IMAGENET_STD, TopDownDataset, read_rgb
from integral_pose.data.spec import KeypointSpec

__all__ = ["KEYPOINT_BINS", "SIZE_BINS", "draw_crops", "draw_images", "person_table", "summarise_persons"]

SIDE_COLOURS = {"left": "tab:orange", "right": "tab:blue", "centre": "tab:green"}
# Bins of the summary: labelled keypoints per person, and COCO's area ranges (square pixels).
KEYPOINT_BINS = ((0, 0), (1, 5), (6, 10), (11, 15), (16, 17))
SIZE_BINS = {"small (< 32^2)": (0.0, 32.0**2), "medium": (32.0**2, 96.0**2), "large (>= 96^2)": (96.0**2, np.inf)}
OCCLUSION_BINS = ((0.0, 0.0), (0.0, 0.25), (0.25, 0.5), (0.5, 1.0))


def _side(spec: KeypointSpec, a: int, b: int) -> str:
    names = spec.names[a] + spec.names[b]
    return "left" if names.count("left") == 2 else "right" if names.count("right") == 2 else "centre"


def _draw_person(ax, spec: KeypointSpec, keypoints: np.ndarray, bbox: Sequence[float] | None = None) -> None:
    """Skeleton, keypoints (filled: visible, hollow: occluded) and optionally the box, on a matplotlib axis."""
    vis = keypoints[:, 2]
    for a, b in spec.skeleton:
        if vis[a] > 0 and vis[b] > 0:
            ax.plot(keypoints[[a, b], 0], keypoints[[a, b], 1], color=SIDE_COLOURS[_side(spec, a, b)], lw=1.5)
    shown = vis == 2
    ax.scatter(keypoints[shown, 0], keypoints[shown, 1], s=14, c="yellow", edgecolors="black", linewidths=0.6,
               zorder=3)
    hidden = vis == 1
    ax.scatter(keypoints[hidden, 0], keypoints[hidden, 1], s=16, facecolors="none", edgecolors="red",
               linewidths=1.2, zorder=3)
    if bbox is not None:
        x, y, w, h = bbox
        ax.add_patch(Rectangle((x, y), w, h, fill=False, color="white", lw=0.8, ls="--"))


def _legend(ax) -> None:
    ax.scatter([], [], s=14, c="yellow", edgecolors="black", label="visible (2)")
    ax.scatter([], [], s=16, facecolors="none", edgecolors="red", label="occluded (1)")
    ax.legend(loc="lower right", fontsize=7, framealpha=0.7)


def draw_images(dataset: KeypointDataset, out: str | os.PathLike[str], *, count: int = 6, seed: int = 0
                ) -> list[Path]:
    """Draw ``count`` images with annotated persons, all their persons' skeletons and boxes, one PNG each.

    Images are picked at random (from ``seed``) among those with a person with keypoints.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    by_image: dict[int, list[PersonRecord]] = {}
    for person in dataset.persons:
        by_image.setdefault(person.image_id, []).append(person)
    candidates = sorted(i for i, persons in by_image.items() if any(p.num_keypoints > 0 for p in persons))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(candidates, size=min(count, len(candidates)), replace=False) if candidates else []
    paths = []
    for image_id in chosen:
        image = read_rgb(dataset.image_path(int(image_id)))
        fig = Figure(figsize=(6, 6 * image.shape[0] / image.shape[1]), dpi=120)
        ax = fig.subplots()
        ax.imshow(image)
        for person in by_image[int(image_id)]:
            _draw_person(ax, dataset.spec, person.keypoints, person.bbox)
        _legend(ax)
        ax.set_title(f"{dataset.path.name}: image {image_id}, {len(by_image[int(image_id)])} persons", fontsize=8)
        ax.axis("off")
        path = out / f"image_{int(image_id)}.png"
        fig.savefig(path, bbox_inches="tight")
        paths.append(path)
    return paths


def draw_crops(dataset: KeypointDataset, out: str | os.PathLike[str], *, count: int = 8, seed: int = 0,
               augment: bool = True) -> Path:
    """Draw ``count`` top-down training samples (crop, keypoints from the targets, summed heatmaps) in one PNG.

    Keypoints are the regression targets mapped to input pixels, so the figure checks crops, augmentation and
    targets together.
    """
    samples = TopDownDataset(dataset, augment=Augmentation() if augment else None, seed=seed)
    rng = np.random.default_rng(seed)
    indices = rng.choice(len(samples), size=min(count, len(samples)), replace=False)
    fig = Figure(figsize=(2.0 * len(indices), 5.6), dpi=120)
    axes = fig.subplots(2, len(indices), squeeze=False)
    for col, index in enumerate(indices):
        sample = samples[int(index)]
        image = sample["image"].permute(1, 2, 0).numpy() * np.array(IMAGENET_STD) + np.array(IMAGENET_MEAN)
        on_input = heatmap_to_input(sample["coords"].double(), samples.stride).numpy()
        visibility = sample["weights"].numpy() * np.take(sample["keypoints"][:, 2].numpy(), _order(samples, index))
        axes[0, col].imshow(np.clip(image, 0, 1))
        _draw_person(axes[0, col], dataset.spec, np.concatenate([on_input, visibility[:, None]], axis=1))
        axes[1, col].imshow(sample["heatmaps"].sum(0).numpy(), cmap="magma")
        axes[0, col].set_title(f"annotation {int(sample['annotation_id'])}", fontsize=7)
        for ax in axes[:, col]:
            ax.axis("off")
    _legend(axes[0, 0])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "crops.png"
    fig.savefig(path, bbox_inches="tight")
    return path


def _order(samples: TopDownDataset, index: int) -> list[int]:
    """Keypoint order of a sample's targets: the flip permutation when the sample is flipped."""
    k = samples.dataset.spec.num_keypoints
    return list(samples.dataset.spec.flip_index) if samples.jitter(index).flip else list(range(k))


def summarise_persons(persons: Sequence[PersonRecord]) -> dict[str, dict[str, int]]:
    """Counts of non-crowd persons over the analysis axes: labelled keypoints, occlusion, size.

    Returns:
        ``{"keypoints": {"0": n, "1-5": n, ...}, "occluded share": {"0": n, "(0, 0.25]": n, ...},
        "size": {"small (< 32^2)": n, ...}}``. The occluded share is the fraction of a person's labelled
        keypoints with visibility 1 (persons with none labelled are left out of that axis).
    """
    persons = [p for p in persons if not p.iscrowd]
    labelled = np.array([p.num_keypoints for p in persons])
    occluded = np.array([(p.keypoints[:, 2] == 1).sum() for p in persons])
    area = np.array([p.area for p in persons])
    share = occluded[labelled > 0] / labelled[labelled > 0]
    return {
        "keypoints": {(f"{lo}" if lo == hi else f"{lo}-{hi}"): int(((labelled >= lo) & (labelled <= hi)).sum())
                      for lo, hi in KEYPOINT_BINS},
        "occluded share": {(f"{lo:g}" if lo == hi else f"({lo:g}, {hi:g}]"):
                           int(((share == lo) if lo == hi else ((share > lo) & (share <= hi))).sum())
                           for lo, hi in OCCLUSION_BINS},
        "size": {name: int(((area >= lo) & (area < hi)).sum()) for name, (lo, hi) in SIZE_BINS.items()},
    }


def person_table(summary: dict[str, dict[str, int]], title: str) -> Table:
    """A rich table of :func:`summarise_persons`: one row per bin, with counts and shares."""
    table = Table(title=title)
    for column in ("axis", "bin", "persons", "share"):
        table.add_column(column, justify="right" if column in ("persons", "share") else "left")
    for axis, bins in summary.items():
        total = max(sum(bins.values()), 1)
        for name, n in bins.items():
            table.add_row(axis, name, str(n), f"{100 * n / total:.1f}%")
    return table
