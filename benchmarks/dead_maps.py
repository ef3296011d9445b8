"""Share of undefined compensated maps (``C <= n`` or off the map) at initialisation, per form and backbone.

    python benchmarks/dead_maps.py --data data/synth [--backbones small resnet18] [--samples 64]

Runs each freshly initialised model (eval mode, final layer N(0, 0.001^2), bias 0) on the first training crops of
a synthetic dataset and reports the ``dead`` share each compensated form's loss logs.
"""

from __future__ import annotations

import argparse

import torch

from integral_pose.config import load_config
from integral_pose.methods import Method
from integral_pose.models import build_model
from integral_pose.train import datasets

FORMS = {
    "exact, no activation": Method(kind="compensated"),
    "exact, relu": Method(kind="compensated", activation="relu"),
    "exact, softplus": Method(kind="compensated", activation="softplus"),
    "clamped (max_factor 10)": Method(kind="compensated", max_factor=10.0),
    "local (window 3)": Method(kind="compensated", window=3),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a synthetic dataset folder (integral-pose synth)")
    parser.add_argument("--backbones", nargs="+", default=["small", "resnet18"])
    parser.add_argument("--samples", type=int, default=64)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = load_config(None, [f"data.root={args.data}", "data.input_size=[128, 96]", "data.sigma=1.5"])
    train_set, _ = datasets(config, 4)
    batch = torch.utils.data.default_collate([train_set[i] for i in range(args.samples)])
    print("| form | " + " | ".join(args.backbones) + " |")
    print("| --- |" + " --- |" * len(args.backbones))
    logits = {}
    for backbone in args.backbones:
        with torch.no_grad():
            logits[backbone] = build_model(backbone, 17).eval()(batch["image"])
    for name, method in FORMS.items():
        shares = [float(method.loss(logits[b], batch)[1]["dead"]) for b in args.backbones]
        print(f"| {name} | " + " | ".join(f"{s:.3f}" for s in shares) + " |")


if __name__ == "__main__":
    main()
