"""A small COCO-format person-keypoint ground truth generated from a seed, for tests that need no ../shared data.

Random persons (boxes of side 30 to 220 px, 1 to 17 labelled keypoints, a random share of them occluded) on
640 x 480 images, so every sub-benchmark axis has persons in most cells; plus what real files hold: one image
with 13 persons (more than the 20-detection limit with duplicates), one image with nobody, a crowd annotation
and an annotation without labelled keypoints.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from integral_pose.data.spec import COCO_PERSON

HEIGHT, WIDTH = 480, 640
CROWDED_IMAGE, EMPTY_IMAGE = 11, 12


def _person(rng: np.random.Generator, ann_id: int, image_id: int) -> dict:
    side = float(np.exp(rng.uniform(np.log(30.0), np.log(220.0))))
    w, h = side * rng.uniform(0.5, 1.0), side * rng.uniform(0.8, 1.5)
    h = min(h, HEIGHT - 1.0)
    x, y = rng.uniform(0, WIDTH - w), rng.uniform(0, HEIGHT - h)
    keypoints = np.zeros((17, 3))
    labelled = rng.choice(17, size=int(rng.integers(1, 18)), replace=False)
    keypoints[labelled, 0] = np.round(rng.uniform(x, x + w, size=len(labelled)), 2)
    keypoints[labelled, 1] = np.round(rng.uniform(y, y + h, size=len(labelled)), 2)
    keypoints[labelled, 2] = np.where(rng.uniform(size=len(labelled)) < rng.uniform(), 1, 2)
    return {"id": ann_id, "image_id": image_id, "category_id": 1,
            "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)], "area": round(side * side * 0.7, 2),
            "iscrowd": 0, "num_keypoints": len(labelled), "keypoints": keypoints.ravel().tolist()}


def coco_keypoints(seed: int = 0) -> dict:
    """The ground truth as a COCO dict: images 1-10 with 1 to 5 persons, image 11 with 13, image 12 empty."""
    rng = np.random.default_rng(seed)
    images = [{"id": i, "file_name": f"{i:012d}.jpg", "height": HEIGHT, "width": WIDTH} for i in range(1, 13)]
    per_image = {i: int(rng.integers(1, 6)) for i in range(1, 11)} | {CROWDED_IMAGE: 13}
    annotations = []
    for image_id, count in per_image.items():
        for _ in range(count):
            annotations.append(_person(rng, 1000 + len(annotations), image_id))
    crowd = _person(rng, 1000 + len(annotations), 1) | {"iscrowd": 1}
    unlabelled = _person(rng, 1001 + len(annotations), 2)
    unlabelled["keypoints"], unlabelled["num_keypoints"] = [0.0] * 51, 0
    annotations += [crowd, unlabelled]
    categories = [{"id": 1, "name": "person", "keypoints": list(COCO_PERSON.names),
                   "skeleton": [[a + 1, b + 1] for a, b in COCO_PERSON.skeleton]}]
    return {"images": images, "annotations": annotations, "categories": categories}


def write_coco(path: Path, seed: int = 0) -> Path:
    """Write :func:`coco_keypoints` as JSON at ``path`` (folders created) and return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(coco_keypoints(seed)))
    return path
