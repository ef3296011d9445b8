"""Time the synthetic people generator and report the generated persons' distribution over the analysis axes.

    PYTHONPATH=. python benchmarks/synth_speed.py [--images 3000] [--workers 2] [--out runs/synth-bench]

Prints markdown for docs/data.md and docs/benchmarks.md: wall time and images per second (JPEG writing
included), then the persons per cell of the sub-benchmark axes (labelled keypoints, occlusion, size) in train and
val, as ``integral-pose subsets`` counts them.
"""

from __future__ import annotations

import argparse
import os
import time

from integral_pose.data.coco import load_coco_keypoints
from integral_pose.data.synth import generate
from integral_pose.subsets import AXES, analyse_subsets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/synth-bench")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    start = time.perf_counter()
    files = generate(args.out, images=args.images, seed=args.seed, workers=args.workers, progress=False)
    seconds = time.perf_counter() - start
    print(f"cpu cores: {os.cpu_count()}, load average before: {load:.2f}")
    print("| images | workers | wall time (s) | images/s |\n| ---: | ---: | ---: | ---: |")
    print(f"| {args.images} | {args.workers} | {seconds:.1f} | {args.images / seconds:.0f} |")

    datasets = {split: load_coco_keypoints(path) for split, path in files.items()}
    persons = [p for data in datasets.values() for p in data.persons]
    labelled = sum(p.num_keypoints for p in persons)
    occluded = sum(int((p.keypoints[:, 2] == 1).sum()) for p in persons)
    print(f"\n{len(persons)} persons ({len(persons) / args.images:.2f} per image), {labelled} labelled keypoints, "
          f"{occluded} ({100 * occluded / labelled:.1f}%) of them occluded (visibility 1)\n")
    reports = {split: analyse_subsets(data) for split, data in datasets.items()}
    print("| axis | cell | " + " | ".join(reports) + " |\n| --- | --- | " + " | ".join("---:" for _ in reports) + " |")
    print("| all | | " + " | ".join(str(r.counts["all"]) for r in reports.values()) + " |")
    for axis in AXES:
        for cell, label in reports["train"].labels(axis).items():
            row = [f"{r.counts[axis][cell]} ({100 * r.counts[axis][cell] / r.counts['all']:.1f}%)"
                   for r in reports.values()]
            print(f"| {axis} | {label} | " + " | ".join(row) + " |")

if __name__ == "__main__":
    main()
