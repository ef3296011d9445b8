"""Inference speed: crops per second of predict() (model, flip test, decoding, mapping to image pixels) for a
backbone and method, on synthetic crops. Results go to docs/benchmarks.md by hand.

    python benchmarks/inference_speed.py --backbone small --kind compensated --window 2 --batch 64 --device cuda
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from integral_pose.inference import BoxCrops, predict
from integral_pose.methods import Method
from integral_pose.models import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="small")
    parser.add_argument("--kind", default="detection")
    parser.add_argument("--window", type=int, default=None)
    parser.add_argument("--input", type=int, nargs=2, default=(256, 192), metavar=("H", "W"))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--crops", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-flip", action="store_true")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (*args.input, 3), dtype=np.uint8) for _ in range(args.crops)]
    loader = torch.utils.data.DataLoader(BoxCrops(images, input_size=args.input), batch_size=args.batch)
    batches = list(loader)  # crop once, outside the timing
    model = build_model(args.backbone, 17).to(args.device)
    method = Method(kind=args.kind, window=args.window)
    flip_index = list(range(17))
    predict(model, method, batches[:1], flip_index=flip_index, flip_test=not args.no_flip, device=args.device)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    predict(model, method, batches, flip_index=flip_index, flip_test=not args.no_flip, device=args.device)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    print(f"{args.backbone} {args.kind} flip={not args.no_flip} batch {args.batch} on {args.device}: "
          f"{args.crops / seconds:.1f} crops/s")


if __name__ == "__main__":
    main()
