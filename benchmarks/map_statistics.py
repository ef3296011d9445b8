"""What trained maps look like to the compensation: peak, background level and C / n, per checkpoint.

The compensated soft-argmax is exact when the background logits are exactly 0 and removes the pull of
``n`` background cells of weight 1. This reports, over the labelled keypoints of the val crops, the maps each
method's decoder reads (``Method.maps``: the logits after the method's activation):

- the median peak value and the median of each map's median value (its background level);
- the share of cells below 0 (weights ``exp(beta H) - 1`` below 0);
- the median of ``C / n`` with ``C = sum exp(beta H)`` (1: no mass above the background; the plain soft-argmax's
  pull towards the centre is ``n / C`` of the distance), and the share of maps with ``C <= n`` (undefined under
  the global compensated form).

    python benchmarks/map_statistics.py runs/demo/runs/*/last.pt [--persons 512]
"""

from __future__ import annotations

import argparse

import torch

from integral_pose.checkpoints import load_model
from integral_pose.data.dataset import make_loader
from integral_pose.train import datasets


def statistics(path: str, persons: int) -> dict[str, float]:
    model, config = load_model(path)
    _, samples = datasets(config, model.stride)
    batch = next(iter(make_loader(samples, batch_size=persons, shuffle=False, num_workers=0)))
    with torch.no_grad():
        maps = config.method.maps(model(batch["image"]))[batch["weights"] > 0].flatten(1)  # (M, N)
    ratio = torch.exp(config.method.beta * maps).mean(dim=1)  # C / n
    return {"maps": maps.shape[0], "peak": maps.amax(dim=1).median().item(),
            "background": maps.median(dim=1).values.median().item(), "below 0": (maps < 0).float().mean().item(),
            "C / n": ratio.median().item(), "C <= n": (ratio <= 1).float().mean().item(),
            "kind": config.method.kind, "beta": config.method.beta}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--persons", type=int, default=512, help="val crops read from the start of the split")
    args = parser.parse_args()
    print("| checkpoint | method, beta | maps | peak | background | share below 0 | C / n | share C <= n |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path in args.checkpoints:
        s = statistics(path, args.persons)
        print(f"| {path} | {s['kind']}, {s['beta']:g} | {s['maps']} | {s['peak']:.2f} | {s['background']:.2f} | "
              f"{s['below 0']:.3f} | {s['C / n']:.2f} | {s['C <= n']:.3f} |")


if __name__ == "__main__":
    main()
