"""Keypoint metrics: OKS, pairing of predictions with ground-truth persons, EPE, PCK and COCO OKS AP.

The maths are pure functions over arrays (:func:`oks_matrix`, :func:`pair_by_oks`, :func:`keypoint_distances`,
:func:`mean_error`, :func:`pck`). :func:`pair_predictions` and :class:`OksAveragePrecision` apply them to a
:class:`~integral_pose.data.coco.KeypointDataset` and :class:`~integral_pose.results.KeypointResults`;
:func:`evaluate_keypoints` is the in-memory entry point and :func:`evaluate_keypoints_file` the one on files.

All coordinates are image pixels (see :mod:`integral_pose.coords`). Symbols: K keypoints, D predictions,
G ground-truth persons of one image, P evaluated persons of a dataset, N results.

The evaluated persons are the non-crowd ground-truth persons with at least one labelled keypoint
(visibility > 0): COCO's OKS AP ignores the others, and they have no keypoint to measure an error on.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from scipy.optimize import linear_sum_assignment

from integral_pose.data.coco import KeypointDataset, KeypointSpec, load_coco_keypoints
from integral_pose.results import KeypointResults, check_results, load_results, results_from_dicts

__all__ = [
    "DEFAULT_PCK_THRESHOLDS",
    "OksAveragePrecision",
    "PairedErrors",
    "PersonArrays",
    "check_options",
    "coco_ground_truth",
    "evaluate_keypoints",
    "evaluate_keypoints_file",
    "evaluated_persons",
    "keypoint_distances",
    "mean_error",
    "oks_matrix",
    "pair_by_oks",
    "pair_predictions",
    "pck",
]

DEFAULT_PCK_THRESHOLDS = (0.05, 0.1, 0.2)


def oks_matrix(pred_xy: np.ndarray, gt_keypoints: np.ndarray, areas: np.ndarray, sigmas: Sequence[float]) -> np.ndarray:
    """Object keypoint similarity of every prediction with every ground-truth person, as in pycocotools.

    ``OKS = mean over labelled k of exp(-d_k^2 / (2 * (area + eps) * (2 sigma_k)^2))`` with ``d_k`` the distance in
    pixels and ``eps = np.spacing(1)``; keypoints with visibility 0 do not count.

    Args:
        pred_xy: ``(D, K, 2)`` predicted ``(x, y)`` in image pixels.
        gt_keypoints: ``(G, K, 3)`` ground truth ``(x, y, visibility)``; every person needs a labelled keypoint.
        areas: ``(G,)`` annotation areas in square pixels (the OKS scale ``s^2``).
        sigmas: ``(K,)`` per-keypoint OKS sigmas.

    Returns:
        ``(D, G)`` OKS in ``[0, 1]``.
    """
    labelled = gt_keypoints[..., 2] > 0
    if gt_keypoints.shape[0] and not labelled.any(axis=1).all():
        g = int(np.flatnonzero(~labelled.any(axis=1))[0])
        raise ValueError(f"gt_keypoints: person {g} has no labelled keypoint (visibility > 0); OKS is undefined")
    variances = (2 * np.asarray(sigmas, dtype=np.float64)) ** 2
    d2 = ((pred_xy[:, None, :, :] - gt_keypoints[None, :, :, :2]) ** 2).sum(axis=-1)
    e = d2 / variances / (np.asarray(areas, dtype=np.float64)[None, :, None] + np.spacing(1)) / 2
    return (np.exp(-e) * labelled).sum(axis=-1) / labelled.sum(axis=-1)


def pair_by_oks(oks: np.ndarray, *, min_oks: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one pairing of predictions with persons that maximises the total OKS (an optimal assignment).

    Args:
        oks: ``(D, G)`` OKS of predictions with persons of one image.
        min_oks: pairs with OKS <= min_oks are not made (with the default 0, only pairs sharing nothing).

    Returns:
        ``(pred_index, person_index)``, each ``(M,)`` int64 with ``M <= min(D, G)``, sorted by person.
    """
    weights = np.where(oks > min_oks, oks, 0.0)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    keep = weights[rows, cols] > 0
    order = np.argsort(cols[keep], kind="stable")
    return rows[keep][order].astype(np.int64), cols[keep][order].astype(np.int64)


def keypoint_distances(pred_xy: np.ndarray, gt_xy: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(..., K, 2), (..., K, 2) -> (..., K)``, in the unit of the inputs (image pixels)."""
    return np.sqrt(((np.asarray(pred_xy, np.float64) - np.asarray(gt_xy, np.float64)) ** 2).sum(axis=-1))


def mean_error(distances: np.ndarray, mask: np.ndarray) -> float | None:
    """Mean of ``distances`` over the True entries of ``mask`` (same shape), pooled; None where there is none."""
    n = int(mask.sum())
    return float(distances[mask].sum() / n) if n else None


def pck(distances: np.ndarray, mask: np.ndarray, scales: np.ndarray,
        thresholds: Sequence[float] = DEFAULT_PCK_THRESHOLDS) -> dict[float, float | None]:
    """Percentage of correct keypoints: the share of masked keypoints with ``distance < t * scale``.

    Args:
        distances: ``(P, K)`` in pixels.
        mask: ``(P, K)`` bool, the keypoints that count.
        scales: ``(P,)`` the reference length per person in pixels (here the larger side of its box).
        thresholds: fractions of the scale.

    Returns:
        ``{t: share in [0, 1]}``, None for every t where the mask is empty.
    """
    ratio = distances / np.asarray(scales, np.float64)[:, None]
    n = int(mask.sum())
    return {t: (float((ratio[mask] < t).sum() / n) if n else None) for t in thresholds}


@dataclass(frozen=True)
class PersonArrays:
    """The evaluated ground-truth persons of a dataset (non-crowd, >= 1 labelled keypoint), in file order.

    Attributes:
        annotation_ids: ``(P,)`` int64.
        image_ids: ``(P,)`` int64.
        keypoints: ``(P, K, 3)`` float64, ``(x, y, visibility)`` in image pixels.
        areas: ``(P,)`` annotation areas in square pixels (the OKS scale and the size of the person).
        boxes: ``(P, 4)`` COCO boxes ``(x, y, w, h)`` in image pixels.
    """

    annotation_ids: np.ndarray
    image_ids: np.ndarray
    keypoints: np.ndarray
    areas: np.ndarray
    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.annotation_ids)

    @property
    def labelled(self) -> np.ndarray:
        """``(P, K)`` bool: visibility > 0."""
        return self.keypoints[..., 2] > 0


def evaluated_persons(dataset: KeypointDataset) -> PersonArrays:
    """The persons that OKS AP, EPE and PCK are computed on: non-crowd, with a labelled keypoint.

    Their boxes have w > 0 and h > 0 (:func:`~integral_pose.data.coco.load_coco_keypoints` checks it).
    """
    persons = [p for p in dataset.persons if not p.iscrowd and bool((p.keypoints[:, 2] > 0).any())]
    k = dataset.spec.num_keypoints
    return PersonArrays(
        annotation_ids=np.array([p.id for p in persons], dtype=np.int64),
        image_ids=np.array([p.image_id for p in persons], dtype=np.int64),
        keypoints=np.array([p.keypoints for p in persons], dtype=np.float64).reshape(len(persons), k, 3),
        areas=np.array([p.area for p in persons], dtype=np.float64),
        boxes=np.array([p.bbox for p in persons], dtype=np.float64).reshape(len(persons), 4),
    )


@dataclass(frozen=True)
class PairedErrors:
    """Errors of paired predictions, per evaluated person.

    Attributes:
        persons: the evaluated persons, P of them.
        paired: ``(P,)`` bool, whether a prediction was paired with the person.
        prediction_index: ``(P,)`` int64, the index of the paired result; meaningful where ``paired``.
        distances: ``(P, K)`` float64 pixel distances; meaningful where ``mask``.
        mask: ``(P, K)`` bool, labelled keypoints of paired persons: the keypoints EPE and PCK pool.
        unpaired_predictions: results paired with no evaluated person (extra detections, or predictions
            for crowd or unlabelled persons).
        paired_by: ``"annotation_id"`` or ``"oks"``.
    """

    persons: PersonArrays
    paired: np.ndarray
    prediction_index: np.ndarray
    distances: np.ndarray
    mask: np.ndarray
    unpaired_predictions: int
    paired_by: str

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(prediction_index, annotation_id)``, each ``(M,)``: every pair made."""
        return self.prediction_index[self.paired], self.persons.annotation_ids[self.paired]

    def summary(self, rows: np.ndarray | None = None,
                pck_thresholds: Sequence[float] = DEFAULT_PCK_THRESHOLDS) -> dict[str, float | int | None]:
        """EPE, normalised EPE and PCK over the persons selected by ``rows``.

        Args:
            rows: ``(P,)`` bool selecting persons; all persons where None.
            pck_thresholds: fractions of the larger box side.

        Returns:
            ``{"EPE": px, "EPE_norm": EPE / sqrt(box w * h) pooled per keypoint, "PCK@t": share, ...,
            "n": persons selected, "paired": of them with a prediction, "keypoints": keypoints pooled}``;
            metrics are None where no selected person is paired.
        """
        rows = np.ones(len(self.persons), dtype=bool) if rows is None else rows
        mask = self.mask & rows[:, None]
        w, h = self.persons.boxes[:, 2], self.persons.boxes[:, 3]
        out: dict[str, float | int | None] = {
            "EPE": mean_error(self.distances, mask),
            "EPE_norm": mean_error(self.distances / np.sqrt(w * h)[:, None], mask),
        }
        for t, value in pck(self.distances, mask, np.maximum(w, h), pck_thresholds).items():
            out[f"PCK@{t:g}"] = value
        out.update(n=int(rows.sum()), paired=int((self.paired & rows).sum()), keypoints=int(mask.sum()))
        return out


def _pair_by_annotation_id(persons: PersonArrays, results: KeypointResults) -> tuple[np.ndarray, np.ndarray]:
    row_of = {a: r for r, a in enumerate(persons.annotation_ids.tolist())}
    named = results.annotation_ids.tolist()
    pred = [i for i, a in enumerate(named) if a in row_of]
    return np.array(pred, dtype=np.int64), np.array([row_of[named[i]] for i in pred], dtype=np.int64)


def _pair_by_oks(persons: PersonArrays, results: KeypointResults, sigmas: Sequence[float],
                 min_oks: float) -> tuple[np.ndarray, np.ndarray]:
    rows_of_image: dict[int, list[int]] = {}
    for r, image_id in enumerate(persons.image_ids.tolist()):
        rows_of_image.setdefault(image_id, []).append(r)
    preds_of_image: dict[int, list[int]] = {}
    for i, image_id in enumerate(results.image_ids.tolist()):
        preds_of_image.setdefault(image_id, []).append(i)
    pred_out, row_out = [], []
    for image_id, preds in preds_of_image.items():
        rows = rows_of_image.get(image_id)
        if not rows:
            continue
        oks = oks_matrix(results.keypoints[preds, :, :2], persons.keypoints[rows], persons.areas[rows], sigmas)
        p, g = pair_by_oks(oks, min_oks=min_oks)
        pred_out.append(np.asarray(preds)[p])
        row_out.append(np.asarray(rows)[g])
    if not pred_out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(pred_out), np.concatenate(row_out)


def check_options(*, sigmas: Sequence[float], num_keypoints: int, min_oks: float,
                  pck_thresholds: Sequence[float] = DEFAULT_PCK_THRESHOLDS) -> None:
    """Validate the options of :func:`pair_predictions` and :meth:`PairedErrors.summary`.

    Raises:
        ValueError: naming the option, what was expected and what arrived.
    """
    if len(sigmas) != num_keypoints or not all(math.isfinite(s) and s > 0 for s in sigmas):
        raise ValueError(f"sigmas: expected {num_keypoints} finite numbers > 0, got {list(sigmas)}")
    if not (math.isfinite(min_oks) and 0 <= min_oks < 1):
        raise ValueError(f"min_oks: expected a number in [0, 1), got {min_oks!r}")
    if not pck_thresholds or not all(math.isfinite(t) and t > 0 for t in pck_thresholds):
        raise ValueError(f"pck_thresholds: expected one or more finite numbers > 0, got {list(pck_thresholds)}")


def pair_predictions(persons: PersonArrays, results: KeypointResults, *, sigmas: Sequence[float],
                     min_oks: float = 0.0) -> PairedErrors:
    """Pair each evaluated person with at most one prediction of its own image and measure the errors.

    Where the results carry ``annotation_ids`` they decide the pairing (an entry naming a crowd or unlabelled
    person stays unpaired). Otherwise each image's predictions and persons are paired one-to-one by an
    optimal assignment maximising the total OKS (:func:`pair_by_oks`). A prediction is never paired with a
    person of another image.

    Args:
        persons: from :func:`evaluated_persons`.
        results: validated against the same dataset (:func:`integral_pose.results.check_results`).
        sigmas: ``(K,)`` OKS sigmas.
        min_oks: OKS pairing only: pairs with OKS <= min_oks are not made.

    Returns:
        The per-person pairing and pixel distances.
    """
    check_options(sigmas=sigmas, num_keypoints=persons.keypoints.shape[1], min_oks=min_oks)
    if results.annotation_ids is not None:
        pred, rows = _pair_by_annotation_id(persons, results)
    else:
        pred, rows = _pair_by_oks(persons, results, sigmas, min_oks)
    k = persons.keypoints.shape[1]
    paired = np.zeros(len(persons), dtype=bool)
    paired[rows] = True
    prediction_index = np.zeros(len(persons), dtype=np.int64)
    prediction_index[rows] = pred
    distances = np.zeros((len(persons), k), dtype=np.float64)
    distances[rows] = keypoint_distances(results.keypoints[pred, :, :2], persons.keypoints[rows, :, :2])
    return PairedErrors(
        persons=persons, paired=paired, prediction_index=prediction_index, distances=distances,
        mask=persons.labelled & paired[:, None], unpaired_predictions=len(results) - len(pred),
        paired_by="annotation_id" if results.annotation_ids is not None else "oks",
    )


AP_KEYS = ("AP", "AP50", "AP75", "APm", "APl", "AR")
_ALL_AREAS = [0.0, 1e5**2]  # pycocotools' "all" range


def _quiet(function, *args):
    """Call a pycocotools function with its progress prints silenced."""
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args)


def _mean_valid(values: np.ndarray) -> float | None:
    """Mean of the entries > -1 (pycocotools marks settings without ground truth -1), None where there is none."""
    valid = values[values > -1]
    return float(valid.mean()) if valid.size else None


def coco_ground_truth(dataset: KeypointDataset) -> COCO:
    """A pycocotools ``COCO`` object of the dataset's images and persons (crowd and unlabelled included)."""
    annotations = [
        {"id": p.id, "image_id": p.image_id, "category_id": p.category_id, "bbox": list(p.bbox),
         "area": p.area, "iscrowd": int(p.iscrowd), "num_keypoints": int((p.keypoints[:, 2] > 0).sum()),
         "keypoints": p.keypoints.ravel().tolist()}
        for p in dataset.persons
    ]
    images = [{"id": i.id, "file_name": i.file_name, "height": i.height, "width": i.width}
              for i in dataset.images.values()]
    categories = [{"id": dataset.category_id, "name": f"category {dataset.category_id}",
                   "keypoints": list(dataset.spec.names), "skeleton": [list(edge) for edge in dataset.spec.skeleton]}]
    coco = COCO()
    coco.dataset = {"images": images, "annotations": annotations, "categories": categories}
    _quiet(coco.createIndex)
    return coco


class OksAveragePrecision:
    """COCO OKS AP of one results list, evaluated once, then on any subset of the ground-truth persons.

    pycocotools computes the OKS of every image once (``COCOeval.evaluate``, standard parameters), which gives
    :attr:`summary`. :meth:`on_subset` then leaves the persons outside the subset, and the predictions on them,
    out of the score, so that those are neither rewarded nor punished:

    - a person outside the subset is marked ignored, as pycocotools marks crowd and unlabelled persons: a
      prediction matched to it is neither a true nor a false positive;
    - a prediction paired with a person outside the subset (``pairs``, see :func:`pair_predictions`) is left out,
      so it can neither take a person of the subset nor count as a false positive. Predictions paired with
      nobody stay in every subset.

    Only pycocotools' per-image matching (``evaluateImg``, on the cached OKS) and ``accumulate`` run again per
    subset; the matching is itself cached per image and pattern of ignored persons and left-out predictions.

    Args:
        coco_gt: from :func:`coco_ground_truth`.
        results: validated against the same dataset.
        sigmas: ``(K,)`` OKS sigmas.
        pairs: ``(prediction_index, annotation_id)``, each ``(M,)``: the person each paired prediction is on.
            Without it, every prediction stays in every subset.
    """

    def __init__(self, coco_gt: COCO, results: KeypointResults, *, sigmas: Sequence[float],
                 pairs: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        coco_dt = _quiet(coco_gt.loadRes, results.to_coco())
        self._eval = COCOeval(coco_gt, coco_dt, "keypoints")
        self._eval.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        _quiet(self._eval.evaluate)
        _quiet(self._eval.accumulate)
        _quiet(self._eval.summarize)
        self.summary: dict[str, float | None] = {
            key: (None if value == -1 else float(value))
            for key, value in zip(AP_KEYS, self._eval.stats[[0, 1, 2, 3, 4, 5]], strict=True)
        }
        self._category = results.category_id
        self._base_ignore = {g["id"]: bool(g["ignore"]) for gts in self._eval._gts.values() for g in gts}
        # loadRes numbers the results 1..N in list order
        self._person_of = {} if pairs is None else dict(zip((pairs[0] + 1).tolist(), pairs[1].tolist(), strict=True))
        self._cache: dict[tuple, dict | None] = {}

    def on_subset(self, annotation_ids: np.ndarray) -> dict[str, float | None]:
        """AP, AP50, AP75 and AR with the persons outside ``annotation_ids`` and the predictions on them left out.

        Args:
            annotation_ids: ``(S,)`` ids of the persons kept.

        Returns:
            ``{"AP", "AP50", "AP75", "AR"}`` in ``[0, 1]``, None where the subset holds no evaluated person.
        """
        keep = set(np.asarray(annotation_ids).tolist())
        evaluation = self._eval
        per_image = []
        for image_id in evaluation.params.imgIds:
            gts = evaluation._gts[image_id, self._category]
            dts = evaluation._dts[image_id, self._category]
            ignore = tuple(self._base_ignore[g["id"]] or g["id"] not in keep for g in gts)
            kept = tuple(d["id"] not in self._person_of or self._person_of[d["id"]] in keep for d in dts)
            key = (image_id, ignore, kept)
            if key not in self._cache:
                self._cache[key] = self._evaluate_image(image_id, ignore, kept)
            per_image.append(self._cache[key])
        return _accumulate(per_image, evaluation.params)

    def _evaluate_image(self, image_id: int, ignore: tuple[bool, ...], kept: tuple[bool, ...]) -> dict | None:
        """pycocotools' matching of one image with some persons ignored and some predictions left out."""
        evaluation, key = self._eval, (image_id, self._category)
        for g, flag in zip(evaluation._gts[key], ignore, strict=True):
            g["ignore"] = flag
        if all(kept):
            return evaluation.evaluateImg(image_id, self._category, _ALL_AREAS, evaluation.params.maxDets[-1])
        all_dts, all_ious = evaluation._dts[key], evaluation.ious[key]
        evaluation._dts[key] = [d for d, k in zip(all_dts, kept, strict=True) if k]
        # computeOks kept the rows of the maxDets best-scored predictions, sorted by score (a stable sort, so the
        # kept predictions keep their relative order); recompute only where a prediction beyond them moves up
        order = np.argsort([-d["score"] for d in all_dts], kind="mergesort")
        rows = [r for r, i in enumerate(order) if kept[i]][: evaluation.params.maxDets[-1]]
        if len(all_ious) == 0 or not rows:
            evaluation.ious[key] = []
        elif rows[-1] < len(all_ious):
            evaluation.ious[key] = all_ious[rows]
        else:
            evaluation.ious[key] = evaluation.computeOks(image_id, self._category)
        try:
            return evaluation.evaluateImg(image_id, self._category, _ALL_AREAS, evaluation.params.maxDets[-1])
        finally:
            evaluation._dts[key], evaluation.ious[key] = all_dts, all_ious


def _accumulate(per_image: list[dict | None], params) -> dict[str, float | None]:
    """pycocotools' ``accumulate`` over one area range and one category, summarised as AP, AP50, AP75, AR."""
    single = COCOeval(iouType="keypoints")
    single.params.imgIds = list(params.imgIds)
    single.params.catIds = list(params.catIds)
    single.params.kpt_oks_sigmas = params.kpt_oks_sigmas
    single.params.areaRng, single.params.areaRngLbl = [_ALL_AREAS], ["all"]
    single._paramsEval = single.params
    single.evalImgs = per_image
    _quiet(single.accumulate)
    precision = single.eval["precision"][:, :, 0, 0, -1]  # (T, R): IoU thresholds x recall thresholds
    recall = single.eval["recall"][:, 0, 0, -1]
    thresholds = list(np.round(single.params.iouThrs, 2))
    return {
        "AP": _mean_valid(precision),
        "AP50": _mean_valid(precision[thresholds.index(0.5)]),
        "AP75": _mean_valid(precision[thresholds.index(0.75)]),
        "AR": _mean_valid(recall),
    }


def _as_results(results: KeypointResults | Sequence[Mapping], dataset: KeypointDataset) -> KeypointResults:
    if not isinstance(results, KeypointResults):
        results = results_from_dicts(results, num_keypoints=dataset.spec.num_keypoints,
                                     category_id=dataset.category_id)
    check_results(results, dataset)
    return results


def evaluate_keypoints(dataset: KeypointDataset, results: KeypointResults | Sequence[Mapping], *,
                       sigmas: Sequence[float] | None = None,
                       pck_thresholds: Sequence[float] = DEFAULT_PCK_THRESHOLDS,
                       min_oks: float = 0.0) -> dict[str, float | int | str | None]:
    """COCO OKS AP, EPE and PCK of keypoint results on a dataset, all in memory.

    Args:
        dataset: the ground truth.
        results: :class:`~integral_pose.results.KeypointResults` or a list of COCO result dicts.
        sigmas: ``(K,)`` OKS sigmas; the dataset's (``dataset.spec.sigmas``) where None.
        pck_thresholds: PCK thresholds as fractions of the larger side of the ground-truth box.
        min_oks: pairs with OKS <= min_oks are not made when pairing by OKS (see :func:`pair_predictions`).

    Returns:
        ``{"AP", "AP50", "AP75", "APm", "APl", "AR"}`` from pycocotools (in [0, 1]), and ``"EPE"`` (pixels),
        ``"EPE_norm"``, ``"PCK@t"``, ``"n"`` (evaluated persons), ``"paired"``, ``"keypoints"`` (keypoints pooled
        by EPE), ``"unpaired_persons"``, ``"unpaired_predictions"`` and ``"paired_by"``. EPE and PCK leave
        unpaired persons out; ``unpaired_persons`` says how many.
    """
    results = _as_results(results, dataset)
    sigmas = dataset.spec.sigmas if sigmas is None else sigmas
    check_options(sigmas=sigmas, num_keypoints=dataset.spec.num_keypoints, min_oks=min_oks,
                  pck_thresholds=pck_thresholds)
    errors = pair_predictions(evaluated_persons(dataset), results, sigmas=sigmas, min_oks=min_oks)
    out: dict[str, float | int | str | None] = dict(
        OksAveragePrecision(coco_ground_truth(dataset), results, sigmas=sigmas, pairs=errors.pairs()).summary)
    out.update(errors.summary(pck_thresholds=pck_thresholds))
    out.update(unpaired_persons=int((~errors.paired).sum()), unpaired_predictions=errors.unpaired_predictions,
               paired_by=errors.paired_by)
    return out


def evaluate_keypoints_file(annotations: str | Path, results: str | Path, *, spec: KeypointSpec | None = None,
                            **options) -> dict:
    """:func:`evaluate_keypoints` on a COCO keypoint annotations file and a results file (same options).

    ``spec`` gives the keypoints and OKS sigmas where the file's category does not (see
    :func:`~integral_pose.data.coco.load_coco_keypoints`).
    """
    dataset = load_coco_keypoints(annotations, spec=spec)
    return evaluate_keypoints(dataset, load_results(results, dataset), **options)
