"""Forward + backward time of the integral-regression decoders against dsntnn, kornia and mmpose 1.x.

    python benchmarks/decode_train_speed.py [--device cpu|cuda] [--threads N] [--min-run-time S]

What a training step spends in the decoder: each row times ``coords = decode(x)`` followed by
``torch.autograd.grad(coords, x, g)`` (one fixed upstream gradient ``g``) on a ``(64, 17, 64, 48)`` float32
batch of logits, beta (or its inverse, the temperature) 1. The ratio is to a plain copy of the same batch
(``x.clone()``, forward only), measured in the same run. Prints a markdown table for docs/benchmarks.md.
Timings use torch.utils.benchmark (``Timer.timeit``, CUDA synchronisation included): every row is timed once
per round, rounds interleave the rows, and each row reports its fastest round, so that other jobs on a shared
machine slow no row more than another. ``--clock cpu`` times with the process's CPU time instead of the wall
clock: with one thread on a loaded machine it leaves out the time the process waits for a core (with several
threads it would count their spin-waits; on CUDA it is meaningless).

The references need ``pip install -e .[bench]`` (dsntnn, kornia). mmpose cannot be installed without mmcv, so its
integral-regression decoding (``IntegralRegressionHead.forward`` of mmpose 1.x: a softmax over each flattened
map times beta, then one product and sum per axis against stored linspace grids) is reproduced below.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import timeit

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils import benchmark

from integral_pose import soft_argmax

try:
    from integral_pose.decode.soft_argmax import integrate
except ImportError:  # older checkouts, for before/after comparisons
    integrate = None


class MMPoseIntegral:
    """mmpose 1.x ``IntegralRegressionHead``'s decoding, reproduced for timing (outputs are in [0, 1)).

    Its grids are ``arange(W) / W`` shaped ``(1, 1, 1, W)`` and ``arange(H) / H`` shaped ``(1, 1, H, 1)``; the head
    multiplies the logits by beta, takes a softmax over each flattened map and sums the product of the
    probabilities with each grid. With ``debias=True`` it applies its own rescaling ``C / (C - 1) (p - 1 / (2C))``
    with ``C = sum exp(logits)`` (without beta).
    """

    def __init__(self, shape: tuple[int, int], beta: float = 1.0, debias: bool = False):
        height, width = shape
        self.linspace_x = torch.arange(0.0, 1.0 * width, 1).reshape(1, 1, 1, width) / width
        self.linspace_y = torch.arange(0.0, 1.0 * height, 1).reshape(1, 1, height, 1) / height
        self.beta, self.debias = beta, debias

    def to(self, device: torch.device) -> MMPoseIntegral:
        self.linspace_x, self.linspace_y = self.linspace_x.to(device), self.linspace_y.to(device)
        return self

    @staticmethod
    def _linear_expectation(heatmaps: Tensor, linspace: Tensor) -> Tensor:
        b, n, _, _ = heatmaps.shape
        return torch.sum(heatmaps.mul(linspace).reshape(b, n, -1), dim=2, keepdim=True)

    @staticmethod
    def _flat_softmax(featmaps: Tensor) -> Tensor:
        _, n, h, w = featmaps.shape
        return F.softmax(featmaps.reshape(-1, n, h * w), dim=2).reshape(-1, n, h, w)

    def __call__(self, feats: Tensor) -> Tensor:
        heatmaps = self._flat_softmax(feats * self.beta)
        pred_x = self._linear_expectation(heatmaps, self.linspace_x)
        pred_y = self._linear_expectation(heatmaps, self.linspace_y)
        if self.debias:
            b, n, h, w = feats.shape
            c = feats.reshape(b, n, h * w).exp().sum(dim=2).reshape(b, n, 1)
            pred_x = c / (c - 1) * (pred_x - 1 / (2 * c))
            pred_y = c / (c - 1) * (pred_y - 1 / (2 * c))
        return torch.cat([pred_x, pred_y], dim=-1)


def decoders(shape: tuple[int, int], device: torch.device) -> dict:
    """Label -> callable ``x -> coords``; the references first, then this library."""
    table = {}
    try:
        import dsntnn

        table["dsntnn 0.5 (`dsnt(flat_softmax(x))`)"] = lambda x: dsntnn.dsnt(dsntnn.flat_softmax(x))
    except ImportError:
        print("dsntnn is not installed: skipped (pip install -e .[bench])")
    try:
        import kornia

        table[f"kornia {kornia.__version__} (`spatial_soft_argmax2d`)"] = (
            lambda x: kornia.geometry.subpix.spatial_soft_argmax2d(x, 1.0, normalized_coordinates=False))
    except ImportError:
        print("kornia is not installed: skipped (pip install -e .[bench])")
    table["mmpose 1.x integral head (reproduced)"] = MMPoseIntegral(shape).to(device)
    table["mmpose 1.x integral head, debias=True (reproduced)"] = MMPoseIntegral(shape, debias=True).to(device)
    table["soft_argmax"] = lambda x: soft_argmax(x)
    table["soft_argmax, compensated"] = lambda x: soft_argmax(x, debias=True)
    if integrate is not None:
        table["integrate"] = lambda x: integrate(x, beta=1.0).coords
        table["integrate, compensated"] = lambda x: integrate(x, beta=1.0, debias=True).coords
    return table


def fastest_ms(timers: dict[str, benchmark.Timer], rounds: int, number: int) -> dict[str, float]:
    """Per label, the fastest of ``rounds`` interleaved rounds of ``number`` calls, in ms per call."""
    for timer in timers.values():
        timer.timeit(number)  # warm-up
    times = {label: [] for label in timers}
    for _ in range(rounds):
        for label, timer in timers.items():
            times[label].append(timer.timeit(number).mean * 1e3)
    return {label: min(values) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds; each row keeps its fastest")
    parser.add_argument("--number", type=int, default=5, help="calls per row and round")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="wall clock or process CPU time")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 17, 64, 48, generator=generator).to(device).requires_grad_()
    g = torch.randn(64, 17, 2, generator=generator).to(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    print(f"device: {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    clock = {"wall": timeit.default_timer, "cpu": time.process_time}[args.clock]
    print(f"clock: {args.clock}, fastest of {args.rounds} interleaved rounds of {args.number} calls")
    copy = "copy (`x.clone()`, forward only)"
    timers = {copy: benchmark.Timer("x.clone()", globals={"x": x.detach()}, timer=clock)}
    for label, fn in decoders(tuple(x.shape[-2:]), device).items():
        names = {"fn": fn, "x": x, "g": g, "torch": torch}
        timers[label] = benchmark.Timer("torch.autograd.grad(fn(x), x, g)", globals=names, timer=clock)
    ms = fastest_ms(timers, args.rounds, args.number)
    references = [t for label, t in ms.items() if label != copy and _is_reference(label)]
    fastest = min(references)
    print("| decoder | forward + backward (ms) | ratio to copy | ratio to the fastest reference |")
    print("| --- | ---: | ---: | ---: |")
    for label, t in ms.items():
        relative = "" if label == copy else f"{t / fastest:.2f}"
        print(f"| {label} | {t:.3f} | {t / ms[copy]:.2f} | {relative} |")
    print(f"load average after the run: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


def _is_reference(label: str) -> bool:
    """The plain references: dsntnn, kornia and mmpose without its (different) debias option."""
    return not label.startswith(("soft_argmax", "integrate")) and "debias" not in label


if __name__ == "__main__":
    main()
