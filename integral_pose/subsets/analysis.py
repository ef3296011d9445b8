"""Counts and metrics of every sub-benchmark cell, for any number of results lists.

:func:`analyse_subsets` works in memory on a :class:`~integral_pose.data.coco.KeypointDataset` and results;
:func:`analyse_subsets_files` reads the files first (through :func:`integral_pose.results.load_results_files`).
This package reaches the ground truth only through :mod:`integral_pose.metrics` and
:mod:`integral_pose.results`, never :mod:`integral_pose.data` itself, so that the data package may use it.
Per results list, pycocotools' OKS and the pairing of predictions with persons are computed once and reused
by every cell (see :class:`integral_pose.metrics.OksAveragePrecision`).

AP on a cell is COCO OKS AP with every ground-truth person outside the cell ignored: a prediction matched to
such a person is neither a true nor a false positive. EPE and PCK on a cell pool the labelled keypoints of the
paired persons of the cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from integral_pose.metrics import (
    DEFAULT_PCK_THRESHOLDS,
    OksAveragePrecision,
    check_options,
    coco_ground_truth,
    evaluated_persons,
    pair_predictions,
)
from integral_pose.results import KeypointResults, check_results, load_results_files
from integral_pose.subsets.cells import CELL_NAMES, SubsetSplit, assign_cells, list_cells

if TYPE_CHECKING:  # the ground-truth types, through the evaluation layer (subsets never imports data itself)
    from integral_pose.results import KeypointDataset, KeypointSpec

__all__ = ["SubsetReport", "analyse_subsets", "analyse_subsets_files", "finite_json"]

Metrics = dict[str, float | int | None]


@dataclass(frozen=True)
class SubsetReport:
    """Person counts per cell and, per results list, the metrics of every cell.

    Attributes:
        split: the thresholds used.
        num_keypoints: K of the dataset.
        counts: ``{"all": n, axis: {cell: n}, "size_x_keypoints": {row: {column: n}}, ...}``.
        metrics: ``{name: {"all": Metrics, axis: {cell: Metrics}, cross: {row: {column: Metrics}}}}`` where a
            ``Metrics`` dict holds AP, AP50, AP75, AR (and APm, APl for "all"), EPE, EPE_norm, PCK@t, n, paired
            and keypoints; empty without results.
        pairing: ``{name: {"paired_by", "unpaired_persons", "unpaired_predictions", "predictions"}}``.
        source: the annotations file, for titles.
    """

    split: SubsetSplit
    num_keypoints: int
    counts: dict
    metrics: dict[str, dict] = field(default_factory=dict)
    pairing: dict[str, dict] = field(default_factory=dict)
    source: str = ""

    @property
    def names(self) -> list[str]:
        return list(self.metrics)

    def labels(self, axis: str) -> dict[str, str]:
        """``{cell: readable label with its range}`` for ``axis``."""
        return dict(zip(CELL_NAMES[axis], self.split.labels(axis, self.num_keypoints), strict=True))

    def to_json(self) -> dict:
        """The report as plain JSON types: the counts at the top level, then "split", "metrics", "pairing".

        A value that is not a finite number (an EPE that overflows to infinity on a keypoint near 1e308
        pixels, for example) becomes None, JSON's null, so the result always serialises to valid JSON.
        """
        out = dict(self.counts)
        out["split"] = self.split.as_dict()
        if self.metrics:
            out["metrics"] = self.metrics
            out["pairing"] = self.pairing
        return finite_json(out)


def finite_json(value):
    """A copy of nested dicts and lists in which every float that is NaN or infinite is None.

    Example:
        >>> finite_json({"EPE": float("inf"), "AP": [0.5, float("nan")], "n": 3})
        {'EPE': None, 'AP': [0.5, None], 'n': 3}
    """
    if isinstance(value, Mapping):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _nest(cells: list, values: list) -> dict:
    """Arrange per-cell values as ``{"all": v, axis: {cell: v}, cross: {row: {column: v}}}``."""
    out: dict = {}
    for cell, value in zip(cells, values, strict=True):
        if cell.table == "all":
            out["all"] = value
        elif cell.column is None:
            out.setdefault(cell.table, {})[cell.row] = value
        else:
            out.setdefault(cell.table, {}).setdefault(cell.row, {})[cell.column] = value
    return out


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), disable=not enabled, transient=True)


def analyse_subsets(dataset: KeypointDataset, results: Mapping[str, KeypointResults] | None = None, *,
                    split: SubsetSplit | None = None, sigmas: Sequence[float] | None = None,
                    pck_thresholds: Sequence[float] = DEFAULT_PCK_THRESHOLDS, min_oks: float = 0.0,
                    progress: bool = False) -> SubsetReport:
    """Split the evaluated persons into cells and measure every results list on every cell.

    Args:
        dataset: the ground truth.
        results: ``{name: results}``, each validated against ``dataset`` here; counts only where None or empty.
        split: the thresholds; the defaults of :class:`SubsetSplit` where None.
        sigmas: ``(K,)`` OKS sigmas; ``dataset.spec.sigmas`` where None.
        pck_thresholds: fractions of the larger side of the ground-truth box.
        min_oks: pairs with OKS <= min_oks are not made when pairing by OKS.
        progress: show a progress bar over the cells on stderr.

    Returns:
        The counts and, per results list, the metrics of every cell.
    """
    split = SubsetSplit() if split is None else split
    sigmas = dataset.spec.sigmas if sigmas is None else sigmas
    check_options(sigmas=sigmas, num_keypoints=dataset.spec.num_keypoints, min_oks=min_oks,
                  pck_thresholds=pck_thresholds)
    persons = evaluated_persons(dataset)
    cells = list_cells(assign_cells(persons, split))
    counts = _nest(cells, [int(c.members.sum()) for c in cells])
    if not results:
        return SubsetReport(split, dataset.spec.num_keypoints, counts, source=str(dataset.path))
    for result in results.values():
        check_results(result, dataset)
    coco_gt = coco_ground_truth(dataset)
    metrics_of, pairing_of = {}, {}
    with _progress(progress) as bar:
        for name, result in results.items():
            task = bar.add_task(f"{name}: OKS", total=len(cells) + 1)
            errors = pair_predictions(persons, result, sigmas=sigmas, min_oks=min_oks)
            ap = OksAveragePrecision(coco_gt, result, sigmas=sigmas, pairs=errors.pairs())
            bar.update(task, advance=1, description=f"{name}: cells")
            values = []
            for cell in cells:
                metrics: Metrics = dict(ap.summary) if cell.table == "all" else \
                    ap.on_subset(persons.annotation_ids[cell.members])
                metrics.update(errors.summary(cell.members, pck_thresholds))
                values.append(metrics)
                bar.advance(task)
            metrics_of[name] = _nest(cells, values)
            pairing_of[name] = {
                "paired_by": errors.paired_by,
                "predictions": len(result),
                "unpaired_persons": int((~errors.paired).sum()),
                "unpaired_predictions": errors.unpaired_predictions,
            }
    return SubsetReport(split, dataset.spec.num_keypoints, counts, metrics_of, pairing_of, source=str(dataset.path))


def analyse_subsets_files(annotations: str | Path, results: Sequence[str | Path] = (), *,
                          names: Sequence[str] | None = None, spec: KeypointSpec | None = None,
                          **options) -> SubsetReport:
    """:func:`analyse_subsets` on a COCO keypoint annotations file and results files.

    Args:
        annotations: COCO keypoint annotations (JSON).
        results: COCO keypoint results files.
        names: one name per results file; the file stems where None.
        spec: the keypoints and their OKS sigmas; read from the file's category where None (COCO's sigmas
            for COCO's keypoint names, see :func:`~integral_pose.results.load_results_files`).
        options: as for :func:`analyse_subsets`.

    Raises:
        ValueError: for a names count other than the results count, duplicate names, or bad files (naming the
            file and the annotation id or entry index).
    """
    dataset, loaded = load_results_files(annotations, results, names=names, spec=spec)
    return analyse_subsets(dataset, loaded, **options)
