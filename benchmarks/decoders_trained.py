"""Decoders on the heatmaps of a trained detection model: the error of each against the targets, with intervals.

Runs the checkpoint on the plain val crops once, then decodes the same logits with argmax, quarter, DARK (on the
map and on sigmoid(map)), plain and global compensated soft-argmax, and the local compensated form over a grid
of windows and betas. Error: distance to the target in heatmap pixels over the labelled keypoints inside the
crop; 95% bootstrap intervals over persons, and paired intervals of each decoder against DARK.

    python benchmarks/decoders_trained.py runs/demo/runs/detection/best.pt [--windows 2 3 4] [--betas 0.25 0.5 1 2]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from integral_pose import argmax, soft_argmax
from integral_pose.checkpoints import load_model
from integral_pose.data.dataset import make_loader
from integral_pose.train import datasets


def _logits(path: str):
    model, config = load_model(path)
    _, samples = datasets(config, model.stride)
    logits, coords, weights = [], [], []
    with torch.no_grad():
        for batch in make_loader(samples, batch_size=64, shuffle=False, num_workers=2):
            logits.append(model(batch["image"]))
            coords.append(batch["coords"])
            weights.append(batch["weights"])
    return torch.cat(logits), torch.cat(coords), torch.cat(weights), config


def decoders(sigma: float, windows: list[int], betas: list[float]) -> dict:
    table = {
        "argmax": lambda h: argmax(h)[0],
        "quarter": lambda h: argmax(h, refine="quarter")[0],
        f"DARK (blur {sigma:g})": lambda h: argmax(h, refine="dark", blur_sigma=sigma)[0],
        f"DARK on sigmoid (blur {sigma:g})": lambda h: argmax(torch.sigmoid(h), refine="dark", blur_sigma=sigma)[0],
    }
    for beta in betas:
        table[f"soft-argmax, beta {beta:g}"] = lambda h, b=beta: soft_argmax(h, beta=b)
        table[f"compensated, beta {beta:g}"] = lambda h, b=beta: soft_argmax(h, beta=b, debias=True)
        for r in windows:
            table[f"local r={r}, beta {beta:g}"] = lambda h, b=beta, r=r: soft_argmax(h, beta=b, debias=True, window=r)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--windows", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--betas", type=float, nargs="+", default=[0.25, 0.5, 1.0, 2.0, 10.0])
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    logits, targets, weights, config = _logits(args.checkpoint)
    mask = (weights > 0).numpy()
    draws = np.random.default_rng(0).integers(0, len(mask), size=(args.resamples, len(mask)))
    errors = {}
    for name, decode in decoders(config.data.sigma, args.windows, args.betas).items():
        distance = (decode(logits) - targets).norm(dim=-1).numpy()
        errors[name] = (distance * mask).sum(axis=1)  # per person, summed over its labelled keypoints
    count = mask.sum(axis=1)
    reference = next(k for k in errors if k.startswith("DARK ("))
    print(f"# {args.checkpoint}: {len(mask)} persons, {int(count.sum())} keypoints, heatmap {tuple(logits.shape[-2:])}")
    print(f"| decoder | mean error (heatmap px) [95% CI] | minus {reference} [95% CI] |")
    print("| --- | --- | --- |")
    for name, summed in sorted(errors.items(), key=lambda item: item[1].sum()):
        mean = summed.sum() / count.sum()
        boot = summed[draws].sum(1) / count[draws].sum(1)
        diff = summed - errors[reference]
        lo, hi = np.percentile(boot, [2.5, 97.5])
        dlo, dhi = np.percentile(diff[draws].sum(1) / count[draws].sum(1), [2.5, 97.5])
        delta = diff.sum() / count.sum()
        print(f"| {name} | {mean:.4f} [{lo:.4f}, {hi:.4f}] | {delta:+.4f} [{dlo:+.4f}, {dhi:+.4f}] |")


if __name__ == "__main__":
    main()
