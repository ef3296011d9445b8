"""Synthetic people: a COCO-format keypoint dataset that ships with the library, generated in seconds.

``generate(out, images=N, seed=S)`` writes::

    out/train/000000000001.jpg ...                          JPEG images
    out/val/...
    out/annotations/person_keypoints_train.json              COCO person keypoints (17 keypoints)
    out/annotations/person_keypoints_val.json
    out/synth_manifest.json                                   arguments, counts, sizes and hashes

The dataset is built in a staging folder beside ``out`` and swapped in by one rename, so an interrupted run
(Ctrl-C, kill -9, a full disk) leaves the previous dataset as it was, and a re-run never mixes new files with old
ones. :func:`dataset_is_complete` checks a folder against its manifest (and against the arguments, to reuse it).

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

import ctypes
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rich.progress import Progress

from integral_pose.data._limits import check_seed, check_size
from integral_pose.data.spec import COCO_PERSON
from integral_pose.data.synth_draw import Layer, composite, draw_background, draw_figure, draw_occluder, pose_figure

__all__ = ["MANIFEST", "OCCLUDER", "RenderedImage", "dataset_is_complete", "generate", "render_image"]

OCCLUDER = 255  # label of occluders in the label buffer; figures are 1, 2, ...; the background 0
SPLITS = ("train", "val")
HEIGHT_RANGE = (0.15, 2.0)  # figure heights, fractions of the image height, drawn log-uniformly
JPEG_QUALITY = 92
MANIFEST = "synth_manifest.json"
MANIFEST_FORMAT = "integral-pose synth"
MAX_IMAGES = 1_000_000
MAX_WORKERS = 1024
MIN_SIDE = 32


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
        seed, index: the image's generator is a function of both only; integers in ``[0, 2**63)``.
        image_size: ``(H, W)``, 32 to 4096 pixels a side.
        people: inclusive range of figures drawn per image.
    """
    rng = np.random.default_rng([check_seed("seed", seed), check_seed("index", index)])
    size = check_size("image_size", tuple(image_size), minimum=MIN_SIDE)
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

    The dataset is drawn into a staging folder beside ``out`` (``.NAME.partial-*``) and replaces ``out`` as a
    whole once complete (an atomic exchange where Linux offers it); an error or interruption removes the staging
    folder and leaves ``out`` untouched, and a folder left by kill -9 is removed by the next run.

    Args:
        out: output folder; it must be new, empty, or a dataset written here before (nothing but ``train/``,
            ``val/``, ``annotations/`` and the manifest), since it is replaced as a whole.
        images: total number of images, 2 to 1,000,000 (the last ``round(images * val_fraction)``, at least 1,
            are val).
        seed: integer in ``[0, 2**63)``; the dataset is a function of ``seed`` (and the other arguments) only.
        val_fraction: share of images in the val split, in (0, 1).
        image_size: ``(H, W)`` of every image, 32 to 4096 pixels a side (drawing takes about 90 bytes per pixel
            per worker: 1.5 GB at 4096 x 4096).
        people: inclusive range of figures per image, 1 to 250.
        workers: processes drawing images, 1 to 1024; None: all CPU cores.
        progress: show a progress bar.

    Returns:
        split name -> annotation file path.

    Raises:
        ValueError: for an argument out of range, or an ``out`` holding files the generator did not write.
        OSError: when writing fails (e.g. a full disk); the previous dataset is then unchanged.
    """
    if isinstance(images, bool) or not isinstance(images, int) or not 2 <= images <= MAX_IMAGES:
        raise ValueError(f"images: expected an integer in [2, {MAX_IMAGES:,}], got {images!r}")
    seed = check_seed("seed", seed)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: expected a number in (0, 1), got {val_fraction!r}")
    if (
        len(people) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in people)
        or not 1 <= people[0] <= people[1] <= 250
    ):
        raise ValueError(f"people: expected (min, max) with 1 <= min <= max <= 250, got {tuple(people)}")
    size = check_size("image_size", tuple(image_size), minimum=MIN_SIDE)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or not 1 <= workers <= MAX_WORKERS):
        raise ValueError(f"workers: expected None or an integer in [1, {MAX_WORKERS}], got {workers!r}")
    out = Path(out)
    _check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(out)

    num_val = min(max(round(images * val_fraction), 1), images - 1)
    split_of = ["train"] * (images - num_val) + ["val"] * num_val
    arguments = {"images": images, "seed": seed, "val_fraction": val_fraction, "image_size": list(size),
                 "people": [int(people[0]), int(people[1])]}
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-{os.getpid()}-", dir=out.parent))
    try:
        _build(staging, split_of, arguments, workers or os.cpu_count() or 1, progress)
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {split: out / "annotations" / f"person_keypoints_{split}.json" for split in SPLITS}


def _build(root: Path, split_of: list[str], arguments: dict[str, Any], workers: int, progress: bool) -> None:
    """Draw every image into ``root``, then the annotation files, then the manifest (last: it marks completion)."""
    for split in SPLITS:
        (root / split).mkdir()
    (root / "annotations").mkdir()
    size, people, seed = tuple(arguments["image_size"]), tuple(arguments["people"]), arguments["seed"]
    tasks = [(seed, i, root / split_of[i] / f"{i + 1:012d}.jpg", size, people) for i in range(len(split_of))]
    per_image: list[list[dict[str, Any]]] = []
    with Progress(disable=not progress) as bar:
        job = bar.add_task("drawing synthetic people", total=len(tasks))
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                for anns in pool.map(_render_and_write, tasks, chunksize=16):
                    per_image.append(anns)
                    bar.advance(job)
        else:
            for task in tasks:
                per_image.append(_render_and_write(task))
                bar.advance(job)
    files = _write_annotations(root, per_image, split_of, size, seed)
    manifest = {"format": MANIFEST_FORMAT, "version": 1, **arguments, "splits": {}}
    for split, path in files.items():
        names = [task[2] for task in tasks if task[2].parent.name == split]
        manifest["splits"][split] = {
            "annotations": path.relative_to(root).as_posix(),
            "annotation_bytes": path.stat().st_size,
            "annotation_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "images": len(names),
            "image_bytes": sum(name.stat().st_size for name in names),
        }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))


def _check_replaceable(out: Path) -> None:
    """``out`` may be replaced as a whole: absent, an empty folder, or a dataset the generator wrote."""
    if not out.exists() and not out.is_symlink():
        return
    if out.is_symlink() or not out.is_dir():
        raise ValueError(f"out: {out} exists and is not a folder")
    foreign = sorted(p.name for p in out.iterdir() if p.name not in {*SPLITS, "annotations", MANIFEST})
    if foreign:
        raise ValueError(
            f"out: {out} holds files the generator did not write ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}); the folder is replaced as a whole, so give a new or empty "
            "folder, or one written by synth"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # no permission to signal it, or a platform without signal 0: assume alive
        return True
    return True


def _remove_abandoned(out: Path) -> None:
    """Remove staging folders of runs that died (kill -9); put back a previous dataset left aside by a run that
    died between the two renames of the fallback swap."""
    for kind in ("partial", "old"):
        for path in sorted(out.parent.glob(f".{out.name}.{kind}-*")):
            try:
                pid = int(path.name.removeprefix(f".{out.name}.{kind}-").split("-")[0])
            except ValueError:
                continue
            if _pid_alive(pid):
                continue
            if kind == "old" and not out.exists() and (path / "dataset").is_dir():
                os.rename(path / "dataset", out)
            shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where that is unavailable."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _swap_in(staging: Path, out: Path) -> None:
    """Make ``staging`` the folder ``out``; the previous ``out`` stays whole until the new one is in place."""
    if not out.exists():
        os.rename(staging, out)
    elif _exchange(staging, out):
        shutil.rmtree(staging)  # now the previous dataset
    else:
        aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
        os.rename(out, aside / "dataset")
        os.rename(staging, out)
        shutil.rmtree(aside)


def dataset_is_complete(
    root: str | os.PathLike[str],
    *,
    images: int | None = None,
    seed: int | None = None,
    image_size: Sequence[int] | None = None,
    val_fraction: float | None = None,
    people: Sequence[int] | None = None,
) -> bool:
    """Whether ``root`` holds a complete generated dataset, made with the given arguments (None: any).

    Complete means: the manifest is there and each split's annotation file has the recorded size and SHA-256,
    and its image folder exactly the recorded number of JPEGs with the recorded total size. Use it to reuse a
    dataset (``if not dataset_is_complete(root, images=3000, seed=0): generate(root, images=3000, seed=0)``).
    """
    root = Path(root)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            return False
        wanted = {"images": images, "seed": seed, "val_fraction": val_fraction,
                  "image_size": None if image_size is None else [int(v) for v in image_size],
                  "people": None if people is None else [int(v) for v in people]}
        if any(value is not None and manifest.get(key) != value for key, value in wanted.items()):
            return False
        for split in SPLITS:
            entry = manifest["splits"][split]
            annotations = root / entry["annotations"]
            if annotations.stat().st_size != entry["annotation_bytes"]:
                return False
            if hashlib.sha256(annotations.read_bytes()).hexdigest() != entry["annotation_sha256"]:
                return False
            names = [p for p in (root / split).iterdir() if p.suffix == ".jpg"]
            if len(names) != entry["images"] or sum(p.stat().st_size for p in names) != entry["image_bytes"]:
                return False
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return False
    return True


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
