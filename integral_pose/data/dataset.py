"""Top-down samples of a keypoint dataset as a torch Dataset, and its DataLoader.

One sample is one person box: its image is decoded once (and checked against its record) and cropped by one
affine warp (with augmentation when training); the crop stays uint8 RGB, 0..255, since the model normalises.
Keypoints go through the same matrix into input and then heatmap pixels (see :mod:`integral_pose.coords` and
:mod:`integral_pose.data.crop`). The dataset takes plain arguments and knows nothing of models or methods.

Sizes are ``(H, W)`` as everywhere in the library; mmpose and HRNet configs write ``(w, h)``, so an input size
copied from them comes out landscape: that warns, and unequal strides along x and y are an error.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from integral_pose._checks import check_positive, check_sigma
from integral_pose.coords import input_to_heatmap, strides
from integral_pose.data._limits import check_seed, check_size
from integral_pose.data.augment import (
    Augmentation,
    CropJitter,
    half_body_region,
    sample_jitter,
    sample_rng,
    upper_body_indices,
)
from integral_pose.data.coco import DetectedBox, KeypointDataset, PersonRecord
from integral_pose.data.crop import (
    DEFAULT_PADDING,
    apply_affine,
    box_to_region,
    crop_box,
    crop_matrix,
    invert_affine,
    warp_crop,
)
from integral_pose.data.targets import gaussian_heatmaps, keypoint_weights

__all__ = ["TopDownDataset", "make_loader", "read_rgb"]

MAX_PADDING = 10.0


@dataclass(frozen=True)
class _Item:
    """One box to crop: a ground-truth person (with keypoints) or a detection (without)."""

    image_id: int
    bbox: tuple[float, float, float, float]
    score: float
    person: PersonRecord | None


def read_rgb(path: str | os.PathLike[str], expected_size: Sequence[int] | None = None) -> np.ndarray:
    """Decode an image file to ``(H, W, 3)`` uint8 RGB, in its stored orientation (EXIF rotation ignored, as
    COCO's annotations and HRNet's loader do).

    Args:
        path: the image file.
        expected_size: ``(H, W)`` of the image's record; the decoded image must have this size.

    Raises:
        ValueError: naming the file, when it cannot be read or decoded, when a JPEG is truncated (no
            end-of-image marker after its image data: OpenCV would decode it silently, grey below the cut) or
            a PNG has no end chunk, and when the decoded size differs from ``expected_size``.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the image: {e.strerror or e}") from None
    if data[:3] == b"\xff\xd8\xff" and not _jpeg_is_complete(data):
        raise ValueError(f"{path}: truncated JPEG (no end-of-image marker FFD9 after the image data)")
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data.rfind(b"IEND\xaeB`\x82") < 0:
        raise ValueError(f"{path}: truncated PNG (no IEND chunk)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise ValueError(f"{path}: cannot read or decode the image")
    if expected_size is not None and image.shape[:2] != tuple(expected_size):
        h, w = expected_size
        raise ValueError(f"{path}: decoded size {image.shape[0]} x {image.shape[1]} differs from its record's "
                         f"{h} x {w} (height x width): wrong or replaced file")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _jpeg_is_complete(data: bytes) -> bool:
    """Whether a JPEG stream has an end-of-image marker (FFD9) after the start of its first scan.

    Header segments are skipped by their lengths, so the end marker of an EXIF thumbnail (inside APP1) does
    not count. Entropy-coded data never holds FFD9 (a data byte FF is followed by 00), so a file cut anywhere
    in its scans has none; bytes after the end marker (camera trailers) are allowed.
    """
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return False
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
        elif marker == 0xDA:  # start of scan
            return data.find(b"\xff\xd9", i + 2) >= 0
        elif marker == 0xD9:  # end of image before any scan
            return False
        else:
            i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return False


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
        seed: seed of the augmentation, in ``[0, 2**63)``; with :meth:`set_epoch`, sample ``i`` of epoch ``e``
            is a function of ``(seed, e, i)`` only, whatever the number of DataLoader workers.

    Sizes are ``(H, W)``, at most 4096 a side, with the same stride along x and y (``H / h == W / w``); a
    landscape ``input_size`` (W > H) warns, since person crops are portrait and mmpose/HRNet write ``(w, h)``.

    Each sample is a dict:
        ``image`` (3, H, W) uint8, RGB 0..255 (the model normalises);
        ``heatmaps`` (K, h, w) float32; ``coords`` (K, 2) float32 heatmap pixels (0 where unlabelled);
        ``weights`` (K,) float32 (1: labelled and inside the crop);
        ``flipped`` bool (0-dim): the crop is mirrored, so target ``k`` is annotated keypoint
        ``flip_index[k]`` (see :func:`integral_pose.data.augment.annotation_order`);
        ``inverse`` (2, 3) float64, input pixels -> image pixels, the mirror included; ``keypoints`` (K, 3)
        float64 image pixels and visibility as annotated, in annotation order (zeros for detections);
        ``bbox`` (4,) float64; ``image_id``, ``annotation_id`` int64; ``score`` float32 (1 for ground-truth
        boxes).

    Targets near the crop's border keep weight 1 although their Gaussian is cut (see
    :mod:`integral_pose.data.targets`).
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
        input_size = check_size("input_size", input_size)
        heatmap_size = check_size("heatmap_size", heatmap_size)
        if input_size[0] * heatmap_size[1] != input_size[1] * heatmap_size[0]:
            raise ValueError(
                f"input_size {input_size} and heatmap_size {heatmap_size}: strides differ along y "
                f"({input_size[0] / heatmap_size[0]:g}) and x ({input_size[1] / heatmap_size[1]:g}); both sizes are "
                "(H, W), e.g. (256, 192) and (64, 48) (mmpose and HRNet configs write (w, h))"
            )
        if input_size[1] > input_size[0]:
            warnings.warn(
                f"input_size {input_size} is (H, W): a landscape crop {input_size[0]} high and {input_size[1]} wide; "
                f"person crops are portrait, and mmpose/HRNet write (w, h): did you mean "
                f"{(input_size[1], input_size[0])}?",
                UserWarning,
                stacklevel=2,
            )
        check_sigma(sigma)
        check_positive("padding", padding)
        if padding > MAX_PADDING:
            raise ValueError(f"padding: expected at most {MAX_PADDING:g}, got {padding!r}")
        seed = check_seed("seed", seed)
        self.stride = strides(input_size, heatmap_size)
        if detections is not None:
            self.items = tuple(_Item(d.image_id, d.bbox, d.score, None) for d in detections)
        else:
            chosen = dataset.training_persons() if persons is None else tuple(persons)
            bad = [p.id for p in chosen if not p.has_valid_box]
            if bad:
                raise ValueError(f"persons: {len(bad)} have a non-positive box (annotations {bad[:5]})")
            self.items = tuple(_Item(p.image_id, p.bbox, 1.0, p) for p in chosen)
        self.dataset = dataset
        self.input_size = input_size
        self.heatmap_size = heatmap_size
        self.sigma = sigma
        self.padding = padding
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self.upper_body = upper_body_indices(dataset.spec)
        self.lower_body = tuple(i for i in range(dataset.spec.num_keypoints) if i not in self.upper_body)

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        kind = "detections" if self.items and self.items[0].person is None else "persons"
        return (
            f"TopDownDataset({self.dataset.path.name!r}, {len(self)} {kind}, "
            f"keypoints={self.dataset.spec.num_keypoints}, "
            f"input_size={self.input_size}, heatmap_size={self.heatmap_size}, sigma={self.sigma:g}, "
            f"padding={self.padding:g}, augment={'on' if self.augment is not None else 'off'}, seed={self.seed})"
        )

    def set_epoch(self, epoch: int) -> None:
        """Draw a new augmentation per epoch. Call before iterating; workers copy the dataset at each epoch's start
        unless the DataLoader keeps ``persistent_workers``."""
        self.epoch = check_seed("epoch", epoch)

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
        record = self.dataset.images[item.image_id]
        try:
            image = read_rgb(self.dataset.image_path(item.image_id), (record.height, record.width))
        except ValueError as e:
            raise ValueError(f"{self.dataset.path.name}: image {item.image_id}: {e}") from None
        if jitter == CropJitter():  # the plain crop, as crop_box makes it without a dataset
            crop, matrix, inverse = crop_box(image, item.bbox, self.input_size, self.padding)
        else:
            matrix = self.crop_matrix(index, jitter)
            crop, inverse = warp_crop(image, matrix, self.input_size), invert_affine(matrix)

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
            "image": torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))),
            "heatmaps": torch.from_numpy(heatmaps.astype(np.float32)),
            "coords": torch.from_numpy(coords.astype(np.float32)),
            "weights": torch.from_numpy(weights.astype(np.float32)),
            "flipped": torch.tensor(jitter.flip),
            "inverse": torch.from_numpy(inverse),
            "keypoints": torch.from_numpy(np.array(keypoints, dtype=np.float64)),
            "bbox": torch.tensor(item.bbox, dtype=torch.float64),
            "image_id": torch.tensor(item.image_id, dtype=torch.int64),
            "annotation_id": torch.tensor(-1 if item.person is None else item.person.id, dtype=torch.int64),
            "score": torch.tensor(item.score, dtype=torch.float32),
        }


def make_loader(
    dataset: TopDownDataset, *, batch_size: int, shuffle: bool, num_workers: int = 0, seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader over top-down samples, with the shuffling order drawn from ``seed``.

    Augmentation is drawn per sample from ``(dataset.seed, epoch, index)``, so batches are identical for any
    ``num_workers``. Call ``dataset.set_epoch(e)`` before each epoch. (OpenCV's thread count is left alone:
    setting it inside a forked worker after the parent used OpenCV deadlocks.)
    """
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        drop_last=drop_last,
        generator=generator,
        persistent_workers=False,
    )
