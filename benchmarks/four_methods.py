"""The four methods over several seeds: mean +- std of AP and EPE, and paired bootstrap intervals of the
differences the paper's claims rest on, on the whole val split and on every sub-benchmark cell.

Each seed trains the four methods as the demo does (same data, backbone, schedule in steps, augmentation; the
seed sets the initialisation, sample order and augmentation draws) and evaluates them with the flip test. The
epochs are the demo plan's, never cut to the machine's speed as the demo cuts them.
Runs are kept under OUT and reused, so an interrupted benchmark resumes. ``--images`` and ``--epochs`` replace the
demo plan's dataset size and schedule (a longer budget on the same data); ``--jobs J`` trains J runs at once, each
with ``1 / J`` of the CPU threads.

    python benchmarks/four_methods.py --out runs/four-methods --minutes 15 --seeds 0 1 2
    python benchmarks/four_methods.py --out runs/four-long --images 3000 --epochs 30 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from integral_pose.demo import CLAIMS, KINDS, evaluate_run, method_config, person_errors, plan, train_or_resume
from integral_pose.metrics import evaluated_persons
from integral_pose.results import load_results
from integral_pose.subsets import SubsetSplit
from integral_pose.subsets.cells import CELL_NAMES, assign_cells


def _interval(a: tuple, b: tuple, rows: np.ndarray, draws: np.ndarray) -> tuple[float, float, float]:
    """EPE(a) - EPE(b) over persons ``rows`` pooled across seeds, with a paired bootstrap over persons."""
    (sa, ca), (sb, cb) = a, b  # (seeds, persons) each
    sa, ca, sb, cb = (x[:, rows] for x in (sa, ca, sb, cb))
    diff = sa.sum() / ca.sum() - sb.sum() / cb.sum()
    idx = draws[:, : rows.size] % rows.size
    boot = sa[:, idx].sum(axis=(0, 2)) / ca[:, idx].sum(axis=(0, 2)) - sb[:, idx].sum(axis=(0, 2)) / cb[:, idx].sum(
        axis=(0, 2))
    low, high = np.percentile(boot, [2.5, 97.5])
    return float(diff), float(low), float(high)


def _train_and_evaluate(base, seed: int, kind: str, out: Path, threads: int) -> dict:
    """Train (or reuse) and evaluate one method for one seed; returns its metrics."""
    config = method_config(replace(base, seed=seed), kind, out)
    # A validation pass for the curves about six times per run, whatever the schedule.
    config = replace(config, train=replace(config.train, threads=threads, val_every=max(1, base.epochs // 6)))
    train_or_resume(config, kind, progress=False, echo=lambda line: print(f"seed {seed}: {line}", flush=True))
    return evaluate_run(config, out / "eval" / kind, False, print)["metrics"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--minutes", type=float, default=15.0, help="the demo budget each seed gets")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--images", type=int, help="dataset size, instead of the plan's")
    parser.add_argument("--epochs", type=int, help="epochs of every run, instead of the plan's")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at once")
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    from integral_pose.data.coco import load_coco_keypoints
    from integral_pose.data.synth import dataset_is_complete, generate

    base = plan(args.minutes)
    base = replace(base, images=args.images or base.images, epochs=args.epochs or base.epochs,
                   workers=1 if args.jobs > 1 else base.workers)
    data = (args.out / "data").resolve()
    if not dataset_is_complete(data, images=base.images, seed=0, image_size=base.image_size):
        generate(data, images=base.images, seed=0, image_size=base.image_size)
    outs = {}
    for seed in args.seeds:
        outs[seed] = (args.out / f"seed{seed}").resolve()
        outs[seed].mkdir(parents=True, exist_ok=True)
        if not (outs[seed] / "data").exists():
            (outs[seed] / "data").symlink_to(data)
    runs = [(seed, kind) for seed in args.seeds for kind in KINDS]
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {run: pool.submit(_train_and_evaluate, base, *run, outs[run[0]], threads) for run in runs}
        summary = {kind: {seed: futures[seed, kind].result() for seed in args.seeds} for kind in KINDS}
    split = method_config(base, KINDS[0], outs[args.seeds[0]]).data
    val = load_coco_keypoints(split.annotations(split.val_split), image_dir=split.images(split.val_split))
    errors = {kind: [person_errors(val, load_results(outs[seed] / "eval" / kind / "results.json", val))
                     for seed in args.seeds] for kind in KINDS}
    stacked = {k: (np.stack([e[0] for e in v]), np.stack([e[1] for e in v])) for k, v in errors.items()}
    draws = np.random.default_rng(0).integers(0, 1 << 30, size=(args.resamples, stacked["detection"][0].shape[1]))

    print(f"\n{base.images} images, backbone {base.backbone} at {base.input_size}, {base.epochs} epochs, "
          f"seeds {args.seeds}, {stacked['detection'][0].shape[1]} val persons, flip test")
    print("\n| method | AP | AP50 | AP75 | EPE (px) | EPE / box size |\n| --- | --- | --- | --- | --- | --- |")
    for kind in KINDS:
        cells = []
        for key, scale in (("AP", 100), ("AP50", 100), ("AP75", 100), ("EPE", 1), ("EPE_norm", 1)):
            values = np.array([summary[kind][s][key] for s in args.seeds], dtype=float) * scale
            cells.append(f"{values.mean():.3f} +- {values.std(ddof=1) if len(values) > 1 else 0:.3f}")
        print(f"| {kind} | " + " | ".join(cells) + " |")

    persons = evaluated_persons(val)
    cells = {"all": np.arange(len(persons))}
    for axis, labels in assign_cells(persons, SubsetSplit()).items():
        for label in np.unique(labels):
            cells[f"{axis}: {CELL_NAMES[axis][label]}"] = np.flatnonzero(labels == label)
    print("\nEPE differences (image pixels, negative: the first is better), paired 95% bootstrap over persons, "
          "seeds pooled:\n")
    print("| cell | persons | " + " | ".join(f"{a} - {b}" for a, b in CLAIMS) + " |")
    print("| --- | --- |" + " --- |" * len(CLAIMS))
    table = {}
    for name, rows in cells.items():
        values = [_interval(stacked[a], stacked[b], rows, draws) for a, b in CLAIMS]
        table[name] = values
        print(f"| {name} | {rows.size} | " + " | ".join(f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, lo, hi in values)
              + " |")
    (args.out / "four_methods.json").write_text(json.dumps({"summary": summary, "differences": table}, indent=1))


if __name__ == "__main__":
    main()
