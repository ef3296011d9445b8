"""What a dataset's keypoints are: names, skeleton, flip pairs and OKS sigmas.

Indices are 0-based; COCO files store skeletons 1-based and :func:`spec_from_category` /
:meth:`KeypointSpec.to_category` convert. A dataset description file (TOML or JSON, read by
:meth:`KeypointSpec.from_file`) names keypoints rather than numbering them, so it cannot be off by one::

    names = ["head", "left_hand", "right_hand"]
    skeleton = [["head", "left_hand"], ["head", "right_hand"]]
    sigmas = [0.05, 0.06, 0.06]
    # flip_pairs = [["left_hand", "right_hand"]]   # optional: by default from left_*/right_* names

See ``integral_pose/configs/datasets/`` (installed with the package) for complete examples.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = ["COCO_PERSON", "KeypointSpec", "flip_pairs_from_names", "spec_from_category"]

LEFT, RIGHT = "left_", "right_"
DESCRIPTION_KEYS = {"names", "skeleton", "flip_pairs", "sigmas"}


def flip_pairs_from_names(names: Sequence[str]) -> tuple[tuple[int, int], ...]:
    """0-based ``(left, right)`` index pairs of names ``left_X`` and ``right_X``, in the order of the left names.

    Example:
        >>> flip_pairs_from_names(["nose", "left_eye", "right_eye"])
        ((1, 2),)
    """
    index = {name: i for i, name in enumerate(names)}
    return tuple(
        (i, index[RIGHT + name.removeprefix(LEFT)])
        for i, name in enumerate(names)
        if name.startswith(LEFT) and RIGHT + name.removeprefix(LEFT) in index
    )


@dataclass(frozen=True)
class KeypointSpec:
    """The keypoints of a dataset.

    Attributes:
        names: K unique names.
        skeleton: 0-based index pairs joined when drawing.
        flip_pairs: 0-based ``(left, right)`` pairs swapped by a horizontal flip; each index in one pair at most.
        sigmas: K OKS sigmas (COCO's per-keypoint constants, > 0).

    Raises:
        ValueError: for duplicate names, out-of-range or repeated indices, or sigmas of the wrong count or sign.
    """

    names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]
    sigmas: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "skeleton", tuple(tuple(p) for p in self.skeleton))
        object.__setattr__(self, "flip_pairs", tuple(tuple(p) for p in self.flip_pairs))
        object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
        k = len(self.names)
        if k == 0 or any(not isinstance(n, str) or not n for n in self.names):
            raise ValueError(f"names: expected one or more non-empty strings, got {list(self.names)}")
        if len(set(self.names)) != k:
            raise ValueError(f"names: expected unique names, got {list(self.names)}")
        for attr in ("skeleton", "flip_pairs"):
            for pair in getattr(self, attr):
                if len(pair) != 2 or any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < k for i in pair):
                    raise ValueError(f"{attr}: expected pairs of indices in [0, {k}), got {pair}")
                if pair[0] == pair[1]:
                    raise ValueError(f"{attr}: pair {pair} joins a keypoint to itself")
        flat = [i for pair in self.flip_pairs for i in pair]
        if len(set(flat)) != len(flat):
            raise ValueError(f"flip_pairs: each keypoint may appear in one pair at most, got {list(self.flip_pairs)}")
        if len(self.sigmas) != k or not all(math.isfinite(s) and s > 0 for s in self.sigmas):
            raise ValueError(f"sigmas: expected {k} finite values > 0, got {list(self.sigmas)}")

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    @property
    def flip_index(self) -> tuple[int, ...]:
        """Permutation applied by a horizontal flip: keypoint k of the flipped person is keypoint ``flip_index[k]``."""
        perm = list(range(self.num_keypoints))
        for left, right in self.flip_pairs:
            perm[left], perm[right] = right, left
        return tuple(perm)

    def to_category(self, category_id: int = 1, name: str = "person") -> dict[str, Any]:
        """The COCO ``categories`` entry of these keypoints (skeleton 1-based, as COCO stores it)."""
        return {
            "supercategory": name,
            "id": category_id,
            "name": name,
            "keypoints": list(self.names),
            "skeleton": [[a + 1, b + 1] for a, b in self.skeleton],
        }

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KeypointSpec:
        """Read a dataset description (``.toml`` or ``.json``; keys: names, skeleton, sigmas, optional flip_pairs).

        Skeleton and flip pairs are given as pairs of names. Unknown keys and unknown names fail with the file
        name.
        """
        path = Path(path)
        if path.suffix not in (".toml", ".json"):
            raise ValueError(f"{path.name}: expected a .toml or .json dataset description, got {path.suffix!r}")
        try:
            if path.suffix == ".toml":
                with open(path, "rb") as f:
                    data = tomllib.load(f)
            else:
                with open(path, encoding="utf-8") as f:
                    data = json.load(f)
        except FileNotFoundError:
            raise ValueError(f"{path}: no such file") from None
        except RecursionError:
            raise ValueError(f"{path.name}: cannot parse: arrays or tables nested too deeply") from None
        except ValueError as e:  # tomllib.TOMLDecodeError and json.JSONDecodeError are ValueErrors
            raise ValueError(f"{path.name}: cannot parse: {e}") from None
        if not isinstance(data, Mapping):
            raise ValueError(f"{path.name}: expected a table/object at the top level")
        unknown = sorted(set(data) - DESCRIPTION_KEYS)
        if unknown:
            raise ValueError(f"{path.name}: unknown keys {unknown}; expected {sorted(DESCRIPTION_KEYS)}")
        missing = sorted({"names", "sigmas"} - set(data))
        if missing:
            raise ValueError(f"{path.name}: missing keys {missing}")
        try:
            names = _names(data["names"], "names")
            sigmas = data["sigmas"]
            if not isinstance(sigmas, list) or any(isinstance(v, bool) or not isinstance(v, (int, float))
                                                   for v in sigmas):
                raise ValueError(f"sigmas: expected a list of numbers, got {_short(sigmas)}")
            return cls(
                names=names,
                skeleton=_pairs_by_name(data.get("skeleton", []), names, "skeleton"),
                flip_pairs=(
                    _pairs_by_name(data["flip_pairs"], names, "flip_pairs")
                    if "flip_pairs" in data
                    else flip_pairs_from_names(names)
                ),
                sigmas=tuple(sigmas),
            )
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path.name}: {e}") from None


def _short(value: Any) -> str:
    """A value as JSON writes it (``null``, ``true``), cut to 60 characters, for error messages."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _names(value: Any, key: str) -> tuple[str, ...]:
    """A non-empty list of non-empty strings (a number is never taken as a name)."""
    if not isinstance(value, list) or not value or any(not isinstance(n, str) or not n for n in value):
        raise ValueError(f"{key}: expected a non-empty list of keypoint names (non-empty strings), got "
                         f"{_short(value)}")
    return tuple(value)


def _pairs_by_name(pairs: Any, names: Sequence[str], key: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(pairs, list):
        raise ValueError(f"{key}: expected a list of pairs of names, got {_short(pairs)}")
    index = {name: i for i, name in enumerate(names)}
    out = []
    for pair in pairs:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(n, str) for n in pair):
            raise ValueError(f"{key}: expected pairs of names (strings), got {_short(pair)}")
        unknown = [n for n in pair if n not in index]
        if unknown:
            raise ValueError(f"{key}: unknown keypoint name {unknown[0]!r} in {list(pair)}")
        out.append((index[pair[0]], index[pair[1]]))
    return tuple(out)


COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip
# COCO's skeleton (as in person_keypoints_*.json, there 1-based), here 0-based.
COCO_SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
    (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)  # fmt: skip
# The official OKS sigmas of cocoapi (PythonAPI/pycocotools/cocoeval.py).
COCO_SIGMAS = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
    0.089, 0.089,
)  # fmt: skip

COCO_PERSON = KeypointSpec(
    names=COCO_NAMES, skeleton=COCO_SKELETON, flip_pairs=flip_pairs_from_names(COCO_NAMES), sigmas=COCO_SIGMAS
)


def spec_from_category(category: Mapping[str, Any], where: str) -> KeypointSpec:
    """The spec of a COCO ``categories`` entry: names and (1-based) skeleton from it, flip pairs from
    ``left_*``/``right_*`` names, COCO's sigmas when the names are COCO's.

    Args:
        category: the JSON object.
        where: prefix of error messages, e.g. ``"person_keypoints_val2017.json: category 1 (person)"``.

    Raises:
        ValueError: when the category lists no keypoint names, the skeleton is not 1-based pairs in range, or the
            names are not COCO's (their sigmas must then come from a dataset description).
    """
    names = category.get("keypoints")
    if not isinstance(names, list) or not names:
        raise ValueError(f"{where}: no 'keypoints' names; give a dataset description (KeypointSpec.from_file)")
    try:
        _names(names, "keypoints")
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    k = len(names)
    skeleton = []
    pairs = category.get("skeleton", [])
    if not isinstance(pairs, list):
        raise ValueError(f"{where}: skeleton: expected a list of 1-based index pairs, got {_short(pairs)}")
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2 or not all(
            isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= k for i in pair
        ):
            raise ValueError(f"{where}: skeleton: expected 1-based index pairs in [1, {k}], got {_short(pair)}")
        skeleton.append((pair[0] - 1, pair[1] - 1))
    if tuple(names) != COCO_NAMES:
        raise ValueError(
            f"{where}: {k} keypoints not named as COCO's, so their OKS sigmas are unknown; give them in a dataset "
            "description file (KeypointSpec.from_file, examples in integral_pose/configs/datasets/) and pass it as spec"
        )
    try:
        return KeypointSpec(names=tuple(names), skeleton=tuple(skeleton), flip_pairs=flip_pairs_from_names(names),
                            sigmas=COCO_SIGMAS)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
