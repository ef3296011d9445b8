"""Evaluation of a top-down model on a COCO-format keypoint dataset: predictions on ground-truth or detected boxes,
COCO OKS AP, EPE and PCK, and the sub-benchmark analysis, written as files and shown as a table.

:func:`evaluate` runs :func:`integral_pose.inference.predict` over the boxes, applies OKS-NMS to detected boxes,
converts to COCO keypoint results and measures them with :func:`integral_pose.subsets.analyse_subsets` (whose
"all" cell is :func:`integral_pose.metrics.evaluate_keypoints`'s figures). Coordinates are image pixels (see
:mod:`integral_pose.coords`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from integral_pose.data.coco import DetectedBox, KeypointDataset, load_person_detections
from integral_pose.data.crop import DEFAULT_PADDING
from integral_pose.data.dataset import TopDownDataset, make_loader
from integral_pose.inference import (
    DEFAULT_KEYPOINT_THRESHOLD,
    DEFAULT_NMS_THRESHOLD,
    Predictions,
    oks_nms,
    predict,
    to_results,
)
from integral_pose.metrics import DEFAULT_PCK_THRESHOLDS
from integral_pose.results import KeypointResults
from integral_pose.subsets import SubsetReport, analyse_subsets

__all__ = ["EvalReport", "evaluate", "metrics_table", "results_json"]

METRIC_ORDER = ("AP", "AP50", "AP75", "APm", "APl", "AR", "EPE", "EPE_norm")


@dataclass(frozen=True)
class EvalReport:
    """What :func:`evaluate` measured.

    Attributes:
        metrics: ``{"AP", "AP50", "AP75", "APm", "APl", "AR"}`` (pycocotools, in [0, 1]), ``"EPE"`` (image pixels),
            ``"EPE_norm"`` (EPE over ``sqrt(w h)`` of the ground-truth box), ``"PCK@t"``, ``"n"``, ``"paired"``,
            ``"keypoints"``; values are None where nothing was measured.
        settings: how the predictions were made (boxes, flip test, thresholds, counts).
        subsets: the sub-benchmark analysis of the same results.
        results: the COCO keypoint results that were measured.
        files: paths written (results JSON, metrics JSON, sub-benchmark tables and charts); empty without ``out``.
    """

    metrics: dict
    settings: dict
    subsets: SubsetReport
    results: KeypointResults
    files: tuple[Path, ...] = field(default_factory=tuple)

    def to_json(self) -> dict:
        """Plain JSON types: ``{"metrics", "settings", "pairing", "subsets"}``."""
        name = self.settings["name"]
        return {"metrics": self.metrics, "settings": self.settings, "pairing": self.subsets.pairing.get(name, {}),
                "subsets": self.subsets.to_json(), "files": [str(p) for p in self.files]}


def metrics_table(report: EvalReport):
    """A rich table of the headline metrics: AP (x100), AR, EPE in pixels and normalised, PCK."""
    from rich.table import Table

    metrics = report.metrics
    keys = [k for k in METRIC_ORDER if k in metrics] + [k for k in metrics if k.startswith("PCK@")]
    settings = report.settings
    title = (f"{settings['dataset']}: {settings['predictions']} predictions on {settings['boxes']} boxes, "
             f"flip test {'on' if settings['flip_test'] else 'off'}")
    table = Table(title=title)
    for key in keys:
        table.add_column(key, justify="right")
    table.add_row(*(_format(key, metrics[key]) for key in keys))
    return table


def _format(key: str, value) -> str:
    if value is None:
        return "-"
    if key == "EPE":
        return f"{value:.2f}"
    if key == "EPE_norm":
        return f"{value:.4f}"
    return f"{100 * value:.1f}"


def results_json(results: KeypointResults) -> list[dict]:
    """COCO result dicts, with ``annotation_id`` on each entry where the results carry them (ground-truth boxes),
    so that :func:`integral_pose.results.load_results` pairs by them again."""
    entries = results.to_coco()
    if results.annotation_ids is not None:
        for entry, annotation_id in zip(entries, results.annotation_ids.tolist(), strict=True):
            entry["annotation_id"] = int(annotation_id)
    return entries


def _detections(boxes, dataset: KeypointDataset, threshold: float) -> tuple[tuple[DetectedBox, ...], dict]:
    if isinstance(boxes, (str, os.PathLike)):
        kept, report = load_person_detections(boxes, dataset.images, score_threshold=threshold)
        return kept, {"detections": str(boxes), "left_out": dict(report.counts)}
    kept = tuple(b for b in boxes if b.score >= threshold)
    return kept, {"detections": f"{len(boxes)} given", "left_out": {"score below threshold": len(boxes) - len(kept)}}


def evaluate(model: nn.Module, method, dataset: KeypointDataset, *,
             boxes: str | os.PathLike[str] | Sequence[DetectedBox] = "gt", flip_test: bool = True,
             input_size: Sequence[int] = (256, 192), padding: float = DEFAULT_PADDING, batch_size: int = 32,
             workers: int = 0, device: str | torch.device = "cpu", detection_threshold: float = 0.0,
             nms_threshold: float | None = None, keypoint_threshold: float = DEFAULT_KEYPOINT_THRESHOLD,
             keypoint_score: str = "method", pck_thresholds: Sequence[float] = DEFAULT_PCK_THRESHOLDS,
             out: str | os.PathLike[str] | None = None, name: str = "model", progress: bool = False) -> EvalReport:
    """Predict on every box of ``dataset`` and measure the results.

    Args:
        model: as for :func:`integral_pose.inference.predict` (``stride`` attribute, 0..255 RGB input).
        method: its ``decode`` and ``flip_merge`` (:class:`integral_pose.methods.Method`).
        dataset: ground truth with ``image_dir``.
        boxes: ``"gt"`` (the evaluated persons' own boxes; results name their annotation), a person-detection
            results file (``[{"image_id", "bbox", "score"}]``), or detections already loaded.
        flip_test: average with the mirrored crop (see :mod:`integral_pose.inference`).
        input_size: ``(H, W)`` of the crops, multiples of the model's stride.
        padding: box padding of the crops.
        batch_size, workers: of the DataLoader.
        device: where the model runs.
        detection_threshold: detections scoring below it are left out.
        nms_threshold: OKS above which the lower-scoring of two predictions of an image goes; None: 0.9 with
            detected boxes, no NMS on ground-truth boxes.
        keypoint_threshold: keypoint scores above it count in the person score (:func:`~integral_pose.inference.
            person_scores`).
        keypoint_score: the keypoint confidence, see :func:`~integral_pose.inference.predict`.
        pck_thresholds: fractions of the larger side of the ground-truth box.
        out: folder for ``results.json`` (COCO keypoint results), ``metrics.json`` and ``subsets/``; None: nothing
            is written.
        name: the results' name in the sub-benchmark tables.
        progress: progress bars on stderr.

    Returns:
        :class:`EvalReport`.
    """
    if isinstance(boxes, str) and boxes == "gt":
        # training_persons() are the evaluated persons: non-crowd, a labelled keypoint (and a positive box).
        samples = TopDownDataset(dataset, persons=dataset.training_persons(), **_sizes(model, input_size, padding))
        box_settings: dict = {"boxes": "gt"}
        nms = nms_threshold
    else:
        detected, box_settings = _detections(boxes, dataset, detection_threshold)
        if not detected:
            raise ValueError(f"boxes: no detection left of {box_settings['detections']} at score >= "
                             f"{detection_threshold:g}")
        samples = TopDownDataset(dataset, detections=detected, **_sizes(model, input_size, padding))
        box_settings = {"boxes": "detected", **box_settings}
        nms = DEFAULT_NMS_THRESHOLD if nms_threshold is None else nms_threshold
    loader = make_loader(samples, batch_size=batch_size, shuffle=False, num_workers=workers)
    predictions = predict(model, method, loader, flip_index=dataset.spec.flip_index, flip_test=flip_test,
                          device=device, progress=progress, keypoint_score=keypoint_score)
    before = len(predictions)
    if nms is not None:
        predictions = _nms(predictions, dataset, nms, keypoint_threshold)
    results = to_results(predictions, category_id=dataset.category_id, keypoint_threshold=keypoint_threshold,
                         source=name)
    subsets = analyse_subsets(dataset, {name: results}, pck_thresholds=pck_thresholds, progress=progress)
    metrics = dict(subsets.metrics[name]["all"])
    settings = {"name": name, "dataset": dataset.path.name, **box_settings, "flip_test": flip_test,
                "flip_merge": getattr(method, "flip_merge", None), "input_size": list(samples.input_size),
                "padding": padding, "keypoint_score": keypoint_score, "keypoint_threshold": keypoint_threshold,
                "nms_threshold": nms, "boxes_predicted": before, "predictions": len(predictions)}
    report = EvalReport(metrics, settings, subsets, results)
    if out is None:
        return report
    return EvalReport(metrics, settings, subsets, results, tuple(_write(report, Path(out))))


def _sizes(model: nn.Module, input_size: Sequence[int], padding: float) -> dict:
    stride = int(getattr(model, "stride", 4))
    h, w = int(input_size[0]), int(input_size[1])
    if h % stride or w % stride:
        raise ValueError(f"input_size: expected multiples of the model's stride {stride}, got {h}x{w}")
    return {"input_size": (h, w), "heatmap_size": (h // stride, w // stride), "padding": padding}


def _nms(predictions: Predictions, dataset: KeypointDataset, threshold: float,
         keypoint_threshold: float) -> Predictions:
    keep = oks_nms(predictions.keypoints, predictions.person_scores(keypoint_threshold), predictions.areas,
                   predictions.image_ids, sigmas=dataset.spec.sigmas, threshold=threshold)
    return predictions.select(keep)


def _write(report: EvalReport, out: Path) -> list[Path]:
    from integral_pose.subsets.output import write_report

    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results_path.write_text(json.dumps(results_json(report.results)) + "\n")
    written = [results_path, *write_report(report.subsets, out / "subsets")]
    metrics_path = out / "metrics.json"
    files = (metrics_path, *written)
    metrics_path.write_text(json.dumps({**EvalReport(report.metrics, report.settings, report.subsets,
                                                     report.results, files).to_json()}, indent=1) + "\n")
    return list(files)
