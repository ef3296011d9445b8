"""COCO-format person-keypoint files -> validated, immutable records.

Reads COCO 2017 person keypoints and any dataset in the same format. The keypoints (names, skeleton, flip
pairs, OKS sigmas) come from the file's category or from a dataset description (:meth:`KeypointSpec.from_file`);
COCO's 17 keypoints are :data:`COCO_PERSON`. Also reads person-detection results files
(``[{"image_id", "bbox", "score"}, ...]``) for evaluation with detected boxes.

Coordinates are image pixels with integer coordinates at pixel centres (see :mod:`integral_pose.coords`);
boxes are COCO's ``(x, y, w, h)``, keypoints are COCO's ``(x, y, visibility)`` with visibility 0 (not
labelled), 1 (labelled, not visible) or 2 (labelled and visible). Indices are 0-based everywhere in the
library; only COCO files store skeletons 1-based.

Errors name the file and the annotation id, e.g.
``person_keypoints_val2017.json: annotation 200887: keypoints has 50 values, expected 51 (17 x 3)``.
Degenerate boxes of crowd or unlabelled annotations are counted warnings (see :func:`load_coco_keypoints`).
"""

from __future__ import annotations

import copyreg
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from integral_pose.data.spec import COCO_PERSON, KeypointSpec, spec_from_category

__all__ = [
    "COCO_PERSON",
    "DetectedBox",
    "ImageRecord",
    "KeypointDataset",
    "KeypointSpec",
    "LoadReport",
    "PersonRecord",
    "annotation_file",
    "guess_image_dir",
    "load_coco_keypoints",
    "load_person_detections",
]

REPORT_FIRST_IDS = 5  # ids listed per warning kind
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # ids become int64 tensors in batches

# Read-only views pickle as the dict they show, so that datasets reach DataLoader workers started by spawn or
# forkserver (the default from Python 3.14), which pickle the dataset.
def _read_only(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


copyreg.pickle(MappingProxyType, lambda view: (_read_only, (dict(view),)))


@dataclass(frozen=True)
class ImageRecord:
    """One entry of a COCO file's ``images``; ``height`` and ``width`` in pixels."""

    id: int
    file_name: str
    height: int
    width: int


@dataclass(frozen=True, eq=False)
class PersonRecord:
    """One annotation of the keypoint category.

    Attributes:
        bbox: COCO ``(x, y, w, h)`` in image pixels.
        keypoints: ``(K, 3)`` float64, read-only: ``x, y`` in image pixels and visibility in {0, 1, 2}.
        num_keypoints: number of keypoints with visibility > 0 (checked against ``keypoints`` on load).
        area: the annotation's area in square pixels (segment area for COCO), used by OKS.
    """

    id: int
    image_id: int
    category_id: int
    bbox: tuple[float, float, float, float]
    keypoints: np.ndarray
    num_keypoints: int
    area: float
    iscrowd: bool

    @property
    def has_valid_box(self) -> bool:
        return self.bbox[2] > 0 and self.bbox[3] > 0


@dataclass(frozen=True)
class LoadReport:
    """Counted warnings of one load: kind -> count, and the first few annotation (or image) ids of each kind."""

    counts: Mapping[str, int] = field(default_factory=dict)
    first_ids: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        """One line per kind, e.g. ``2 x crowd or unlabelled annotation with a degenerate box (ids 5, 9)``."""
        parts = []
        for kind, n in self.counts.items():
            ids = ", ".join(map(str, self.first_ids[kind])) + (", ..." if n > len(self.first_ids[kind]) else "")
            parts.append(f"{n} x {kind} (ids {ids})")
        return "; ".join(parts)


@dataclass(frozen=True, repr=False)
class KeypointDataset:
    """A loaded keypoint file.

    Attributes:
        path: the annotation file.
        spec: its keypoints.
        category_id: the keypoint category read from the file.
        images: image id -> record, every image of the file.
        persons: every annotation of the category, crowd included, in file order.
        image_dir: folder of the image files, or None when only annotations were loaded.
        report: the counted warnings of the load (also issued as one Python warning).
    """

    path: Path
    spec: KeypointSpec
    category_id: int
    images: Mapping[int, ImageRecord]
    persons: tuple[PersonRecord, ...]
    image_dir: Path | None
    report: LoadReport = field(default_factory=LoadReport)

    def __repr__(self) -> str:
        """One line: file, counts and folder (the records themselves would run to 100,000s of lines)."""
        return (
            f"KeypointDataset({str(self.path)!r}, keypoints={self.spec.num_keypoints}, category_id={self.category_id}, "
            f"images={len(self.images)}, persons={len(self.persons)}, "
            f"image_dir={None if self.image_dir is None else str(self.image_dir)!r}, warnings={self.report.total})"
        )

    def training_persons(self) -> tuple[PersonRecord, ...]:
        """Persons used for training, selected the standard way: non-crowd, num_keypoints > 0, w > 0 and h > 0."""
        return tuple(p for p in self.persons if not p.iscrowd and p.num_keypoints > 0 and p.has_valid_box)

    def image_path(self, image_id: int) -> Path:
        """Path of an image file; raises ValueError when the dataset was loaded without ``image_dir``."""
        if self.image_dir is None:
            raise ValueError(f"{self.path.name}: loaded without image_dir, so image {image_id} has no file path")
        return self.image_dir / self.images[image_id].file_name


@dataclass(frozen=True)
class DetectedBox:
    """One person detection: COCO ``(x, y, w, h)`` box in image pixels and the detector's score."""

    image_id: int
    bbox: tuple[float, float, float, float]
    score: float


class _Counter:
    """Collects counted warnings while loading; never drops one in silence."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.first_ids: dict[str, list[int]] = {}

    def add(self, kind: str, record_id: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        ids = self.first_ids.setdefault(kind, [])
        if len(ids) < REPORT_FIRST_IDS:
            ids.append(record_id)

    def report(self, file: str) -> LoadReport:
        report = LoadReport(
            MappingProxyType(dict(self.counts)), MappingProxyType({k: tuple(v) for k, v in self.first_ids.items()})
        )
        if report.total:
            warnings.warn(f"{file}: {report.summary()}", stacklevel=3)
        return report


def _read_json(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except RecursionError:
        raise ValueError(f"{path.name}: not valid COCO JSON: arrays or objects nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, integers of more than 4300 digits
        raise ValueError(f"{path.name}: not valid JSON: {e}") from None


def _require(record: Mapping[str, Any], fields: Sequence[str], where: str) -> None:
    if not isinstance(record, Mapping):
        raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [f for f in fields if f not in record]
    if missing:
        raise ValueError(f"{where}: missing field {', '.join(map(repr, missing))}")


def _integer(value: Any, name: str, where: str) -> int:
    """An integer that fits int64 (ids travel in int64 tensors); ``"1"``, ``1.0`` and ``True`` are errors."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: {name} must be an integer, got {str(repr(value))[:60]}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{where}: {name} must fit in 64 bits (|{name}| < 2**63), got {value}")
    return value


def _finite_array(value: Any, name: str, where: str) -> np.ndarray:
    """A list of numbers as float64, rejecting anything else and NaN/Inf."""
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
        raise ValueError(f"{where}: {name} must be a list of numbers, got {str(value)[:60]}")
    array = np.asarray(value, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{where}: {name} has NaN or infinite values: {value}")
    return array


def _image_records(images: Any, file: str) -> dict[int, ImageRecord]:
    if not isinstance(images, list):
        raise ValueError(f"{file}: 'images' must be a list, got {type(images).__name__}")
    records: dict[int, ImageRecord] = {}
    for index, image in enumerate(images):
        where = f"{file}: image at index {index}"
        _require(image, ("id", "file_name", "height", "width"), where)
        image_id = _integer(image["id"], "id", where)
        where = f"{file}: image {image_id}"
        height, width = _integer(image["height"], "height", where), _integer(image["width"], "width", where)
        if height <= 0 or width <= 0:
            raise ValueError(f"{where}: height and width must be positive, got {height} x {width}")
        if image_id in records:
            raise ValueError(f"{where}: duplicate image id")
        records[image_id] = ImageRecord(image_id, str(image["file_name"]), height, width)
    return records


def _keypoint_category(categories: Any, category_id: int | None, file: str) -> Mapping[str, Any]:
    """The category to read: the given id, else the only category that lists keypoint names."""
    if not isinstance(categories, list):
        raise ValueError(f"{file}: 'categories' must be a list, got {type(categories).__name__}")
    for index, category in enumerate(categories):
        _require(category, ("id", "name"), f"{file}: category at index {index}")
        _integer(category["id"], "id", f"{file}: category at index {index}")
    if category_id is not None:
        chosen = [c for c in categories if c["id"] == category_id]
        if not chosen:
            raise ValueError(f"{file}: no category with id {category_id}; ids are {[c['id'] for c in categories]}")
        return chosen[0]
    with_keypoints = [c for c in categories if "keypoints" in c]
    if len(with_keypoints) == 1:
        return with_keypoints[0]
    if not with_keypoints and len(categories) == 1:
        return categories[0]
    names = ", ".join(f"{c['id']} ({c['name']})" for c in (with_keypoints or categories))
    raise ValueError(f"{file}: cannot tell which category holds the keypoints among {names}; pass category_id")


def _resolve_spec(category: Mapping[str, Any], spec: KeypointSpec | None, file: str) -> KeypointSpec:
    where = f"{file}: category {category['id']} ({category['name']})"
    if spec is None:
        return spec_from_category(category, where)
    names = category.get("keypoints")
    if names is not None and tuple(names) != spec.names:
        raise ValueError(f"{where}: keypoint names {list(names)} differ from the given spec's {list(spec.names)}")
    return spec


def _person_record(ann: Any, index: int, num_keypoints: int, file: str, counter: _Counter) -> PersonRecord:
    where = f"{file}: annotation at index {index}"
    _require(ann, ("id",), where)
    ann_id = _integer(ann["id"], "id", where)
    where = f"{file}: annotation {ann_id}"
    _require(ann, ("image_id", "category_id", "bbox", "keypoints", "num_keypoints", "area", "iscrowd"), where)
    image_id = _integer(ann["image_id"], "image_id", where)
    iscrowd = ann["iscrowd"]
    if iscrowd not in (0, 1):  # also admits False/True
        raise ValueError(f"{where}: iscrowd must be 0 or 1, got {iscrowd!r}")

    keypoints = _finite_array(ann["keypoints"], "keypoints", where)
    if keypoints.size != 3 * num_keypoints:
        raise ValueError(
            f"{where}: keypoints has {keypoints.size} values, expected {3 * num_keypoints} ({num_keypoints} x 3)"
        )
    keypoints = keypoints.reshape(num_keypoints, 3)
    visibility = keypoints[:, 2]
    bad = ~np.isin(visibility, (0.0, 1.0, 2.0))
    if bad.any():
        k = int(bad.argmax())
        raise ValueError(f"{where}: visibility must be 0, 1 or 2, got {visibility[k]:g} at keypoint {k}")
    labelled = int((visibility > 0).sum())
    stated = _integer(ann["num_keypoints"], "num_keypoints", where)
    if stated != labelled:
        raise ValueError(f"{where}: num_keypoints is {stated} but {labelled} keypoints have visibility > 0")

    bbox = _finite_array(ann["bbox"], "bbox", where)
    if bbox.size != 4:
        raise ValueError(f"{where}: bbox has {bbox.size} values, expected 4 (x, y, w, h)")
    area = ann["area"]
    if isinstance(area, bool) or not isinstance(area, (int, float)) or not math.isfinite(area) or area < 0:
        raise ValueError(f"{where}: area must be a finite number >= 0, got {area!r}")
    if bbox[2] <= 0 or bbox[3] <= 0:
        if not iscrowd and labelled > 0:
            raise ValueError(f"{where}: bbox {bbox.tolist()} has non-positive width or height")
        counter.add("crowd or unlabelled annotation with a non-positive box (never a training person)", ann_id)

    keypoints.setflags(write=False)
    return PersonRecord(
        id=ann_id,
        image_id=image_id,
        category_id=_integer(ann["category_id"], "category_id", where),
        bbox=(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])),
        keypoints=keypoints,
        num_keypoints=labelled,
        area=float(area),
        iscrowd=bool(iscrowd),
    )


def load_coco_keypoints(
    path: str | os.PathLike[str],
    *,
    image_dir: str | os.PathLike[str] | None = None,
    spec: KeypointSpec | None = None,
    category_id: int | None = None,
) -> KeypointDataset:
    """Load and validate a COCO-format keypoint file.

    Args:
        path: the annotation JSON (e.g. ``person_keypoints_val2017.json``).
        image_dir: folder of the images; when given, every image that has an annotation of the category must
            exist there.
        spec: the keypoints; None takes names and skeleton from the file's category, flip pairs from
            ``left_*``/``right_*`` names and COCO's OKS sigmas when the names are COCO's (otherwise the sigmas
            must come from a dataset description, :meth:`KeypointSpec.from_file`).
        category_id: the category to read; None takes the only category listing keypoint names.

    Returns:
        The dataset with every annotation of the category, in file order. Annotations of other categories are
        left out and counted in ``report``.

    Raises:
        ValueError: naming the file and annotation id, for: not JSON; a missing field; a keypoint list of the
            wrong length; visibility outside {0, 1, 2}; NaN or Inf; ``num_keypoints`` that disagrees with the
            count of visibility > 0; a non-positive box on a non-crowd annotation with keypoints; a duplicate
            id; an image id with no image record; an image file missing from ``image_dir``; an id, image id or
            category id that is not an integer within int64 (a category id ``"1"`` is an error, not another
            category); JSON nested too deeply to parse.

    A non-positive box on a crowd or unlabelled (``num_keypoints == 0``) annotation is a counted warning, not
    an error: such annotations are never cropped for training and only serve evaluation, where COCO itself
    keeps them, so refusing the whole file for them would be too strict.
    """
    path = Path(path)
    file = path.name
    data = _read_json(path)
    _require(data, ("images", "annotations", "categories"), file)
    images = _image_records(data["images"], file)
    category = _keypoint_category(data["categories"], category_id, file)
    spec = _resolve_spec(category, spec, file)
    if not isinstance(data["annotations"], list):
        raise ValueError(f"{file}: 'annotations' must be a list, got {type(data['annotations']).__name__}")

    counter = _Counter()
    persons: list[PersonRecord] = []
    seen: set[int] = set()
    for index, ann in enumerate(data["annotations"]):
        if isinstance(ann, Mapping) and "category_id" in ann:
            ann_id = ann.get("id")
            valid_id = isinstance(ann_id, int) and not isinstance(ann_id, bool)
            where = f"{file}: annotation {ann_id}" if valid_id else f"{file}: annotation at index {index}"
            if _integer(ann["category_id"], "category_id", where) != category["id"]:
                counter.add(f"annotation of another category than {category['id']} (left out)",
                            ann_id if valid_id else index)
                continue
        person = _person_record(ann, index, spec.num_keypoints, file, counter)
        if person.id in seen:
            raise ValueError(f"{file}: annotation {person.id}: duplicate annotation id")
        if person.image_id not in images:
            raise ValueError(f"{file}: annotation {person.id}: image_id {person.image_id} has no image record")
        seen.add(person.id)
        persons.append(person)

    image_dir = None if image_dir is None else Path(image_dir)
    if image_dir is not None:
        _check_image_files(image_dir, images, persons, file)
    return KeypointDataset(
        path=path,
        spec=spec,
        category_id=int(category["id"]),
        images=MappingProxyType(images),
        persons=tuple(persons),
        image_dir=image_dir,
        report=counter.report(file),
    )


def _check_image_files(
    image_dir: Path, images: Mapping[int, ImageRecord], persons: Sequence[PersonRecord], file: str
) -> None:
    if not image_dir.is_dir():
        raise ValueError(f"{file}: image_dir {image_dir} is not a directory")
    first_person = {}
    for person in persons:
        first_person.setdefault(person.image_id, person.id)
    missing = [i for i in first_person if not (image_dir / images[i].file_name).is_file()]
    if missing:
        image = images[missing[0]]
        raise ValueError(
            f"{file}: annotation {first_person[image.id]}: image {image.id} file {image.file_name} is missing "
            f"from {image_dir} ({len(missing)} of {len(first_person)} annotated images are missing)"
        )


def load_person_detections(
    path: str | os.PathLike[str],
    images: Mapping[int, ImageRecord],
    *,
    score_threshold: float = 0.0,
    category_id: int = 1,
) -> tuple[tuple[DetectedBox, ...], LoadReport]:
    """Read a person-detection results file (``[{"image_id", "bbox", "score"[, "category_id"]}, ...]``).

    Args:
        path: the results JSON, COCO's detection-results format with ``bbox`` as ``(x, y, w, h)``.
        images: the image records of the dataset the detections belong to; every ``image_id`` must be there.
        score_threshold: detections scoring below it are left out.
        category_id: detections carrying another ``category_id`` are left out (files without one are all kept).

    Returns:
        The kept detections in file order, and a report counting those left out by score or category and those
        dropped for a non-positive box (the last also issued as a Python warning).

    Raises:
        ValueError: naming the file and entry index: not a JSON list, a missing field, a non-finite number, an
            image id with no image record.
    """
    path = Path(path)
    file = path.name
    data = _read_json(path)
    if not isinstance(data, list):
        raise ValueError(f"{file}: expected a JSON list of detections, got {type(data).__name__}")
    kept: list[DetectedBox] = []
    dropped = _Counter()
    filtered = _Counter()
    for index, det in enumerate(data):
        where = f"{file}: detection at index {index}"
        _require(det, ("image_id", "bbox", "score"), where)
        image_id = _integer(det["image_id"], "image_id", where)
        if image_id not in images:
            raise ValueError(f"{where}: image_id {image_id} has no image record")
        if _integer(det.get("category_id", category_id), "category_id", where) != category_id:
            filtered.add(f"detection of another category than {category_id} (left out)", index)
            continue
        bbox = _finite_array(det["bbox"], "bbox", where)
        score = float(_finite_array([det["score"]], "score", where)[0])
        if bbox.size != 4:
            raise ValueError(f"{where}: bbox has {bbox.size} values, expected 4 (x, y, w, h)")
        if score < score_threshold:
            filtered.add(f"score below {score_threshold:g} (left out)", index)
            continue
        if bbox[2] <= 0 or bbox[3] <= 0:
            dropped.add("non-positive box (dropped)", index)
            continue
        kept.append(DetectedBox(image_id, (float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])), score))
    dropped_report = dropped.report(file)
    counts = {**filtered.counts, **dropped_report.counts}
    first_ids = {**{k: tuple(v) for k, v in filtered.first_ids.items()}, **dropped_report.first_ids}
    return tuple(kept), LoadReport(MappingProxyType(counts), MappingProxyType(first_ids))


def annotation_file(root: str | os.PathLike[str]) -> Path:
    """The keypoint file of a dataset folder laid out as COCO's, ``root/annotations/person_keypoints_SPLIT.json``:
    the validation split where there is one (``val``, ``val2017``), else the first split by name."""
    files = sorted(Path(root).glob("annotations/person_keypoints_*.json"))
    if not files:
        raise ValueError(f"{root}: no annotations/person_keypoints_*.json in this folder")
    return next((f for f in files if f.stem.removeprefix("person_keypoints_").startswith("val")), files[0])


def guess_image_dir(path: str | os.PathLike[str]) -> Path | None:
    """The image folder of a file laid out as COCO's: ``root/annotations/person_keypoints_SPLIT.json`` ->
    ``root/SPLIT`` (e.g. ``val2017``, or ``val`` for generated data); None when that folder does not exist."""
    path = Path(path)
    split = path.stem.removeprefix("person_keypoints_")
    candidate = path.parent.parent / split
    return candidate if split != path.stem and candidate.is_dir() else None
