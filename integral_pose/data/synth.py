"""Synthetic people: a COCO-format keypoint dataset that ships with the library, generated in seconds.

``generate(out, images=N, seed=S)`` writes::

    out/train/000000000001.jpg ...                          JPEG images
    out/val/...
    out/annotations/person_keypoints_train.json              COCO person keypoints (17 keypoints)
    out/annotations/person_keypoints_val.json

Each image holds several articulated figures (see :mod:`integral_pose.data.synth_draw`) on a cluttered
background, overlapping each other and covered in part by occluders drawn at random depths. Labels come from
a label buffer written alongside the pixels, so they are true by construction:

- visibility 2: the keypoint's pixel shows its own figure (topmost drawn object there);
- visibility 1: the pixel lies inside the image but shows an occluder or another figure;
- visibility 0 (coordinates 0, as COCO): the keypoint lies outside the image (truncation).

``bbox`` is the tight box of all pixels the figure was drawn on (hidden ones included) inside the image,
``area`` their count; figures with no pixel in the image are not annotated. Keypoint coordinates keep their
sub-pixel position (2 decimals). Image ``i`` depends on ``(seed, i)`` only, so the output is identical for
any number of worker processes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rich.progress import Progress

from integral_pose.data.spec import COCO_PERSON
from integral_pose.data.synth_draw import Layer, composite, draw_background, draw_figure, draw_occluder, pose_figure

__all__ = ["OCCLUDER", "RenderedImage", "generate", "render_image"]

OCCLUDER = 255  # label of occluders in the label buffer; figures are 1, 2, ...; the background 0
SPLITS = ("train", "val")
HEIGHT_RANGE = (0.15, 2.0)  # figure heights, fractions of the image height, drawn log-uniformly
JPEG_QUALITY = 92


@dataclass(frozen=True)
class RenderedImage:
    """One generated image with its labels.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        labels: ``(H, W)`` uint8: 0 background, ``j + 1`` figure j (topmost drawn), :data:`OCCLUDER`.
        keypoints: ``(P, 17, 3)`` float64 per annotated figure: x, y (image pixels), visibility.
        positions: ``(P, 17, 2)`` float64 where each keypoint is, also those outside the image (which
            ``keypoints`` sets to 0 as COCO does).
        drawn: P masks ``(H, W)`` bool, every pixel each annotated figure was drawn on (hidden ones included).
        figure_labels: ``(P,)`` the label of each annotated figure in ``labels``.
    """

    image: np.ndarray
    labels: np.ndarray
    keypoints: np.ndarray
    positions: np.ndarray
    drawn: tuple[np.ndarray, ...]
    figure_labels: tuple[int, ...]


def render_image(seed: int, index: int, image_size: Sequence[int] = (256, 256), people: Sequence[int] = (2, 6)
                 ) -> RenderedImage:
    """Render image ``index`` of the dataset of ``seed``.

    Args:
        seed, index: the image's generator is a function of both only.
        image_size: ``(H, W)``.
        people: inclusive range of figures drawn per image.
    """
    rng = np.random.default_rng([seed, index])
    size = (int(image_size[0]), int(image_size[1]))
    h, w = size
    image = draw_background(rng, size)
    labels = np.zeros(size, np.uint8)

    figures = []
    for _ in range(int(rng.integers(people[0], people[1] + 1))):
        height = h * float(np.exp(rng.uniform(*np.log(HEIGHT_RANGE))))
        if figures and rng.random() < 0.5:  # stand near someone already there, overlapping
            other = figures[int(rng.integers(len(figures)))]
            pelvis = other.pelvis + rng.normal(0, 0.25 * other.height, 2)
        else:
            pelvis = np.array([rng.uniform(-0.1, 1.1) * w, rng.uniform(0.0, 1.15) * h])
        figures.append(pose_figure(rng, pelvis, height))

    annotated: list[tuple[int, np.ndarray, np.ndarray]] = []  # (label, keypoints, drawn mask)
    for j, figure in enumerate(figures):
        for _ in range(rng.poisson(0.6)):  # occluders at random depths
            target = figures[int(rng.integers(len(figures)))]
            near = target.keypoints[int(rng.integers(17))]
            _paint(image, labels, draw_occluder(rng, near, target.height * rng.uniform(0.15, 0.5), size), OCCLUDER)
        layer = draw_figure(rng, figure, size)
        if _paint(image, labels, layer, j + 1):
            drawn = np.zeros(size, bool)
            drawn[layer.y0:layer.y0 + layer.mask.shape[0], layer.x0:layer.x0 + layer.mask.shape[1]] = layer.mask > 0
            annotated.append((j + 1, figure.keypoints, drawn))
    for _ in range(rng.poisson(0.5)):  # occluders in front of everyone
        target = figures[int(rng.integers(len(figures)))]
        _paint(image, labels, draw_occluder(rng, target.pelvis, target.height * rng.uniform(0.2, 0.6), size), OCCLUDER)

    keypoints = np.zeros((len(annotated), 17, 3))
    for p, (label, points, _) in enumerate(annotated):
        keypoints[p] = _label_keypoints(points, labels, label)
    return RenderedImage(
        image=image,
        labels=labels,
        keypoints=keypoints,
        positions=np.array([points for _, points, _ in annotated]).reshape(-1, 17, 2),
        drawn=tuple(d for _, _, d in annotated),
        figure_labels=tuple(label for label, _, _ in annotated),
    )


def _paint(image: np.ndarray, labels: np.ndarray, layer: Layer | None, label: int) -> bool:
    """Composite a layer if it has any pixel; returns whether it did."""
    if layer is None or not layer.mask.any():
        return False
    composite(image, labels, layer, label)
    return True


def _label_keypoints(points: np.ndarray, labels: np.ndarray, label: int) -> np.ndarray:
    """``(17, 2)`` -> ``(17, 3)``: visibility from the label buffer at each keypoint's pixel (see module doc)."""
    h, w = labels.shape
    px = np.round(points).astype(int)
    inside = (px[:, 0] >= 0) & (px[:, 0] < w) & (px[:, 1] >= 0) & (px[:, 1] < h)
    out = np.zeros((len(points), 3))
    for k in np.flatnonzero(inside):
        out[k, :2] = np.round(points[k], 2)
        out[k, 2] = 2 if labels[px[k, 1], px[k, 0]] == label else 1
    return out


def _annotations(rendered: RenderedImage, image_id: int, first_id: int) -> list[dict[str, Any]]:
    """COCO annotations of one rendered image."""
    out = []
    for p, drawn in enumerate(rendered.drawn):
        ys, xs = np.nonzero(drawn)
        x0, y0 = int(xs.min()), int(ys.min())
        kp = rendered.keypoints[p]
        out.append({
            "id": first_id + p,
            "image_id": image_id,
            "category_id": 1,
            "iscrowd": 0,
            # pixel j covers [j - 0.5, j + 0.5] (see integral_pose.coords): the box spans whole pixels
            "bbox": [x0 - 0.5, y0 - 0.5, float(xs.max() - x0 + 1), float(ys.max() - y0 + 1)],
            "area": float(len(xs)),
            "num_keypoints": int((kp[:, 2] > 0).sum()),
            "keypoints": [round(float(v), 2) if i % 3 < 2 else int(v) for i, v in enumerate(kp.reshape(-1))],
        })  # fmt: skip
    return out


def _render_and_write(task: tuple[int, int, Path, tuple[int, int], tuple[int, int]]) -> list[dict[str, Any]]:
    """Worker: render image ``index``, write its JPEG and return its annotations (ids numbered from 0)."""
    seed, index, path, image_size, people = task
    rendered = render_image(seed, index, image_size, people)
    bgr = cv2.cvtColor(rendered.image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise OSError(f"{path}: cannot write the image")
    return _annotations(rendered, index + 1, 0)


def generate(
    out: str | os.PathLike[str],
    *,
    images: int,
    seed: int = 0,
    val_fraction: float = 0.2,
    image_size: Sequence[int] = (256, 256),
    people: Sequence[int] = (2, 6),
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, Path]:
    """Write a synthetic COCO-format keypoint dataset (see the module docstring for the layout).

    Args:
        out: output folder, created if needed; existing files of the same names are overwritten.
        images: total number of images, >= 2 (the last ``round(images * val_fraction)``, at least 1, are val).
        seed: the dataset is a function of ``seed`` (and the other arguments) only.
        val_fraction: share of images in the val split, in (0, 1).
        image_size: ``(H, W)`` of every image.
        people: inclusive range of figures per image.
        workers: processes drawing images; None: all CPU cores.
        progress: show a progress bar.

    Returns:
        split name -> annotation file path.
    """
    if isinstance(images, bool) or not isinstance(images, int) or images < 2:
        raise ValueError(f"images: expected an integer >= 2, got {images!r}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: expected a number in (0, 1), got {val_fraction!r}")
    if len(people) != 2 or not 1 <= people[0] <= people[1] or people[1] > 250:
        raise ValueError(f"people: expected (min, max) with 1 <= min <= max <= 250, got {tuple(people)}")
    size = (int(image_size[0]), int(image_size[1]))
    if min(size) < 32:
        raise ValueError(f"image_size: expected (H, W) of at least 32 pixels each, got {tuple(image_size)}")
    out = Path(out)
    num_val = min(max(round(images * val_fraction), 1), images - 1)
    split_of = ["train"] * (images - num_val) + ["val"] * num_val
    for split in SPLITS:
        (out / split).mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)

    tasks = [(seed, i, out / split_of[i] / f"{i + 1:012d}.jpg", size, (int(people[0]), int(people[1])))
             for i in range(images)]
    if workers is None:
        workers = os.cpu_count() or 1
    per_image: list[list[dict[str, Any]]] = []
    with Progress(disable=not progress) as bar:
        job = bar.add_task("drawing synthetic people", total=images)
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                for anns in pool.map(_render_and_write, tasks, chunksize=16):
                    per_image.append(anns)
                    bar.advance(job)
        else:
            for task in tasks:
                per_image.append(_render_and_write(task))
                bar.advance(job)
    return _write_annotations(out, per_image, split_of, size, seed)


def _write_annotations(out: Path, per_image: list[list[dict[str, Any]]], split_of: list[str],
                       size: tuple[int, int], seed: int) -> dict[str, Path]:
    next_id = 1
    files = {}
    coco = {split: {"images": [], "annotations": []} for split in SPLITS}
    for i, anns in enumerate(per_image):
        split = coco[split_of[i]]
        split["images"].append({"id": i + 1, "file_name": f"{i + 1:012d}.jpg", "height": size[0], "width": size[1]})
        for ann in anns:
            split["annotations"].append({**ann, "id": next_id})
            next_id += 1
    for split in SPLITS:
        path = out / "annotations" / f"person_keypoints_{split}.json"
        content = {
            "info": {"description": f"integral-pose synthetic people, seed {seed}", "version": "1"},
            "images": coco[split]["images"],
            "annotations": coco[split]["annotations"],
            "categories": [COCO_PERSON.to_category(1, "person")],
        }
        path.write_text(json.dumps(content, separators=(",", ":")))
        files[split] = path
    return files
