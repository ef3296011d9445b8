"""Drawing and summarising keypoint datasets: images with skeletons, top-down crops with targets, and persons
per sub-benchmark cell.

Figures use matplotlib's object-oriented API (no pyplot state; PNGs through the Agg canvas). Keypoints
labelled visible (2) are drawn filled, those labelled occluded (1) hollow; limbs of the left side orange,
of the right side blue, others green.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from rich.table import Table

from integral_pose.coords import heatmap_to_input
from integral_pose.data._limits import check_seed
from integral_pose.data.augment import Augmentation
from integral_pose.data.coco import KeypointDataset, PersonRecord
from integral_pose.data.dataset import TopDownDataset, read_rgb
from integral_pose.data.spec import KeypointSpec
from integral_pose.subsets.analysis import SubsetReport
from integral_pose.subsets.cells import AXES

__all__ = ["count_table", "draw_crops", "draw_images"]

SIDE_COLOURS = {"left": "tab:orange", "right": "tab:blue", "centre": "tab:green"}


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
    check_seed("seed", seed)
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
        record = dataset.images[int(image_id)]
        image = read_rgb(dataset.image_path(int(image_id)), (record.height, record.width))
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
        on_input = heatmap_to_input(sample["coords"].double(), samples.stride).numpy()
        order = list(dataset.spec.flip_index) if bool(sample["flipped"]) else slice(None)
        visibility = sample["weights"].numpy() * sample["keypoints"][order, 2].numpy()
        axes[0, col].imshow(sample["image"].permute(1, 2, 0).numpy())  # uint8 RGB
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


def count_table(reports: Mapping[str, SubsetReport]) -> Table:
    """Persons per cell of each sub-benchmark axis (see :mod:`integral_pose.subsets`), one column per dataset.

    Args:
        reports: ``{column title: report}``, e.g. ``{"train": analyse_subsets(train), "val": ...}``.
    """
    first = next(iter(reports.values()))
    table = Table(title="persons per sub-benchmark cell (non-crowd, with labelled keypoints)")
    table.add_column("axis")
    table.add_column("cell")
    for title in reports:
        table.add_column(title, justify="right")
    table.add_row("all", "", *(str(r.counts["all"]) for r in reports.values()))
    for axis in AXES:
        for cell, label in first.labels(axis).items():
            shares = [f"{r.counts[axis][cell]} ({100 * r.counts[axis][cell] / max(r.counts['all'], 1):.0f}%)"
                      for r in reports.values()]
            table.add_row(axis, label, *shares)
    return table
