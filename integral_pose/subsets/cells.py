"""The three axes of the sub-benchmarks and the cell of every ground-truth person on each.

Axes, after the supplementary material of "Removing the Bias of Integral Pose Regression" (Gu, Yang, Yao,
ICCV 2021), with their default thresholds:

- ``keypoints``, the number of labelled keypoints (visibility > 0): few 1-5, some 6-10, many 11-17;
- ``occlusion``, the share of labelled keypoints that are occluded (visibility 1): few < 0.2,
  some 0.2 to < 0.5, many >= 0.5;
- ``size``, the annotation area in square pixels: M < 64^2, L 64^2 to < 96^2, XL 96^2 to < 128^2, XXL >= 128^2.

Two cross tables combine them: size x keypoints and occlusion x keypoints (rows x columns).
The persons split are those of :func:`integral_pose.metrics.evaluated_persons`: non-crowd, with at least one
labelled keypoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from integral_pose.metrics import PersonArrays

__all__ = ["AXES", "CELL_NAMES", "CROSSES", "Cell", "SubsetSplit", "assign_cells", "axis_values", "cross_key",
           "list_cells"]

AXES = ("keypoints", "occlusion", "size")
CELL_NAMES = {
    "keypoints": ("few", "some", "many"),
    "occlusion": ("few", "some", "many"),
    "size": ("M", "L", "XL", "XXL"),
}
CROSSES = (("size", "keypoints"), ("occlusion", "keypoints"))


def cross_key(rows: str, columns: str) -> str:
    """The name of a cross table, for example ``"size_x_keypoints"``."""
    return f"{rows}_x_{columns}"


def _check_edges(name: str, edges: tuple, count: int, low: float, high: float) -> None:
    if len(edges) != count:
        raise ValueError(f"{name}: expected {count} thresholds, got {len(edges)}: {edges}")
    if not all(isinstance(e, (int, float)) and not isinstance(e, bool) and math.isfinite(e) for e in edges):
        raise ValueError(f"{name}: expected finite numbers, got {edges}")
    if not all(a < b for a, b in pairwise(edges)):
        raise ValueError(f"{name}: expected strictly increasing thresholds, got {edges}")
    if not (low < edges[0] and edges[-1] <= high):
        raise ValueError(f"{name}: expected thresholds in ({low:g}, {high:g}], got {edges}")


@dataclass(frozen=True)
class SubsetSplit:
    """The thresholds of the three axes: a person with value v is in cell i when ``edges[i-1] <= v < edges[i]``.

    Attributes:
        keypoint_edges: first keypoint counts of "some" and "many" (default 6, 11: few 1-5, some 6-10, many 11+).
        occlusion_edges: lower bounds of the occluded share for "some" and "many" (default 0.2, 0.5).
        size_edges: lower bounds of L, XL and XXL as the side of a square in pixels (default 64, 96, 128); the
            annotation area is compared with their squares.
    """

    keypoint_edges: tuple[int, int] = (6, 11)
    occlusion_edges: tuple[float, float] = (0.2, 0.5)
    size_edges: tuple[float, float, float] = (64.0, 96.0, 128.0)

    def __post_init__(self) -> None:
        _check_edges("keypoint_edges", tuple(self.keypoint_edges), 2, 1, math.inf)
        if not all(isinstance(e, int) and not isinstance(e, bool) for e in self.keypoint_edges):
            raise ValueError(f"keypoint_edges: expected integers, got {self.keypoint_edges}")
        _check_edges("occlusion_edges", tuple(self.occlusion_edges), 2, 0.0, 1.0)
        _check_edges("size_edges", tuple(self.size_edges), 3, 0.0, math.inf)

    def edges(self, axis: str) -> tuple[float, ...]:
        """The thresholds of ``axis`` on its value (for size: on the area, so the squares of ``size_edges``)."""
        if axis == "size":
            return tuple(float(e) ** 2 for e in self.size_edges)
        return tuple(float(e) for e in {"keypoints": self.keypoint_edges, "occlusion": self.occlusion_edges}[axis])

    def labels(self, axis: str, num_keypoints: int) -> tuple[str, ...]:
        """Readable cell names with their ranges, for example ``("few (1-5)", "some (6-10)", "many (11-17)")``."""
        names = CELL_NAMES[axis]
        if axis == "keypoints":
            lows = (1, *self.keypoint_edges)
            highs = (*(e - 1 for e in self.keypoint_edges), num_keypoints)
            return tuple(f"{n} ({lo}-{hi})" for n, lo, hi in zip(names, lows, highs, strict=True))
        edges = self.occlusion_edges if axis == "occlusion" else self.size_edges
        fmt = (lambda e: f"{e:g}") if axis == "occlusion" else (lambda e: f"{e:g}²")
        ranges = [f"<{fmt(edges[0])}"]
        ranges += [f"{fmt(a)}-{fmt(b)}" for a, b in pairwise(edges)]
        ranges += [f">={fmt(edges[-1])}"]
        return tuple(f"{n} ({r})" for n, r in zip(names, ranges, strict=True))

    def as_dict(self) -> dict[str, list[float]]:
        return {"keypoints": list(self.keypoint_edges), "occlusion": list(self.occlusion_edges),
                "size": list(self.size_edges)}


def axis_values(persons: PersonArrays) -> dict[str, np.ndarray]:
    """The value of each person on each axis.

    Returns:
        ``{"keypoints": (P,) labelled count, "occlusion": (P,) share of labelled keypoints with visibility 1,
        "size": (P,) annotation area in square pixels}``.
    """
    visibility = persons.keypoints[..., 2]
    labelled = (visibility > 0).sum(axis=1)
    return {
        "keypoints": labelled.astype(np.float64),
        "occlusion": (visibility == 1).sum(axis=1) / labelled,
        "size": persons.areas.astype(np.float64),
    }


def assign_cells(persons: PersonArrays, split: SubsetSplit) -> dict[str, np.ndarray]:
    """The cell of each person on each axis.

    Returns:
        ``{axis: (P,) int64}``, an index into ``CELL_NAMES[axis]``.
    """
    values = axis_values(persons)
    return {axis: np.searchsorted(np.array(split.edges(axis)), values[axis], side="right").astype(np.int64)
            for axis in AXES}


@dataclass(frozen=True)
class Cell:
    """One cell of one table.

    Attributes:
        table: ``"all"``, an axis (``"size"``) or a cross table (``"size_x_keypoints"``).
        row: the cell name on the table's (row) axis; ``"all"`` for the table ``"all"``.
        column: the cell name on the column axis of a cross table, else None.
        members: ``(P,)`` bool, the persons in the cell.
    """

    table: str
    row: str
    column: str | None
    members: np.ndarray


def list_cells(cells: dict[str, np.ndarray]) -> list[Cell]:
    """Every cell: "all", each cell of each axis, each cell of each cross table (rows then columns)."""
    size = len(next(iter(cells.values())))
    out = [Cell("all", "all", None, np.ones(size, dtype=bool))]
    for axis in AXES:
        out += [Cell(axis, name, None, cells[axis] == i) for i, name in enumerate(CELL_NAMES[axis])]
    for rows, columns in CROSSES:
        for i, row in enumerate(CELL_NAMES[rows]):
            out += [Cell(cross_key(rows, columns), row, column, (cells[rows] == i) & (cells[columns] == j))
                    for j, column in enumerate(CELL_NAMES[columns])]
    return out
