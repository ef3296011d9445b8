"""Counts and metrics of every sub-benchmark cell, for any number of results lists.

:func:`analyse_subsets` works in memory on a :class:`~integral_pose.data.coco.KeypointDataset` and results;
:func:`analyse_subsets_files` reads the files first. Per results list, pycocotools' OKS and the pairing of
predictions with persons are computed once and reused by every cell (see
:class:`integral_pose.metrics.OksAveragePrecision`).

AP on a cell is COCO OKS AP with every ground-truth person outside the cell ignored: a prediction matched to
such a person is neither a true nor a false positive. EPE and PCK on a cell pool the labelled keypoints of the
paired persons of the cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from integral_pose.data.coco import KeypointDataset, KeypointSpec, load_coco_keypoints
from integral_pose.metrics import (
    DEFAULT_PCK_THRESHOLDS,
    OksAveragePrecision,
    check_options,
    coco_ground_truth,
    evaluated_persons,
    pair_predictions,
)
from integral_pose.results import KeypointResults, check_results, load_results
from integral_pose.subsets.cells import CELL_NAMES, SubsetSplit, assign_cells, list_cells

__all__ = ["SubsetReport", "analyse_subsets", "analyse_subsets_files"]

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
        """The report as plain JSON types: the counts at the top level, then "split", "metrics", "pairing"."""
        out = dict(self.counts)
        out["split"] = self.split.as_dict()
        if self.metrics:
            out["metrics"] = self.metrics
            out["pairing"] = self.pairing
        return out


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
            for COCO's keypoint names, see :func:`~integral_pose.data.coco.load_coco_keypoints`).
        options: as for :func:`analyse_subsets`.

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
    loaded = {name: load_results(path, dataset) for name, path in zip(names, paths, strict=True)}
    return analyse_subsets(dataset, loaded, **options)
