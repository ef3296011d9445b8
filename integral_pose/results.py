"""Keypoint results in the standard COCO format: loading, validation and an array form.

A COCO keypoint results file is a JSON list of entries
``{"image_id": int, "category_id": int, "keypoints": [x, y, score] * K, "score": float}``, optionally with
``"annotation_id"`` naming the ground-truth person the entry was made for (top-down models that ran on
ground-truth boxes know it). Coordinates are image pixels (see :mod:`integral_pose.coords`).

Every problem raises ``ValueError`` or ``TypeError`` naming the file (or the ``source`` given for results made
in memory) and the index of the entry at fault; nothing is skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from integral_pose.data.coco import KeypointDataset, KeypointSpec, load_coco_keypoints

__all__ = ["KeypointDataset", "KeypointResults", "KeypointSpec", "check_results", "load_results",
           "load_results_files", "results_from_dicts"]


@dataclass(frozen=True)
class KeypointResults:
    """Keypoint predictions of one method, N entries of K keypoints, in image pixels.

    Attributes:
        image_ids: ``(N,)`` int64, the image of each entry.
        category_id: the category every entry belongs to.
        keypoints: ``(N, K, 3)`` float64, ``(x, y, score)`` per keypoint; x, y in image pixels.
        scores: ``(N,)`` float64, the entry's (person) score that ranks it for OKS AP.
        annotation_ids: ``(N,)`` int64 naming the ground-truth person of each entry, or None when the
            results do not say (they are then paired by OKS, see :func:`integral_pose.metrics.pair_predictions`).
        source: the name used in error messages, for example the file name.
    """

    image_ids: np.ndarray
    category_id: int
    keypoints: np.ndarray
    scores: np.ndarray
    annotation_ids: np.ndarray | None = None
    source: str = "results"

    def __post_init__(self) -> None:
        n = len(self.image_ids)
        if self.keypoints.ndim != 3 or self.keypoints.shape[0] != n or self.keypoints.shape[2] != 3:
            raise ValueError(f"{self.source}: keypoints: expected shape ({n}, K, 3), got {self.keypoints.shape}")
        if self.scores.shape != (n,):
            raise ValueError(f"{self.source}: scores: expected shape ({n},), got {self.scores.shape}")
        if self.annotation_ids is not None and self.annotation_ids.shape != (n,):
            raise ValueError(f"{self.source}: annotation_ids: expected shape ({n},), got {self.annotation_ids.shape}")
        bad = ~np.isfinite(self.keypoints).all(axis=(1, 2))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            values = self.keypoints[i].ravel().tolist()
            raise ValueError(f"{self.source}: entry {i}: keypoints contain NaN or Inf: {values}")
        bad = ~np.isfinite(self.scores)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{self.source}: entry {i}: score must be finite, got {self.scores[i]}")

    def __len__(self) -> int:
        return len(self.image_ids)

    @property
    def num_keypoints(self) -> int:
        return self.keypoints.shape[1]

    def to_coco(self) -> list[dict]:
        """The entries as COCO result dicts (without ``annotation_id``), ready for pycocotools' ``loadRes``."""
        flat = self.keypoints.reshape(len(self), -1).tolist()
        return [
            {"image_id": int(i), "category_id": self.category_id, "keypoints": k, "score": float(s)}
            for i, k, s in zip(self.image_ids.tolist(), flat, self.scores.tolist(), strict=True)
        ]


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_entry(entry: object, index: int, num_keypoints: int, source: str) -> tuple:
    """One result dict -> (image_id, category_id, flat keypoints, score, annotation_id or None)."""
    where = f"{source}: entry {index}"
    if not isinstance(entry, Mapping):
        raise TypeError(f"{where}: expected an object with image_id, category_id, keypoints, score, "
                        f"got {type(entry).__name__}")
    missing = [key for key in ("image_id", "category_id", "keypoints", "score") if key not in entry]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    for key in ("image_id", "category_id"):
        if not _integer(entry[key]):
            raise TypeError(f"{where}: {key} must be an integer, got {entry[key]!r}")
    keypoints = entry["keypoints"]
    if not isinstance(keypoints, list) or len(keypoints) != 3 * num_keypoints:
        got = f"{len(keypoints)} values" if isinstance(keypoints, list) else type(keypoints).__name__
        raise ValueError(f"{where}: keypoints has {got}, expected {3 * num_keypoints} "
                         f"({num_keypoints} x 3: x, y, score)")
    if not all(_number(v) for v in keypoints):
        bad = next(v for v in keypoints if not _number(v))
        raise TypeError(f"{where}: keypoints must be numbers, got {bad!r}")
    if not all(math.isfinite(v) for v in keypoints):
        raise ValueError(f"{where}: keypoints contain NaN or Inf: {keypoints}")
    score = entry["score"]
    if not _number(score) or not math.isfinite(score):
        raise ValueError(f"{where}: score must be a finite number, got {score!r}")
    annotation_id = entry.get("annotation_id")
    if annotation_id is not None and not _integer(annotation_id):
        raise TypeError(f"{where}: annotation_id must be an integer, got {annotation_id!r}")
    return entry["image_id"], entry["category_id"], keypoints, score, annotation_id


def results_from_dicts(entries: Sequence[Mapping], *, num_keypoints: int, category_id: int,
                       source: str = "results") -> KeypointResults:
    """Parse a list of COCO keypoint result dicts.

    Args:
        entries: ``[{"image_id", "category_id", "keypoints": [x, y, score] * K, "score"[, "annotation_id"]}]``.
        num_keypoints: K, the keypoints each entry must carry.
        category_id: the category every entry must name.
        source: the name used in error messages.

    Raises:
        TypeError, ValueError: naming ``source``, the entry index and what was wrong. Either every entry has
        ``annotation_id`` or none has.
    """
    if not isinstance(entries, Sequence) or isinstance(entries, (str, bytes)):
        raise TypeError(f"{source}: expected a list of result objects, got {type(entries).__name__}")
    if len(entries) == 0:
        raise ValueError(f"{source}: contains no results")
    parsed = [_parse_entry(entry, i, num_keypoints, source) for i, entry in enumerate(entries)]
    for i, (_, category, *_rest) in enumerate(parsed):
        if category != category_id:
            raise ValueError(f"{source}: entry {i}: category_id {category}, but the annotations are of category "
                             f"{category_id}")
    has_id = [p[4] is not None for p in parsed]
    if any(has_id) and not all(has_id):
        i = has_id.index(False) if has_id[0] else has_id.index(True)
        first = "has" if has_id[0] else "lacks"
        raise ValueError(f"{source}: entry {i}: annotation_id must be given on every entry or on none "
                         f"(entry 0 {first} one)")
    return KeypointResults(
        image_ids=np.array([p[0] for p in parsed], dtype=np.int64),
        category_id=category_id,
        keypoints=np.array([p[2] for p in parsed], dtype=np.float64).reshape(len(parsed), num_keypoints, 3),
        scores=np.array([p[3] for p in parsed], dtype=np.float64),
        annotation_ids=np.array([p[4] for p in parsed], dtype=np.int64) if has_id[0] else None,
        source=source,
    )


def check_results(results: KeypointResults, dataset: KeypointDataset) -> None:
    """Check results against the annotations they are evaluated on.

    Raises:
        ValueError: naming ``results.source`` and the entry index for a keypoint count other than the
            dataset's, an image id absent from the annotations, another category, or an ``annotation_id``
            that is absent, of another image or used twice.
    """
    where = results.source
    if results.num_keypoints != dataset.spec.num_keypoints:
        raise ValueError(f"{where}: entries have {results.num_keypoints} keypoints, the annotations "
                         f"{dataset.spec.num_keypoints}")
    if results.category_id != dataset.category_id:
        raise ValueError(f"{where}: category_id {results.category_id}, but the annotations are of category "
                         f"{dataset.category_id}")
    known = np.isin(results.image_ids, np.fromiter(dataset.images, dtype=np.int64, count=len(dataset.images)))
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise ValueError(f"{where}: entry {i}: image_id {int(results.image_ids[i])} is not an image of "
                         f"{dataset.path.name} ({int((~known).sum())} entries with unknown images)")
    if results.annotation_ids is None:
        return
    image_of = {p.id: p.image_id for p in dataset.persons}
    first_use: dict[int, int] = {}
    for i, (annotation_id, image_id) in enumerate(zip(results.annotation_ids.tolist(), results.image_ids.tolist(),
                                                      strict=True)):
        if annotation_id not in image_of:
            raise ValueError(f"{where}: entry {i}: annotation_id {annotation_id} is not a person of "
                             f"{dataset.path.name}")
        if image_of[annotation_id] != image_id:
            raise ValueError(f"{where}: entry {i}: annotation_id {annotation_id} is a person of image "
                             f"{image_of[annotation_id]}, but the entry is on image {image_id}")
        if annotation_id in first_use:
            raise ValueError(f"{where}: entry {i}: annotation_id {annotation_id} is already used by entry "
                             f"{first_use[annotation_id]}; pairing by annotation_id is one-to-one")
        first_use[annotation_id] = i


def load_results(path: str | Path, dataset: KeypointDataset) -> KeypointResults:
    """Read and validate a COCO keypoint results file against ``dataset``.

    Raises:
        ValueError, TypeError: naming the file and the entry index (see :func:`results_from_dicts` and
        :func:`check_results`); a file that is not JSON names the line and column.
    """
    path = Path(path)
    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: not UTF-8 text ({error.reason} at byte {error.start})") from None
    results = results_from_dicts(entries, num_keypoints=dataset.spec.num_keypoints,
                                 category_id=dataset.category_id, source=str(path))
    check_results(results, dataset)
    return results


def load_results_files(annotations: str | Path, results: Sequence[str | Path] = (), *,
                       names: Sequence[str] | None = None,
                       spec: KeypointSpec | None = None) -> tuple[KeypointDataset, dict[str, KeypointResults]]:
    """Read COCO keypoint annotations and any number of results files, each validated against them.

    Args:
        annotations: COCO keypoint annotations (JSON).
        results: COCO keypoint results files.
        names: one name per results file; the file stems where None or empty.
        spec: the keypoints and their OKS sigmas; read from the file's category where None (COCO's sigmas
            for COCO's keypoint names, see :func:`~integral_pose.data.coco.load_coco_keypoints`).

    Returns:
        ``(dataset, {name: results})`` in the order of ``results``.

    Raises:
        ValueError: for a names count other than the results count, duplicate names, or bad files (naming the
            file and the annotation id or entry index).
    """
    paths = [Path(p) for p in results]
    names = [p.stem for p in paths] if names is None or len(names) == 0 else list(names)
    if len(names) != len(paths):
        raise ValueError(f"names: expected one name per results file ({len(paths)}), got {len(names)}: {names}")
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"names: each results file needs its own name, {duplicates} occur twice; give names")
    dataset = load_coco_keypoints(annotations, spec=spec)
    return dataset, {name: load_results(path, dataset) for name, path in zip(names, paths, strict=True)}
