"""Top-down inference: batches of crops -> keypoints in image pixels, with flip test, scores, OKS-NMS and
COCO results. Shared by evaluation, training validation, the ``predict`` command and export.

One sample goes image -> crop (``inverse``: input -> image pixels) -> model -> logits ``(B, K, h, w)`` ->
``method.decode`` -> heatmap pixels -> input pixels (:func:`integral_pose.coords.heatmap_to_input` with the
model's stride) -> image pixels (the crop's inverse). See :mod:`integral_pose.coords` for the pixel convention.

Flip test. The model also sees the horizontally mirrored crop. With pixel centres at integer coordinates the
mirror of a map of width W is exactly ``x -> W - 1 - x`` on the input and on the heatmap alike (``W_in = s W``
makes the two mirrors the same map through ``x_in = s x + (s - 1) / 2``), so the flipped branch is mapped back
without any shift: ``flip_merge == "heatmaps"`` averages the logits with
:func:`~integral_pose.data.augment.flip_heatmaps` of the flipped logits and decodes once; ``"coords"`` decodes
both and averages the coordinates after :func:`~integral_pose.data.augment.flip_points` of the flipped ones.
HRNet's one-pixel shift of the flipped heatmaps compensates its own convention (``x_hm = x_in / s``, whose mirror
is ``W - 1/s - x``); here it would only add error (``flip_shift`` exists to measure that, see docs/inference.md).

Scores. Every keypoint gets a confidence (the method's own, or one of :data:`KEYPOINT_SCORES`); a person's score
is the standard rescoring :func:`person_scores` (mean of the keypoint scores above a threshold times the box
score), which ranks predictions for OKS AP.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from integral_pose.coords import heatmap_to_input
from integral_pose.data.augment import flip_heatmaps, flip_points
from integral_pose.data.crop import DEFAULT_PADDING, apply_affine, crop_box
from integral_pose.results import KeypointResults

__all__ = [
    "FLIP_MERGES",
    "KEYPOINT_SCORES",
    "BoxCrops",
    "Predictions",
    "image_paths",
    "keypoint_scores",
    "oks_nms",
    "pairwise_oks",
    "person_scores",
    "predict",
    "spec_of",
    "to_results",
]

FLIP_MERGES = ("heatmaps", "coords")
KEYPOINT_SCORES = ("method", "peak", "mass", "spread")
DEFAULT_KEYPOINT_THRESHOLD = 0.2  # SimpleBaseline/HRNet's in_vis_thre
DEFAULT_NMS_THRESHOLD = 0.9  # SimpleBaseline/HRNet's oks_thre


@dataclass(frozen=True)
class Predictions:
    """Keypoints of N person boxes, in image pixels (see :mod:`integral_pose.coords`).

    Attributes:
        keypoints: ``(N, K, 2)`` float64 ``(x, y)`` image pixels.
        scores: ``(N, K)`` float64 per-keypoint confidence.
        box_scores: ``(N,)`` float64, the score of each box (1 for ground-truth boxes, the detector's otherwise).
        image_ids: ``(N,)`` int64.
        annotation_ids: ``(N,)`` int64, the ground-truth person of each box, -1 for detected boxes.
        boxes: ``(N, 4)`` float64 COCO ``(x, y, w, h)`` of each box, image pixels.
        areas: ``(N,)`` float64 area of each crop region in square image pixels (box grown to the input's aspect
            ratio and padded), the OKS scale of :func:`oks_nms` as in SimpleBaseline/HRNet.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    box_scores: np.ndarray
    image_ids: np.ndarray
    annotation_ids: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray

    def __len__(self) -> int:
        return len(self.image_ids)

    @property
    def num_keypoints(self) -> int:
        return self.keypoints.shape[1]

    def select(self, index: np.ndarray) -> Predictions:
        """The predictions at ``index`` (integer indices or a boolean mask), in that order."""
        return Predictions(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def person_scores(self, threshold: float = DEFAULT_KEYPOINT_THRESHOLD) -> np.ndarray:
        """``(N,)`` rescored person scores, see :func:`person_scores`."""
        return person_scores(self.scores, self.box_scores, threshold=threshold)


# --- keypoint and person scores -----------------------------------------------------------------------------------


def keypoint_scores(logits: Tensor, kind: str, *, beta: float = 1.0, radius: int = 2) -> Tensor:
    """A confidence per map, from the logits alone (candidates for ranking soft-argmax predictions).

    - ``peak``: the largest logit of the map.
    - ``mass``: the mass of ``softmax(beta * H)`` within the ``(2r+1) x (2r+1)`` cells around the argmax cell
      (clipped to the map), in [0, 1].
    - ``spread``: ``1 / (1 + s)`` with ``s = sqrt((var_x + var_y) / 2)`` the spread of the weights
      ``softmax(beta * H)`` in heatmap pixels, in (0, 1]: 1 for a single-cell peak.

    Args:
        logits: ``(..., H, W)``, floating point.
        kind: ``peak``, ``mass`` or ``spread``.
        beta: inverse temperature of the softmax (``mass``, ``spread``); the method's beta.
        radius: ``r`` of the ``mass`` window, cells.

    Returns:
        ``(...)`` in the dtype of ``logits`` (float32 for half precision).
    """
    if kind not in ("peak", "mass", "spread"):
        raise ValueError(f"kind: expected 'peak', 'mass' or 'spread', got {kind!r}")
    flat = logits.flatten(-2).float() if logits.dtype in (torch.float16, torch.bfloat16) else logits.flatten(-2)
    if kind == "peak":
        return flat.amax(dim=-1)
    h, w = logits.shape[-2:]
    z = beta * flat
    if kind == "mass":
        index = flat.argmax(dim=-1, keepdim=True)
        xs = torch.arange(w, device=flat.device).repeat(h)
        ys = torch.arange(h, device=flat.device).repeat_interleave(w)
        near = ((xs - index % w).abs() <= radius) & ((ys - torch.div(index, w, rounding_mode="floor")).abs() <= radius)
        return torch.exp(torch.logsumexp(z.masked_fill(~near, -torch.inf), dim=-1) - torch.logsumexp(z, dim=-1))
    weights = torch.softmax(z, dim=-1).unflatten(-1, (h, w))
    variance = flat.new_zeros(flat.shape[:-1])
    for marginal, n in ((weights.sum(dim=-2), w), (weights.sum(dim=-1), h)):
        axis = torch.arange(n, dtype=flat.dtype, device=flat.device)
        mean = marginal @ axis
        variance = variance + marginal @ axis**2 - mean**2
    return 1.0 / (1.0 + (variance.clamp(min=0) / 2).sqrt())


def person_scores(scores: np.ndarray, box_scores: np.ndarray, *,
                  threshold: float = DEFAULT_KEYPOINT_THRESHOLD) -> np.ndarray:
    """The standard rescoring (SimpleBaseline/HRNet): mean of a person's keypoint scores above ``threshold``,
    times its box score; 0 where no keypoint score exceeds the threshold.

    Args:
        scores: ``(N, K)`` keypoint confidences.
        box_scores: ``(N,)``.
        threshold: keypoint scores ``> threshold`` count.

    Returns:
        ``(N,)`` float64.

    Example:
        >>> person_scores(np.array([[0.9, 0.1, 0.5]]), np.array([0.8]))  # (0.9 + 0.5) / 2 * 0.8
        array([0.56])
    """
    scores = np.asarray(scores, dtype=np.float64)
    above = scores > threshold
    count = above.sum(axis=-1)
    mean = np.where(count > 0, (scores * above).sum(axis=-1) / np.maximum(count, 1), 0.0)
    return mean * np.asarray(box_scores, dtype=np.float64)


# --- the forward pass ---------------------------------------------------------------------------------------------


def _check_flip(flip_index: Sequence[int], num_keypoints: int, flip_merge: str) -> list[int]:
    order = [int(i) for i in flip_index]
    if sorted(order) != list(range(num_keypoints)):
        raise ValueError(f"flip_index: expected a permutation of 0..{num_keypoints - 1} (K = {num_keypoints} from the "
                         f"logits), got {list(flip_index)}")
    if flip_merge not in FLIP_MERGES:
        raise ValueError(f"method.flip_merge: expected 'heatmaps' or 'coords', got {flip_merge!r}")
    return order


def _shift_right(maps: Tensor, pixels: int) -> Tensor:
    """HRNet's shift of flipped heatmaps: columns move ``pixels`` to the right, the first ones repeat column 0."""
    if pixels == 0:
        return maps
    index = (torch.arange(maps.shape[-1], device=maps.device) - pixels).clamp(min=0)
    return maps.index_select(-1, index)


def _decode_batch(model: nn.Module, method, images: Tensor, *, flip_index: Sequence[int] | None, keypoint_score: str,
                  score_beta: float, score_radius: int, flip_shift: float) -> tuple[Tensor, Tensor, Tensor]:
    """``images (B, 3, H, W)`` -> ``(coords (B, K, 2) heatmap px, scores (B, K), logits (B, K, h, w))``."""
    logits = model(images)

    def scores_of(maps: Tensor, decoded: Tensor) -> Tensor:
        if keypoint_score == "method":
            return decoded
        return keypoint_scores(maps, keypoint_score, beta=score_beta, radius=score_radius)

    if flip_index is None:
        coords, scores = method.decode(logits)
        return coords, scores_of(logits, scores), logits
    order = _check_flip(flip_index, logits.shape[1], getattr(method, "flip_merge", None))
    logits_f = model(torch.flip(images, dims=(-1,)))
    back = flip_heatmaps(logits_f, order)  # what the unflipped crop's logits would be
    if method.flip_merge == "heatmaps":
        merged = 0.5 * (logits + _shift_right(back, int(flip_shift)))
        coords, scores = method.decode(merged)
        return coords, scores_of(merged, scores), merged
    coords, scores = method.decode(logits)
    coords_f, scores_f = method.decode(logits_f)
    coords_f = flip_points(coords_f, logits.shape[-1], order)
    coords_f[..., 0] += flip_shift
    if keypoint_score == "method":
        scores = 0.5 * (scores + scores_f[..., order])
    else:
        scores = 0.5 * (scores_of(logits, scores) + scores_of(back, scores_f))
    return 0.5 * (coords + coords_f), scores, logits


def predict(model: nn.Module, method, loader: DataLoader | Sequence[dict], *, flip_index: Sequence[int],
            flip_test: bool = True, device: str | torch.device = "cpu", progress: bool = False,
            keypoint_score: str = "method", score_beta: float | None = None, score_radius: int = 2,
            flip_shift: float = 0.0) -> Predictions:
    """Run a top-down model over batches of crops and return keypoints in image pixels.

    Args:
        model: images ``(B, 3, H, W)`` (0..255, uint8 or float) -> logits ``(B, K, H / s, W / s)``; its ``stride``
            attribute ``s`` (inferred from the shapes where absent) maps heatmap to input pixels. Put in eval mode
            for the call (its training mode is restored after).
        method: has ``decode(logits) -> (coords (B, K, 2) heatmap px, scores (B, K))`` and ``flip_merge``
            (``"heatmaps"`` or ``"coords"``), as :class:`integral_pose.methods.Method`.
        loader: batches with ``image (B, 3, H, W)``, ``inverse (B, 2, 3)`` (input -> image pixels), ``bbox (B, 4)``,
            ``score (B,)``, ``image_id (B,)``, ``annotation_id (B,)`` (a DataLoader over
            :class:`~integral_pose.data.dataset.TopDownDataset` or :class:`BoxCrops`).
        flip_index: the keypoint permutation of a horizontal flip (``spec.flip_index``).
        flip_test: also run the mirrored crops and merge as ``method.flip_merge`` says (see the module docstring).
        device: where the model runs.
        progress: show a progress bar on stderr.
        keypoint_score: ``method`` (the scores ``method.decode`` returns) or a :func:`keypoint_scores` kind
            (``peak``, ``mass``, ``spread``), computed on the merged logits (heatmap merge) or averaged over both
            branches (coordinate merge).
        score_beta: beta of the ``mass`` and ``spread`` scores; ``method.beta`` (else 1) where None.
        score_radius: window radius of the ``mass`` score, cells.
        flip_shift: heatmap pixels added to x of the flipped branch after mapping it back (an integer for the
            heatmap merge, where the maps move as HRNet's). 0 is exact; other values are for measurement only.

    Returns:
        :class:`Predictions`, one per box, in loader order.
    """
    if keypoint_score not in KEYPOINT_SCORES:
        raise ValueError(f"keypoint_score: expected one of {', '.join(KEYPOINT_SCORES)}, got {keypoint_score!r}")
    if not float(flip_shift).is_integer() and flip_test and getattr(method, "flip_merge", None) == "heatmaps":
        raise ValueError(f"flip_shift: the heatmap merge shifts whole pixels, got {flip_shift!r}")
    beta = float(getattr(method, "beta", 1.0)) if score_beta is None else float(score_beta)
    device = torch.device(device)
    parts: dict[str, list[np.ndarray]] = {f.name: [] for f in fields(Predictions)}
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), _progress(progress, loader) as advance:
            for batch in loader:
                images = batch["image"].to(device, non_blocking=True)
                coords, scores, logits = _decode_batch(
                    model, method, images, flip_index=flip_index if flip_test else None,
                    keypoint_score=keypoint_score, score_beta=beta, score_radius=score_radius, flip_shift=flip_shift)
                stride = _stride(model, images.shape[-2:], logits.shape[-2:])
                inverse = batch["inverse"].to(torch.float64)
                on_input = heatmap_to_input(coords.detach().to("cpu", torch.float64), (stride, stride))
                h_in, w_in = images.shape[-2:]
                parts["keypoints"].append(apply_affine(on_input, inverse).numpy())
                parts["scores"].append(scores.detach().to("cpu", torch.float64).numpy())
                parts["box_scores"].append(batch["score"].to(torch.float64).numpy().reshape(-1))
                parts["image_ids"].append(batch["image_id"].to(torch.int64).numpy().reshape(-1))
                parts["annotation_ids"].append(batch["annotation_id"].to(torch.int64).numpy().reshape(-1))
                parts["boxes"].append(batch["bbox"].to(torch.float64).numpy().reshape(-1, 4))
                parts["areas"].append(np.abs(np.linalg.det(inverse[:, :, :2].numpy())) * h_in * w_in)
                advance()
    finally:
        model.train(was_training)
    if not parts["keypoints"]:
        raise ValueError("loader: yielded no batches")
    return Predictions(**{name: np.concatenate(values) for name, values in parts.items()})


def _stride(model: nn.Module, input_size: Sequence[int], heatmap_size: Sequence[int]) -> int:
    """The model's ``stride``, checked against the shapes (or inferred from them where the model has none)."""
    (h_in, w_in), (h, w) = input_size, heatmap_size
    stride = getattr(model, "stride", None)
    if stride is None:
        stride = w_in // w
    if h_in != stride * h or w_in != stride * w:
        raise ValueError(f"model: input {h_in}x{w_in} and heatmaps {h}x{w} do not match stride {stride}; "
                         f"use an input size divisible by the stride")
    return int(stride)


class _progress:
    """A rich progress bar over the loader's batches on stderr (a no-op when disabled); yields ``advance``."""

    def __init__(self, enabled: bool, loader) -> None:
        self.enabled, self.total = enabled, (len(loader) if hasattr(loader, "__len__") else None)

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("predicting", total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)


# --- OKS non-maximum suppression ----------------------------------------------------------------------------------


def pairwise_oks(keypoints: np.ndarray, areas: np.ndarray, sigmas: Sequence[float],
                 mask: np.ndarray | None = None) -> np.ndarray:
    """OKS between every two predictions, with the mean of their two areas as the scale.

    ``OKS_ij = mean over counted k of exp(-d_k^2 / (2 * ((a_i + a_j) / 2 + eps) * (2 sigma_k)^2))``, counting the
    keypoints that ``mask`` holds in both predictions (all where None); 0 where none counts.

    Args:
        keypoints: ``(D, K, 2)`` image pixels.
        areas: ``(D,)`` square pixels.
        sigmas: ``(K,)`` OKS sigmas.
        mask: ``(D, K)`` bool, or None.

    Returns:
        ``(D, D)`` float64, symmetric, 1 on the diagonal where a keypoint counts.
    """
    xy = np.asarray(keypoints, dtype=np.float64)
    d2 = ((xy[:, None] - xy[None, :]) ** 2).sum(axis=-1)  # (D, D, K)
    scale = (np.asarray(areas, np.float64)[:, None] + np.asarray(areas, np.float64)[None, :]) / 2 + np.spacing(1)
    e = np.exp(-d2 / ((2 * np.asarray(sigmas, np.float64)) ** 2) / scale[..., None] / 2)
    if mask is None:
        return e.mean(axis=-1)
    both = mask[:, None, :] & mask[None, :, :]
    count = both.sum(axis=-1)
    return np.where(count > 0, (e * both).sum(axis=-1) / np.maximum(count, 1), 0.0)


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray, image_ids: np.ndarray, *,
            sigmas: Sequence[float], threshold: float = DEFAULT_NMS_THRESHOLD,
            keypoint_scores: np.ndarray | None = None, keypoint_threshold: float | None = None) -> np.ndarray:
    """Greedy non-maximum suppression by OKS, per image (as SimpleBaseline/HRNet's ``oks_nms``).

    In order of decreasing score, a prediction is kept unless a kept prediction of its image has OKS
    ``> threshold`` with it (:func:`pairwise_oks`); suppressed predictions suppress nothing.

    Args:
        keypoints: ``(N, K, 2)`` image pixels.
        scores: ``(N,)`` person scores (ties keep input order).
        areas: ``(N,)`` OKS scale per prediction, square pixels (:attr:`Predictions.areas`).
        image_ids: ``(N,)``.
        sigmas: ``(K,)`` OKS sigmas.
        threshold: OKS above which the lower-scoring prediction goes.
        keypoint_scores: ``(N, K)``; with ``keypoint_threshold``, only keypoints scoring above it in both
            predictions count in the OKS (HRNet meant to do this with ``in_vis_thre`` but its ``list(a) and list(b)``
            reads only the second list).
        keypoint_threshold: see ``keypoint_scores``; None counts every keypoint.

    Returns:
        ``(M,)`` int64 indices of the kept predictions, ascending.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    n = len(keypoints)
    if keypoints.ndim != 3 or keypoints.shape[2] != 2:
        raise ValueError(f"keypoints: expected shape (N, K, 2), got {keypoints.shape}")
    for name, value in (("scores", scores), ("areas", areas), ("image_ids", image_ids)):
        if np.shape(value) != (n,):
            raise ValueError(f"{name}: expected shape ({n},), got {np.shape(value)}")
    if len(sigmas) != keypoints.shape[1]:
        raise ValueError(f"sigmas: expected {keypoints.shape[1]} values, got {len(sigmas)}")
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold: expected an OKS in [0, 1], got {threshold!r}")
    if (keypoint_threshold is None) != (keypoint_scores is None):
        raise ValueError("keypoint_scores and keypoint_threshold: give both or neither")
    scores, image_ids = np.asarray(scores, dtype=np.float64), np.asarray(image_ids)
    mask = None if keypoint_threshold is None else np.asarray(keypoint_scores) > keypoint_threshold
    kept: list[np.ndarray] = []
    for image_id in np.unique(image_ids):
        members = np.flatnonzero(image_ids == image_id)
        members = members[np.argsort(-scores[members], kind="stable")]
        oks = pairwise_oks(keypoints[members], np.asarray(areas)[members], sigmas,
                           None if mask is None else mask[members])
        alive = np.ones(len(members), dtype=bool)
        for i in range(len(members)):
            if alive[i]:
                alive[i + 1:] &= oks[i, i + 1:] <= threshold
        kept.append(members[alive])
    return np.sort(np.concatenate(kept)) if kept else np.zeros(0, np.int64)


# --- COCO results -------------------------------------------------------------------------------------------------


def to_results(predictions: Predictions, *, category_id: int = 1,
               keypoint_threshold: float = DEFAULT_KEYPOINT_THRESHOLD, source: str = "predictions") -> KeypointResults:
    """COCO keypoint results: ``(x, y, keypoint score)`` per keypoint and the rescored person score.

    ``annotation_ids`` are kept where every prediction names a distinct ground-truth person (ground-truth boxes),
    so that evaluation pairs by them; otherwise (detected boxes) they are left out and pairing goes by OKS.

    Args:
        predictions: from :func:`predict` (after :func:`oks_nms` where boxes were detected).
        category_id: the category of every entry.
        keypoint_threshold: of the rescoring, see :func:`person_scores`.
        source: name used in error messages.
    """
    ids = predictions.annotation_ids
    known = len(ids) > 0 and bool((ids >= 0).all()) and len(np.unique(ids)) == len(ids)
    return KeypointResults(
        image_ids=predictions.image_ids.astype(np.int64),
        category_id=int(category_id),
        keypoints=np.concatenate([predictions.keypoints, predictions.scores[..., None]], axis=-1),
        scores=predictions.person_scores(keypoint_threshold),
        annotation_ids=ids.astype(np.int64) if known else None,
        source=source,
    )


# --- crops of boxes in plain images -------------------------------------------------------------------------------


class BoxCrops(Dataset):
    """Crops of person boxes in image files or arrays, as the batches :func:`predict` reads (no labels).

    Args:
        images: paths of image files, or ``(H, W, 3)`` uint8 RGB arrays; image ``i`` gets ``image_id`` i.
        boxes: ``(image index, (x, y, w, h), score)`` per person box in image pixels; None takes one box per image,
            the whole image ``(-0.5, -0.5, W, H)`` (its extent under the pixel-centre convention) with score 1 and
            no padding.
        input_size: ``(H, W)`` of the crop.
        padding: growth of each given box (see :func:`integral_pose.data.crop.box_to_region`).

    Each sample: ``image`` (3, H, W) uint8 RGB, ``inverse`` (2, 3) float64 input -> image pixels, ``bbox`` (4,)
    float64, ``score`` float32, ``image_id`` int64, ``annotation_id`` -1.
    """

    def __init__(self, images: Sequence[str | os.PathLike[str] | np.ndarray],
                 boxes: Sequence[tuple[int, Sequence[float], float]] | None = None, *,
                 input_size: Sequence[int] = (256, 192), padding: float = DEFAULT_PADDING) -> None:
        self.images = list(images)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        if boxes is None:
            self.items = [(i, None, 1.0) for i in range(len(self.images))]
            self.padding = 1.0
        else:
            self.items = []
            for j, (index, bbox, score) in enumerate(boxes):
                if not 0 <= int(index) < len(self.images):
                    raise ValueError(f"boxes: entry {j}: image index {index} is not in [0, {len(self.images)})")
                if len(bbox) != 4 or not (bbox[2] > 0 and bbox[3] > 0):
                    raise ValueError(f"boxes: entry {j}: expected (x, y, w, h) with w, h > 0, got {tuple(bbox)}")
                self.items.append((int(index), tuple(float(v) for v in bbox), float(score)))
            self.padding = padding

    def __len__(self) -> int:
        return len(self.items)

    def read(self, index: int) -> np.ndarray:
        """Image ``index`` as ``(H, W, 3)`` uint8 RGB."""
        from integral_pose.data.dataset import read_rgb

        image = self.images[index]
        return read_rgb(image) if isinstance(image, (str, os.PathLike)) else np.asarray(image)

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        index, bbox, score = self.items[i]
        image = self.read(index)
        if bbox is None:
            bbox = (-0.5, -0.5, float(image.shape[1]), float(image.shape[0]))
        crop, _, inverse = crop_box(image, bbox, self.input_size, self.padding)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))),
            "inverse": torch.from_numpy(inverse),
            "bbox": torch.tensor(bbox, dtype=torch.float64),
            "score": torch.tensor(score, dtype=torch.float32),
            "image_id": torch.tensor(index, dtype=torch.int64),
            "annotation_id": torch.tensor(-1, dtype=torch.int64),
        }


def image_paths(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Image files among ``paths``, folders expanded to their ``.jpg``/``.jpeg``/``.png`` files (sorted)."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        elif path.is_file():
            out.append(path)
        else:
            raise ValueError(f"{path}: no such file or folder")
    return out


def spec_of(config, num_keypoints: int | None = None):
    """The keypoints of a config's data: its ``data.spec`` file, else its validation annotations where they
    exist, else COCO's person keypoints when ``num_keypoints`` is 17. With ``num_keypoints`` (a model's K), a
    spec of another size is an error."""
    from integral_pose.data.coco import load_coco_keypoints
    from integral_pose.data.spec import COCO_PERSON, KeypointSpec

    if config.data.spec and Path(config.data.spec).is_file():
        spec = KeypointSpec.from_file(config.data.spec)
    elif config.data.annotations(config.data.val_split).is_file():
        spec = load_coco_keypoints(config.data.annotations(config.data.val_split)).spec
    elif num_keypoints == COCO_PERSON.num_keypoints:
        spec = COCO_PERSON
    else:
        raise ValueError(f"data.spec: no dataset description at hand (data.spec, or the annotations of data.root's "
                         f"{config.data.val_split} split) for a model of {num_keypoints} keypoints")
    if num_keypoints is not None and spec.num_keypoints != num_keypoints:
        raise ValueError(f"data.spec: {spec.num_keypoints} keypoints, but the model has {num_keypoints}")
    return spec
