"""Top-down samples of a keypoint dataset as a torch Dataset, and its DataLoader.

One sample is one person box: its image is decoded once, cropped by one affine warp (with augmentation when
training) and normalised; keypoints go through the same matrix into input and then heatmap pixels (see
:mod:`integral_pose.coords` and :mod:`integral_pose.data.crop`). The dataset takes plain arguments and knows
nothing of models or methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from integral_pose.coords import input_to_heatmap, strides
from integral_pose.data.augment import (
    Augmentation,
    CropJitter,
    half_body_region,
    sample_jitter,
    sample_rng,
    upper_body_indices,
)
from integral_pose.data.coco import DetectedBox, KeypointDataset, PersonRecord
from integral_pose.data.crop import DEFAULT_PADDING, apply_affine, box_to_region, crop_matrix, invert_affine, warp_crop
from integral_pose.data.targets import gaussian_heatmaps, keypoint_weights

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "TopDownDataset", "make_loader", "read_rgb"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class _Item:
    """One box to crop: a ground-truth person (with keypoints) or a detection (without)."""

    image_id: int
    bbox: tuple[float, float, float, float]
    score: float
    person: PersonRecord | None


def read_rgb(path) -> np.ndarray:
    """Decode an image file to ``(H, W, 3)`` uint8 RGB; ValueError naming the file when it cannot be read."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{path}: cannot read or decode the image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class TopDownDataset(Dataset):
    """Top-down samples: one crop per person box.

    Args:
        dataset: a loaded keypoint dataset with ``image_dir``.
        persons: ground-truth persons to crop from their boxes; default ``dataset.training_persons()``.
        detections: person detections to crop instead (evaluation with detected boxes); samples then carry no
            keypoints (all weights 0, ``annotation_id`` -1).
        input_size: ``(H, W)`` of the crop.
        heatmap_size: ``(H, W)`` of the targets.
        sigma: Gaussian standard deviation, heatmap pixels.
        padding: box padding (see :func:`integral_pose.data.crop.box_to_region`).
        augment: training augmentation, or None for the plain crop.
        seed: seed of the augmentation; with :meth:`set_epoch`, sample ``i`` of epoch ``e`` is a function of
            ``(seed, e, i)`` only, whatever the number of DataLoader workers.

    Each sample is a dict:
        ``image`` (3, H, W) float32, RGB normalised by ImageNet mean and std;
        ``heatmaps`` (K, h, w) float32; ``coords`` (K, 2) float32 heatmap pixels (0 where unlabelled);
        ``weights`` (K,) float32 (1: labelled and inside the crop);
        ``inverse`` (2, 3) float64, input pixels -> image pixels; ``keypoints`` (K, 3) float64 image pixels and
        visibility as annotated (zeros for detections); ``bbox`` (4,) float64;
        ``image_id``, ``annotation_id`` int64; ``score`` float32 (1 for ground-truth boxes).
    """

    def __init__(
        self,
        dataset: KeypointDataset,
        *,
        persons: Sequence[PersonRecord] | None = None,
        detections: Sequence[DetectedBox] | None = None,
        input_size: Sequence[int] = (256, 192),
        heatmap_size: Sequence[int] = (64, 48),
        sigma: float = 2.0,
        padding: float = DEFAULT_PADDING,
        augment: Augmentation | None = None,
        seed: int = 0,
    ) -> None:
        if dataset.image_dir is None:
            raise ValueError(f"dataset: {dataset.path.name} was loaded without image_dir; crops need the images")
        if persons is not None and detections is not None:
            raise ValueError("persons and detections: give one of them, not both")
        self.stride = strides(input_size, heatmap_size)  # also validates the sizes
        if detections is not None:
            self.items = tuple(_Item(d.image_id, d.bbox, d.score, None) for d in detections)
        else:
            chosen = dataset.training_persons() if persons is None else tuple(persons)
            bad = [p.id for p in chosen if not p.has_valid_box]
            if bad:
                raise ValueError(f"persons: {len(bad)} have a non-positive box (annotations {bad[:5]})")
            self.items = tuple(_Item(p.image_id, p.bbox, 1.0, p) for p in chosen)
        self.dataset = dataset
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = sigma
        self.padding = padding
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self.upper_body = upper_body_indices(dataset.spec)
        self.lower_body = tuple(i for i in range(dataset.spec.num_keypoints) if i not in self.upper_body)

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Draw a new augmentation per epoch. Call before iterating; workers copy the dataset at each epoch's start
        unless the DataLoader keeps ``persistent_workers``."""
        self.epoch = epoch

    def jitter(self, index: int) -> CropJitter:
        """The augmentation drawn for sample ``index`` in the current epoch (no augmentation: the identity)."""
        item = self.items[index]
        if self.augment is None or item.person is None:
            return CropJitter()
        rng = sample_rng(self.seed, self.epoch, index)
        return sample_jitter(rng, self.augment, item.person.num_keypoints)

    def crop_matrix(self, index: int, jitter: CropJitter | None = None) -> np.ndarray:
        """``(2, 3)`` float64 image -> input matrix of sample ``index``, with its augmentation (``jitter``, drawn
        by :meth:`jitter` when None)."""
        item = self.items[index]
        jitter = self.jitter(index) if jitter is None else jitter
        centre, size = box_to_region(item.bbox, self.input_size, self.padding)
        if jitter.half_body is not None:
            part = self.upper_body if jitter.half_body == "upper" else self.lower_body
            region = half_body_region(item.person.keypoints, part, self.input_size)
            if region is not None:
                centre, size = region
        return crop_matrix(centre, size * jitter.scale, self.input_size, rotation=jitter.rotation, flip=jitter.flip)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = self.items[index]
        spec = self.dataset.spec
        jitter = self.jitter(index)
        matrix = self.crop_matrix(index, jitter)
        try:
            image = read_rgb(self.dataset.image_path(item.image_id))
        except ValueError as e:
            raise ValueError(f"{self.dataset.path.name}: image {item.image_id}: {e}") from None
        crop = warp_crop(image, matrix, self.input_size)

        if item.person is None:
            keypoints = np.zeros((spec.num_keypoints, 3))
        else:
            keypoints = item.person.keypoints
        order = list(spec.flip_index) if jitter.flip else slice(None)
        on_input = torch.from_numpy(apply_affine(keypoints[:, :2], matrix)[order])
        coords = input_to_heatmap(on_input, self.stride).numpy()
        visibility = keypoints[order, 2]
        weights = keypoint_weights(coords, visibility, self.heatmap_size)
        coords = coords * (visibility > 0)[:, None]
        heatmaps = gaussian_heatmaps(coords, weights, self.heatmap_size, self.sigma)

        return {
            "image": _normalise(crop),
            "heatmaps": torch.from_numpy(heatmaps.astype(np.float32)),
            "coords": torch.from_numpy(coords.astype(np.float32)),
            "weights": torch.from_numpy(weights.astype(np.float32)),
            "inverse": torch.from_numpy(invert_affine(matrix)),
            "keypoints": torch.from_numpy(np.array(keypoints, dtype=np.float64)),
            "bbox": torch.tensor(item.bbox, dtype=torch.float64),
            "image_id": torch.tensor(item.image_id, dtype=torch.int64),
            "annotation_id": torch.tensor(-1 if item.person is None else item.person.id, dtype=torch.int64),
            "score": torch.tensor(item.score, dtype=torch.float32),
        }


def _normalise(crop: np.ndarray) -> Tensor:
    """``(H, W, 3)`` uint8 RGB -> ``(3, H, W)`` float32 normalised by ImageNet mean and std (NumPy: one thread)."""
    scale = np.float32(1 / 255) / np.array(IMAGENET_STD, np.float32)
    shift = np.array(IMAGENET_MEAN, np.float32) / np.array(IMAGENET_STD, np.float32)
    image = crop.astype(np.float32) * scale - shift
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def make_loader(
    dataset: TopDownDataset, *, batch_size: int, shuffle: bool, num_workers: int = 0, seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader over top-down samples, with the shuffling order drawn from ``seed``.

    Augmentation is drawn per sample from ``(dataset.seed, epoch, index)``, so batches are identical for any
    ``num_workers``. Call ``dataset.set_epoch(e)`` before each epoch. (OpenCV's thread count is left alone:
    setting it inside a forked worker after the parent used OpenCV deadlocks.)
    """
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        drop_last=drop_last,
        generator=generator,
        persistent_workers=False,
    )
