"""Measure the data pipeline: annotation loading time, the crop round-trip error on real COCO persons, how far
decoding the dataset's own heatmap targets lands from its coordinate targets near the crop border, and the
throughput of top-down training batches.

    PYTHONPATH=. python benchmarks/data_pipeline.py [--shared ../shared/data] [--synth runs/synth-bench]

``--synth`` is a folder written by ``integral-pose synth`` (or benchmarks/synth_speed.py); loader throughput is
measured on its train split with augmentation, batch 32, for 0 and 2 workers. Prints markdown for docs/data.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from integral_pose.coords import input_to_heatmap
from integral_pose.data.augment import Augmentation
from integral_pose.data.coco import load_coco_keypoints
from integral_pose.data.crop import apply_affine, heatmap_to_image
from integral_pose.data.dataset import TopDownDataset, make_loader
from integral_pose.data.targets import border_distance
from integral_pose.decode import argmax, soft_argmax


def best_of(fn, runs: int = 5) -> float:
    """Shortest wall time of ``runs`` calls, seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def round_trip(samples: TopDownDataset, dtype: torch.dtype) -> tuple[float, int]:
    """Largest image-pixel error of labelled keypoints inside the crop after image -> input -> heatmap -> image,
    with the heatmap coordinates held in ``dtype`` (the dataset's targets are float32); and the keypoint count."""
    worst, count = 0.0, 0
    for index in range(len(samples)):
        matrix = samples.crop_matrix(index)
        sample = samples[index]
        keypoints = samples.items[index].person.keypoints
        if samples.jitter(index).flip:
            keypoints = keypoints[list(samples.dataset.spec.flip_index)]
        if dtype == torch.float32:
            coords = sample["coords"]
        else:
            coords = input_to_heatmap(torch.from_numpy(apply_affine(keypoints[:, :2], matrix)), samples.stride)
        back = heatmap_to_image(coords[None], sample["inverse"][None], samples.input_size, samples.heatmap_size)[0]
        mask = sample["weights"].numpy() > 0
        worst = max(worst, float(np.abs(back.numpy() - keypoints[:, :2])[mask].max(initial=0.0)))
        count += int(mask.sum())
    return worst, count


def border_targets(samples: TopDownDataset) -> list[str]:
    """Decode every weighted heatmap target (centroid, compensated soft-argmax beta 1, DARK) and compare with its
    coordinate target: markdown rows with the share within 3 sigma of the border, the share off by more than
    0.1 px, the largest error overall and the largest at >= 3 sigma."""
    maps, coords, weights = [], [], []
    for index in range(len(samples)):
        sample = samples[index]
        maps.append(sample["heatmaps"])
        coords.append(sample["coords"])
        weights.append(sample["weights"])
    keep = torch.stack(weights) > 0
    maps, coords = torch.stack(maps)[keep].double(), torch.stack(coords)[keep].double()
    h, w = samples.heatmap_size
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                            indexing="ij")
    decoded = {
        "centroid": torch.stack([(maps * xs).sum((-2, -1)), (maps * ys).sum((-2, -1))], -1)
        / maps.sum((-2, -1))[:, None],
        "soft-argmax, compensated, beta 1": soft_argmax(maps, beta=1.0, debias=True),
        "DARK": argmax(maps, refine="dark")[0],
    }
    near = border_distance(coords, samples.heatmap_size) < 3 * samples.sigma
    rows = []
    for name, points in decoded.items():
        error = (points - coords).norm(dim=-1)
        off = 100 * (error > 0.1).double().mean()
        rows.append(f"{len(coords)} | {100 * near.double().mean():.1f}% | {name} | {off:.1f}% | {error.max():.2f} "
                    f"| {error[~near].max():.1e} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--synth", type=Path, default=Path("runs/synth-bench"))
    args = parser.parse_args()
    print(f"cpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, torch threads: "
          f"{torch.get_num_threads()}")

    val2017 = args.shared / "coco-val2017-keypoints" / "person_keypoints_val2017_reconstructed.json"
    seconds = best_of(lambda: load_coco_keypoints(val2017))
    print(f"\nload_coco_keypoints(val2017 reconstructed, 7632 annotations): {seconds:.3f} s (best of 5)")

    root = args.shared / "coco-mini"
    print("\n| coco-mini split | augmentation | keypoints | max round-trip error float64 (px) | float32 targets (px) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for split in ("train2017", "val2017"):
        data = load_coco_keypoints(root / "annotations" / f"person_keypoints_{split}.json", image_dir=root / split)
        for augment in (None, Augmentation()):
            samples = TopDownDataset(data, augment=augment, seed=0)
            error64, count = round_trip(samples, torch.float64)
            error32, _ = round_trip(samples, torch.float32)
            print(f"| {split} | {'on' if augment else 'off'} | {count} | {error64:.1e} | {error32:.1e} |")

    train = load_coco_keypoints(args.synth / "annotations" / "person_keypoints_train.json",
                                image_dir=args.synth / "train")
    print("\n| data | augmentation | weighted keypoints | within 3 sigma of the border | decoder | off by > 0.1 px "
          "| max error (px) | max error at >= 3 sigma (px) |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for name, data in (("coco-mini val2017", load_coco_keypoints(
            root / "annotations" / "person_keypoints_val2017.json", image_dir=root / "val2017")),
            ("synthetic train", train)):
        for augment in (None, Augmentation()):
            for row in border_targets(TopDownDataset(data, augment=augment, seed=0)):
                print(f"| {name} | {'on' if augment else 'off'} | {row}")
    samples = TopDownDataset(train, augment=Augmentation(), seed=0)
    print(f"\n| loader (synthetic train, {len(samples)} samples, batch 32, augmentation) | workers | samples/s |")
    print("| --- | ---: | ---: |")
    for workers in (0, 2):
        loader = make_loader(samples, batch_size=32, shuffle=True, num_workers=workers)
        start, seen = time.perf_counter(), 0
        for batch in loader:
            seen += len(batch["image"])
            if seen >= 3200:
                break
        print(f"| 3200 samples | {workers} | {seen / (time.perf_counter() - start):.0f} |")


if __name__ == "__main__":
    main()
