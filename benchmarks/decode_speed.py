"""Median time of each decoder on a (64, 17, 64, 48) float32 batch, and its ratio to a plain copy.

    python benchmarks/decode_speed.py [--device cpu|cuda] [--threads N]

Prints a markdown table for docs/benchmarks.md. Timings use torch.utils.benchmark (warm-up, CUDA
synchronisation, median over blocked runs).
"""

from __future__ import annotations

import argparse
import platform

import torch
from torch.utils import benchmark

from integral_pose import argmax, soft_argmax

DECODERS = {
    "copy (x.clone())": lambda x: x.clone(),
    "argmax": lambda x: argmax(x),
    "argmax, quarter": lambda x: argmax(x, "quarter"),
    "argmax, DARK": lambda x: argmax(x, "dark"),
    "soft-argmax": lambda x: soft_argmax(x),
    "soft-argmax, compensated": lambda x: soft_argmax(x, debias=True),
    "soft-argmax, local compensated (r=5)": lambda x: soft_argmax(x, debias=True, window=5),
}


def median_ms(fn, heatmaps: torch.Tensor, min_run_time: float) -> float:
    timer = benchmark.Timer(stmt="fn(x)", globals={"fn": fn, "x": heatmaps})
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--min-run-time", type=float, default=1.0, help="seconds of timing per decoder")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    heatmaps = torch.randn(64, 17, 64, 48, generator=torch.Generator().manual_seed(0)).to(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    print(f"device: {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print("| decoder | median (ms) | ratio to copy |")
    print("| --- | ---: | ---: |")
    copy_ms = None
    for label, fn in DECODERS.items():
        ms = median_ms(fn, heatmaps, args.min_run_time)
        copy_ms = copy_ms or ms
        print(f"| {label} | {ms:.3f} | {ms / copy_ms:.2f} |")


if __name__ == "__main__":
    main()
