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

    PYTHONPATH=. python benchmarks/subsets_speed.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from integral_pose.data.coco import load_coco_keypoints
from integral_pose.metrics import PersonArrays, evaluated_persons, oks_matrix
from integral_pose.results import KeypointResults

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotations", type=Path, default=VAL2017)
    parser.add_argument("--run-dir", type=Path, default=ROOT / "runs" / "subsets")
    parser.add_argument("--visible-noise", type=float, default=0.02)
    parser.add_argument("--occluded-noise", type=float, default=0.08)
    parser.add_argument("--uniform-noise", type=float, default=0.035)
    parser.add_argument("--seed", type=int, default=0)
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


if __name__ == "__main__":
    main()
