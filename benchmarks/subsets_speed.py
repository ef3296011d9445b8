"""Time ``integral-pose subsets`` on COCO val2017 with results files made from the ground truth.

Writes under ``--run-dir`` (default ``runs/subsets``):

- ``gt.json``: every evaluated person's ground truth as a prediction (labelled keypoints exactly, unlabelled
  ones at the box centre), ``annotation_id`` left out so that pairing by OKS is exercised; score 1.
- ``noisy_occlusion.json``: the same with Gaussian noise on every coordinate whose standard deviation grows with
  occlusion: ``--visible-noise`` x sqrt(area) for visible keypoints (visibility 2) and ``--occluded-noise`` x
  sqrt(area) for occluded ones (visibility 1). Score: the prediction's OKS with its own person.
- ``noisy_uniform.json``: the same noise level, ``--uniform-noise`` x sqrt(area), on every keypoint.

Then it runs ``python -m integral_pose subsets ANNOTATIONS gt.json noisy_occlusion.json --out ...`` (two results
files) and the same with all three files, and prints the wall time of each: the whole command, loading and
validating the files included. Results files are not part of the repository.

With ``--from-scratch`` it also times the approach the library avoids, for one results file: pycocotools run
from scratch (evaluate, accumulate) on each of the 31 cells, with the persons outside the cell marked crowd (so
ignored) and the predictions paired with them removed.

    PYTHONPATH=. python benchmarks/subsets_speed.py [--from-scratch]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from pycocotools.cocoeval import COCOeval

from integral_pose.data.coco import KeypointDataset, load_coco_keypoints
from integral_pose.metrics import PersonArrays, coco_ground_truth, evaluated_persons, oks_matrix, pair_predictions
from integral_pose.results import KeypointResults
from integral_pose.subsets import SubsetSplit, assign_cells
from integral_pose.subsets.cells import list_cells

ROOT = Path(__file__).resolve().parents[1]
VAL2017 = ROOT.parent / "shared" / "data" / "coco-val2017-keypoints" / "person_keypoints_val2017_reconstructed.json"


def noisy_copy(persons: PersonArrays, std: np.ndarray, sigmas, rng: np.random.Generator,
               category_id: int) -> KeypointResults:
    """Ground truth plus Gaussian noise of ``std`` pixels ``(P, K)`` per coordinate; score = OKS with its person.

    Unlabelled keypoints are put at the centre of the box (they count in no metric).
    """
    boxes = persons.boxes
    centre = np.stack([boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2], axis=-1)
    xy = np.where(persons.labelled[..., None], persons.keypoints[..., :2], centre[:, None, :])
    xy = xy + rng.normal(size=xy.shape) * std[..., None]
    keypoints = np.concatenate([xy, persons.labelled[..., None].astype(np.float64)], axis=-1)
    scores = np.array([oks_matrix(keypoints[i:i + 1, :, :2], persons.keypoints[i:i + 1], persons.areas[i:i + 1],
                                  sigmas)[0, 0] for i in range(len(persons))])
    return KeypointResults(persons.image_ids, category_id, keypoints, scores)


def write(results: KeypointResults, path: Path) -> Path:
    path.write_text(json.dumps(results.to_coco()))
    return path


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def from_scratch(dataset: KeypointDataset, persons: PersonArrays, results: KeypointResults) -> float:
    """Seconds to run pycocotools from scratch on every cell but "all"."""
    errors = pair_predictions(persons, results, sigmas=dataset.spec.sigmas)
    prediction_index, person = errors.pairs()
    entries = results.to_coco()
    start = time.perf_counter()
    for cell in list_cells(assign_cells(persons, SubsetSplit()))[1:]:
        outside = set(persons.annotation_ids[~cell.members].tolist())
        coco_gt = coco_ground_truth(dataset)
        for annotation in coco_gt.dataset["annotations"]:
            annotation["iscrowd"] = int(annotation["iscrowd"] or annotation["id"] in outside)
        left_out = {i for i, a in zip(prediction_index.tolist(), person.tolist(), strict=True) if a in outside}
        with contextlib.redirect_stdout(io.StringIO()):
            coco_gt.createIndex()
            kept = [dict(e) for i, e in enumerate(entries) if i not in left_out]
            evaluation = COCOeval(coco_gt, coco_gt.loadRes(kept), "keypoints")
            evaluation.params.kpt_oks_sigmas = np.asarray(dataset.spec.sigmas)
            evaluation.evaluate()
            evaluation.accumulate()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotations", type=Path, default=VAL2017)
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "subsets")
    parser.add_argument("--visible-noise", type=float, default=0.02)
    parser.add_argument("--occluded-noise", type=float, default=0.08)
    parser.add_argument("--uniform-noise", type=float, default=0.035)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--from-scratch", action="store_true", help="also time pycocotools from scratch per cell")
    args = parser.parse_args()
    args.run_dir.mkdir(parents=True, exist_ok=True)
    dataset = load_coco_keypoints(args.annotations)
    persons = evaluated_persons(dataset)
    sigmas = dataset.spec.sigmas
    rng = np.random.default_rng(args.seed)
    scale = np.sqrt(persons.areas)[:, None]
    occluded = persons.keypoints[..., 2] == 1
    files = {
        "gt": noisy_copy(persons, np.zeros(persons.keypoints.shape[:2]), sigmas, rng, dataset.category_id),
        "noisy_occlusion": noisy_copy(persons, np.where(occluded, args.occluded_noise, args.visible_noise) * scale,
                                      sigmas, rng, dataset.category_id),
        "noisy_uniform": noisy_copy(persons, np.full(occluded.shape, args.uniform_noise) * scale, sigmas, rng,
                                    dataset.category_id),
    }
    paths = {name: write(results, args.run_dir / f"{name}.json") for name, results in files.items()}
    command = [sys.executable, "-m", "integral_pose", "subsets", str(args.annotations)]
    two = timed([*command, str(paths["gt"]), str(paths["noisy_occlusion"]), "--out", str(args.run_dir / "two")])
    three = timed([*command, *map(str, paths.values()), "--out", str(args.run_dir / "three")])
    print(f"{len(persons)} persons; results files in {args.run_dir}")
    print(f"subsets with 2 results files: {two:.1f} s")
    print(f"subsets with 3 results files: {three:.1f} s")
    if args.from_scratch:
        seconds = from_scratch(dataset, persons, files["noisy_occlusion"])
        print(f"pycocotools from scratch on 31 cells, 1 results file: {seconds:.1f} s")


if __name__ == "__main__":
    main()
