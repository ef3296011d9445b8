import contextlib
import io
import json
import math

import numpy as np
import pytest
from conftest import shared_dataset
from generated import write_coco
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from integral_pose.data.coco import COCO_PERSON, load_coco_keypoints
from integral_pose.metrics import (
    OksAveragePrecision,
    coco_ground_truth,
    evaluate_keypoints,
    evaluate_keypoints_file,
    evaluated_persons,
    keypoint_distances,
    mean_error,
    oks_matrix,
    pair_by_oks,
    pair_predictions,
    pck,
)
from integral_pose.results import KeypointResults

SIGMAS = COCO_PERSON.sigmas
# pycocotools computes precision as tp / (tp + fp + np.spacing(1)): float64 rounding around a 1e-16 term
AP_TOL = 1e-12


@pytest.fixture(scope="module", params=["generated", "coco-mini"])
def val(request, tmp_path_factory):
    """Ground truth with crowd and unlabelled persons, an empty image and one of 13 persons: generated from a
    seed (always), and COCO's (where ../shared/data is present)."""
    if request.param == "coco-mini":
        return load_coco_keypoints(shared_dataset("coco-mini") / "annotations" / "person_keypoints_val2017.json")
    return load_coco_keypoints(write_coco(tmp_path_factory.mktemp("generated") / "person_keypoints_val.json"))


def as_predictions(persons, xy=None, scores=None) -> KeypointResults:
    """Results with one entry per evaluated person, at ``xy`` (default: its ground truth)."""
    xy = persons.keypoints[..., :2] if xy is None else xy
    keypoints = np.concatenate([xy, np.ones((*xy.shape[:2], 1))], axis=-1)
    scores = np.ones(len(persons)) if scores is None else scores
    return KeypointResults(persons.image_ids.copy(), 1, keypoints, scores)


# ---- the pure functions --------------------------------------------------------------------------------------


def test_oks_matrix_by_hand():
    # K = 2, sigmas (0.1, 0.2), area 100; keypoint 1 unlabelled so only keypoint 0 counts.
    # d = 2 px: e = d^2 / (2 sigma)^2 / area / 2 = 4 / 0.04 / 100 / 2 = 0.5 -> OKS = exp(-0.5)
    gt = np.array([[[10.0, 10.0, 2.0], [50.0, 50.0, 0.0]]])
    pred = np.array([[[12.0, 10.0], [0.0, 0.0]], [[10.0, 10.0], [99.0, 99.0]]])
    oks = oks_matrix(pred, gt, np.array([100.0]), (0.1, 0.2))
    assert oks.shape == (2, 1)
    assert oks[0, 0] == pytest.approx(math.exp(-0.5), rel=1e-12)
    assert oks[1, 0] == pytest.approx(1.0, rel=1e-12)


def test_oks_matrix_averages_over_labelled_keypoints():
    # both labelled: keypoint 0 exact (1), keypoint 1 off by 4 px with sigma 0.2: e = 16 / 0.16 / 100 / 2 = 0.5
    gt = np.array([[[10.0, 10.0, 1.0], [50.0, 50.0, 2.0]]])
    pred = np.array([[[10.0, 10.0], [50.0, 46.0]]])
    oks = oks_matrix(pred, gt, np.array([100.0]), (0.1, 0.2))
    assert oks[0, 0] == pytest.approx((1 + math.exp(-0.5)) / 2, rel=1e-12)


def test_oks_matrix_rejects_person_without_labelled_keypoint():
    gt = np.zeros((1, 2, 3))
    with pytest.raises(ValueError, match="person 0 has no labelled keypoint"):
        oks_matrix(np.zeros((1, 2, 2)), gt, np.array([1.0]), (0.1, 0.1))


def test_oks_matrix_matches_pycocotools(val):
    dataset = val
    persons = evaluated_persons(dataset)
    rng = np.random.default_rng(0)
    xy = persons.keypoints[..., :2] + rng.normal(0, 4, persons.keypoints[..., :2].shape)
    results = as_predictions(persons, xy, scores=rng.uniform(size=len(persons)))
    coco_gt = coco_ground_truth(dataset)
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation = COCOeval(coco_gt, coco_gt.loadRes(results.to_coco()), "keypoints")
        evaluation.evaluate()
    checked = 0
    for image_id in np.unique(persons.image_ids):
        gts = [g for g in evaluation._gts[image_id, 1] if not g["ignore"]]
        dts = evaluation._dts[image_id, 1]
        order = np.argsort([-d["score"] for d in dts], kind="mergesort")
        rows = [np.flatnonzero(persons.annotation_ids == g["id"])[0] for g in gts]
        cols = [i for i, g in enumerate(evaluation._gts[image_id, 1]) if not g["ignore"]]
        preds = np.array([dts[i]["id"] - 1 for i in order])
        ours = oks_matrix(results.keypoints[preds, :, :2], persons.keypoints[rows], persons.areas[rows], SIGMAS)
        np.testing.assert_allclose(ours, evaluation.ious[image_id, 1][:, cols], rtol=1e-12, atol=1e-15)
        checked += len(rows)
    assert checked == len(persons)


def test_pair_by_oks_is_optimal_not_greedy():
    # greedy takes (0, 0) = 0.9 then (1, 1) = 0.1, total 1.0; the optimum is (0, 1) + (1, 0) = 0.8 + 0.85
    oks = np.array([[0.9, 0.8], [0.85, 0.1]])
    pred, person = pair_by_oks(oks)
    assert person.tolist() == [0, 1] and pred.tolist() == [1, 0]


def test_pair_by_oks_drops_pairs_at_or_below_min_oks():
    oks = np.array([[0.9, 0.0], [0.0, 0.3], [0.0, 0.0]])
    pred, person = pair_by_oks(oks)
    assert (pred.tolist(), person.tolist()) == ([0, 1], [0, 1])
    pred, person = pair_by_oks(oks, min_oks=0.3)
    assert (pred.tolist(), person.tolist()) == ([0], [0])


def test_distances_mean_error_and_pck_by_hand():
    pred = np.array([[[3.0, 4.0], [0.0, 0.0]], [[1.0, 1.0], [6.0, 8.0]]])
    gt = np.zeros((2, 2, 2))
    d = keypoint_distances(pred, gt)
    np.testing.assert_allclose(d, [[5.0, 0.0], [math.sqrt(2), 10.0]], rtol=1e-15)
    mask = np.array([[True, True], [False, True]])
    # pooled over keypoints: (5 + 0 + 10) / 3, not the mean of per-person means (2.5 + 10) / 2
    assert mean_error(d, mask) == pytest.approx(5.0, rel=1e-15)
    assert mean_error(d, np.zeros_like(mask)) is None
    # scales 50 and 100: ratios 0.1, 0, 0.1 -> below 0.05: 1 of 3; below 0.2: 3 of 3; exactly 0.1 is not below 0.1
    shares = pck(d, mask, np.array([50.0, 100.0]), (0.05, 0.1, 0.2))
    assert shares == {0.05: pytest.approx(1 / 3), 0.1: pytest.approx(1 / 3), 0.2: 1.0}


# ---- pairing and errors on a dataset --------------------------------------------------------------------------


def test_ground_truth_as_predictions_is_perfect(val):
    dataset = val
    persons = evaluated_persons(dataset)
    metrics = evaluate_keypoints(dataset, as_predictions(persons))
    for key in ("AP", "AP50", "AP75", "AR"):
        assert metrics[key] == pytest.approx(1.0, abs=AP_TOL), key
    assert metrics["PCK@0.05"] == metrics["PCK@0.1"] == metrics["PCK@0.2"] == 1.0
    assert metrics["EPE"] == 0.0 and metrics["EPE_norm"] == 0.0
    assert (metrics["n"], metrics["paired"], metrics["unpaired_persons"]) == (len(persons), len(persons), 0)
    assert metrics["keypoints"] == int(persons.labelled.sum())


def test_shift_gives_exact_epe(val):
    dataset = val
    persons = evaluated_persons(dataset)
    # a (3, -4) px shift of every keypoint: every distance is exactly 5 px
    metrics = evaluate_keypoints(dataset, as_predictions(persons, persons.keypoints[..., :2] + [3.0, -4.0]))
    assert metrics["EPE"] == pytest.approx(5.0, rel=1e-12)
    assert metrics["paired"] == len(persons)
    w, h = persons.boxes[:, 2], persons.boxes[:, 3]
    per_keypoint = np.repeat(5.0 / np.sqrt(w * h), persons.labelled.sum(axis=1))
    assert metrics["EPE_norm"] == pytest.approx(per_keypoint.mean(), rel=1e-12)
    below = np.repeat(5.0 < 0.05 * np.maximum(w, h), persons.labelled.sum(axis=1))
    assert metrics["PCK@0.05"] == pytest.approx(below.mean(), rel=1e-12)


def test_dropped_prediction_is_reported_unpaired(val):
    dataset = val
    persons = evaluated_persons(dataset)
    full = as_predictions(persons)
    keep = np.arange(len(persons)) != 7
    dropped = KeypointResults(full.image_ids[keep], 1, full.keypoints[keep], full.scores[keep])
    errors = pair_predictions(persons, dropped, sigmas=SIGMAS)
    assert np.flatnonzero(~errors.paired).tolist() == [7]
    metrics = evaluate_keypoints(dataset, dropped)
    assert (metrics["unpaired_persons"], metrics["paired"], metrics["n"]) == (1, len(persons) - 1, len(persons))
    assert metrics["EPE"] == 0.0
    assert metrics["keypoints"] == int(persons.labelled.sum() - persons.labelled[7].sum())
    assert metrics["AR"] == pytest.approx((len(persons) - 1) / len(persons), rel=1e-12)


def test_pairing_never_crosses_images(val):
    dataset = val
    persons = evaluated_persons(dataset)
    other = next(i for i in dataset.images if i not in set(persons.image_ids.tolist()))
    # the ground truth of person 0, but on an image without persons: it pairs with nobody
    results = as_predictions(persons)
    image_ids = results.image_ids.copy()
    image_ids[0] = other
    moved = KeypointResults(image_ids, 1, results.keypoints, results.scores)
    errors = pair_predictions(persons, moved, sigmas=SIGMAS)
    assert not errors.paired[0] and errors.paired[1:].all()
    assert errors.unpaired_predictions == 1


def test_pairing_by_annotation_id_overrides_oks(val):
    dataset = val
    persons = evaluated_persons(dataset)
    image = persons.image_ids[np.flatnonzero(np.bincount(np.unique(persons.image_ids, return_inverse=True)[1]) >= 2)]
    rows = np.flatnonzero(persons.image_ids == image[0])[:2]
    # two entries on one image, each holding the other person's keypoints but naming its own person:
    # the ids decide, so the errors are the distances between the two persons
    keypoints = np.concatenate([persons.keypoints[rows[::-1], :, :2], np.ones((2, 17, 1))], axis=-1)
    results = KeypointResults(persons.image_ids[rows], 1, keypoints, np.ones(2),
                              annotation_ids=persons.annotation_ids[rows])
    errors = pair_predictions(persons, results, sigmas=SIGMAS)
    assert errors.paired_by == "annotation_id"
    assert errors.paired[rows].all() and errors.paired.sum() == 2
    expected = keypoint_distances(persons.keypoints[rows[::-1], :, :2], persons.keypoints[rows, :, :2])
    np.testing.assert_allclose(errors.distances[rows], expected, rtol=1e-15)


def test_evaluate_accepts_result_dicts_and_files(tmp_path, val):
    dataset = val
    persons = evaluated_persons(dataset)
    entries = as_predictions(persons, persons.keypoints[..., :2] + [0.0, 2.0]).to_coco()
    from_dicts = evaluate_keypoints(dataset, entries)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(entries))
    from_file = evaluate_keypoints_file(dataset.path, path)
    assert from_dicts["EPE"] == from_file["EPE"] == pytest.approx(2.0, rel=1e-12)
    assert from_dicts["AP"] == from_file["AP"]


# ---- OKS AP on subsets ----------------------------------------------------------------------------------------


def _person(ann_id, image_id, x, area=2500.0):
    keypoints = [0.0] * 51
    keypoints[15:18] = [x, 50.0, 2]   # left shoulder
    keypoints[18:21] = [x + 20, 50.0, 2]  # right shoulder
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [x - 10, 30.0, 40.0, 60.0],
            "area": area, "iscrowd": 0, "num_keypoints": 2, "keypoints": keypoints}


def _tiny_dataset(tmp_path):
    """Three images: person A (id 1) on image 10, person B (id 2) on image 20, nobody on image 30."""
    data = {"images": [{"id": i, "file_name": f"{i}.jpg", "height": 200, "width": 200} for i in (10, 20, 30)],
            "annotations": [_person(1, 10, 40.0), _person(2, 20, 60.0)],
            "categories": [{"id": 1, "name": "person", "keypoints": list(COCO_PERSON.names), "skeleton": []}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(data))
    return load_coco_keypoints(path)


def _results(entries):
    """entries: (image_id, x of the left shoulder, score)."""
    keypoints = np.zeros((len(entries), 17, 3))
    for i, (_, x, _) in enumerate(entries):
        keypoints[i, 5] = [x, 50.0, 1.0]
        keypoints[i, 6] = [x + 20, 50.0, 1.0]
    return KeypointResults(np.array([e[0] for e in entries]), 1, keypoints, np.array([e[2] for e in entries]))


def _subset_ap(dataset, results, keep):
    persons = evaluated_persons(dataset)
    errors = pair_predictions(persons, results, sigmas=SIGMAS)
    ap = OksAveragePrecision(coco_ground_truth(dataset), results, sigmas=SIGMAS, pairs=errors.pairs())
    return ap, ap.on_subset(np.array(keep))


def test_subset_ignores_persons_outside_and_predictions_on_them(tmp_path):
    dataset = _tiny_dataset(tmp_path)
    # A predicted exactly (score 0.5); B 30 px off (score 0.9): shoulder sigma 0.079, area 2500 give
    # e = 900 / 0.158^2 / 2500 / 2 = 7.2 and OKS = exp(-7.2) < 0.5, a false positive at every threshold.
    # Full evaluation: ranked FP, TP with 2 persons: precision 1/2 up to recall 1/2, so AP = 0.5 * 51 / 101.
    ap, on_a = _subset_ap(dataset, _results([(10, 40.0, 0.5), (20, 90.0, 0.9)]), [1])
    assert ap.summary["AP"] == pytest.approx(0.5 * 51 / 101, abs=AP_TOL)
    # on A alone the prediction on B is left out
    assert on_a == pytest.approx({"AP": 1.0, "AP50": 1.0, "AP75": 1.0, "AR": 1.0}, abs=AP_TOL)
    # on B alone: one prediction, never matched: AP 0, AR 0
    assert ap.on_subset(np.array([2])) == {"AP": 0.0, "AP50": 0.0, "AP75": 0.0, "AR": 0.0}
    assert ap.on_subset(np.array([], dtype=np.int64)) == {"AP": None, "AP50": None, "AP75": None, "AR": None}


def test_subset_counts_predictions_on_nobody(tmp_path):
    dataset = _tiny_dataset(tmp_path)
    # A exact (score 0.5), and a prediction on image 30, where nobody is, with a higher score (0.9): ranked first,
    # it is a false positive in every subset. Precision at recall 1 is 1/2, so AP = 0.5 at every threshold.
    _, on_a = _subset_ap(dataset, _results([(10, 40.0, 0.5), (30, 40.0, 0.9)]), [1])
    assert on_a["AP"] == pytest.approx(0.5, abs=AP_TOL) and on_a["AR"] == 1.0
    # ranked last it costs nothing
    _, on_a = _subset_ap(dataset, _results([(10, 40.0, 0.5), (30, 40.0, 0.1)]), [1])
    assert on_a["AP"] == pytest.approx(1.0, abs=AP_TOL)


def _reference_subset_ap(dataset, results, errors, keep):
    """pycocotools from scratch: persons outside ``keep`` marked crowd (so ignored), predictions on them removed."""
    coco_gt = coco_ground_truth(dataset)
    evaluated = set(errors.persons.annotation_ids.tolist())
    for ann in coco_gt.dataset["annotations"]:
        if ann["id"] in evaluated and ann["id"] not in keep:
            ann["iscrowd"] = 1
    pred_index, person = errors.pairs()
    on_other = {int(i) for i, a in zip(pred_index, person, strict=True) if a not in keep}
    entries = [e for i, e in enumerate(results.to_coco()) if i not in on_other]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = coco_gt.dataset
        gt.createIndex()
        evaluation = COCOeval(gt, gt.loadRes(entries), "keypoints")
        evaluation.params.kpt_oks_sigmas = np.array(SIGMAS)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats


def test_subset_ap_matches_pycocotools_from_scratch(val):
    dataset = val
    persons = evaluated_persons(dataset)
    rng = np.random.default_rng(1)
    scale = np.sqrt(persons.areas)[:, None, None]
    xy = persons.keypoints[..., :2] + rng.normal(size=persons.keypoints[..., :2].shape) * 0.05 * scale
    results = as_predictions(persons, xy, scores=rng.uniform(size=len(persons)))
    errors = pair_predictions(persons, results, sigmas=SIGMAS)
    ap = OksAveragePrecision(coco_ground_truth(dataset), results, sigmas=SIGMAS, pairs=errors.pairs())
    everyone = ap.on_subset(persons.annotation_ids)
    assert {k: everyone[k] for k in ("AP", "AR")} == {k: ap.summary[k] for k in ("AP", "AR")}
    for subset in (persons.areas < 64**2, persons.labelled.sum(axis=1) >= 11, np.arange(len(persons)) % 3 == 0):
        keep = set(persons.annotation_ids[subset].tolist())
        ours = ap.on_subset(persons.annotation_ids[subset])
        stats = _reference_subset_ap(dataset, results, errors, keep)
        assert [ours["AP"], ours["AP50"], ours["AP75"], ours["AR"]] == pytest.approx(stats[[0, 1, 2, 5]],
                                                                                      abs=AP_TOL)


def test_subset_ap_beyond_max_detections_matches_pycocotools(val):
    # the crowded image (13 persons) gets 13 more, lower-scored duplicates: 26 predictions, of which
    # COCO keeps the 20 best; leaving out the predictions on persons outside a subset lets duplicates move up
    dataset = val
    persons = evaluated_persons(dataset)
    crowded = np.flatnonzero(persons.image_ids == np.bincount(persons.image_ids).argmax())
    assert len(crowded) == 13
    rng = np.random.default_rng(2)
    scale = np.sqrt(persons.areas)[:, None, None]
    xy = persons.keypoints[..., :2] + rng.normal(size=persons.keypoints[..., :2].shape) * 0.04 * scale
    duplicates = persons.keypoints[crowded, :, :2] + rng.normal(size=(13, 17, 2)) * 0.1 * scale[crowded]
    first = as_predictions(persons, xy, scores=rng.uniform(0.5, 1.0, size=len(persons)))
    results = KeypointResults(
        np.concatenate([first.image_ids, persons.image_ids[crowded]]), 1,
        np.concatenate([first.keypoints, np.concatenate([duplicates, np.ones((13, 17, 1))], axis=-1)]),
        np.concatenate([first.scores, rng.uniform(0.0, 0.4, size=13)]))
    errors = pair_predictions(persons, results, sigmas=SIGMAS)
    assert errors.unpaired_predictions == 13
    ap = OksAveragePrecision(coco_ground_truth(dataset), results, sigmas=SIGMAS, pairs=errors.pairs())
    subset = np.isin(np.arange(len(persons)), crowded[::2]) | (persons.areas > 96**2)
    keep = set(persons.annotation_ids[subset].tolist())
    ours = ap.on_subset(persons.annotation_ids[subset])
    stats = _reference_subset_ap(dataset, results, errors, keep)
    assert [ours["AP"], ours["AP50"], ours["AP75"], ours["AR"]] == pytest.approx(stats[[0, 1, 2, 5]], abs=AP_TOL)


@pytest.mark.parametrize(("options", "message"), [
    ({"min_oks": 1.0}, r"min_oks: expected a number in \[0, 1\), got 1.0"),
    ({"min_oks": -0.1}, r"min_oks: expected a number in \[0, 1\), got -0.1"),
    ({"pck_thresholds": (0.1, 0.0)}, r"pck_thresholds: expected one or more finite numbers > 0, got \[0.1, 0.0\]"),
    ({"pck_thresholds": ()}, r"pck_thresholds: expected one or more finite numbers > 0, got \[\]"),
    ({"sigmas": (0.1,) * 16}, r"sigmas: expected 17 finite numbers > 0"),
])
def test_options_are_checked(options, message, val):
    dataset = val
    with pytest.raises(ValueError, match=message):
        evaluate_keypoints(dataset, as_predictions(evaluated_persons(dataset)), **options)
