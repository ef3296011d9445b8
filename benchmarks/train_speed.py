"""Training throughput of the four methods: images/s of forward + backward + optimiser step, data loading excluded.

For each backbone and input size, one step is timed per method on a fixed random batch (uint8 images, Gaussian
targets at random points), with torch.utils.benchmark (warm-up included; CUDA synchronised). The loss alone (the
decoder's forward and backward inside the step) is timed on the same logits, so its share of a step shows.

    python benchmarks/train_speed.py                                  # small at 128x96 and 256x192, ResNet-50
    python benchmarks/train_speed.py --device cuda --bf16             # on a GPU
    python benchmarks/train_speed.py --backbones small --sizes 128x96 --batch 32
"""

from __future__ import annotations

import argparse
import platform

import torch
import torch.utils.benchmark as tb

from integral_pose.data.targets import gaussian_heatmaps
from integral_pose.methods import Method
from integral_pose.models import build_model

METHODS = {
    "detection": Method(kind="detection"),
    "integral": Method(kind="integral", beta=1.0),
    "compensated": Method(kind="compensated", beta=1.0),
    "compensated, clamped": Method(kind="compensated", beta=1.0, max_factor=10.0),
    "combined": Method(kind="combined", beta=1.0, heatmap_weight=1000.0),
}


def _batch(batch: int, size: tuple[int, int], keypoints: int, device: str) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    h, w = size[0] // 4, size[1] // 4
    coords = torch.rand(batch, keypoints, 2, generator=generator) * torch.tensor([w - 1.0, h - 1.0])
    weights = torch.ones(batch, keypoints)
    return {
        "image": torch.randint(0, 256, (batch, 3, *size), dtype=torch.uint8, generator=generator).to(device),
        "heatmaps": gaussian_heatmaps(coords, weights, (h, w), 2.0).to(device),
        "coords": coords.to(device),
        "weights": weights.to(device),
    }


def _median(stmt, device: str, min_run_time: float) -> float:
    timer = tb.Timer(stmt="step()", globals={"step": stmt})
    return timer.blocked_autorange(min_run_time=min_run_time).median


def measure(backbone: str, size: tuple[int, int], batch: int, device: str, bf16: bool,
            min_run_time: float) -> list[tuple[str, float, float]]:
    """``[(method, images per second, loss forward+backward share of the step)]``."""
    model = build_model(backbone, 17).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    data = _batch(batch, size, 17, device)
    rows = []
    for name, method in METHODS.items():
        def step(method=method):
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16 and device == "cuda"):
                logits = model(data["image"])
            loss, _ = method.loss(logits.float(), data)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if device == "cuda":
                torch.cuda.synchronize()

        logits = model(data["image"]).detach().requires_grad_(True)

        def loss_only(method=method, logits=logits):
            loss, _ = method.loss(logits, data)
            loss.backward()
            if device == "cuda":
                torch.cuda.synchronize()

        t_step = _median(step, device, min_run_time)
        t_loss = _median(loss_only, device, min_run_time)
        rows.append((name, batch / t_step, t_loss / t_step))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbones", nargs="+", default=["small", "resnet50"])
    parser.add_argument("--sizes", nargs="+", default=["128x96", "256x192"], help="HxW inputs (small only; "
                        "other backbones run at 256x192)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--min-run-time", type=float, default=2.0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cpu":
        torch.set_flush_denormal(True)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} "
          f"threads, device {args.device}, batch {args.batch}{', bf16' if args.bf16 else ''}")
    print("| backbone | input | method | images/s | loss fwd+bwd share of the step |")
    print("| --- | --- | --- | --- | --- |")
    for backbone in args.backbones:
        sizes = args.sizes if backbone == "small" else ["256x192"]
        for text in sizes:
            size = tuple(int(v) for v in text.split("x"))
            rows = measure(backbone, size, args.batch, args.device, args.bf16, args.min_run_time)
            plain = dict((n, ips) for n, ips, _ in rows)["integral"]
            for name, ips, share in rows:
                overhead = f" ({plain / ips - 1:+.1%} vs integral)" if name.startswith("compensated") else ""
                print(f"| {backbone} | {text} | {name} | {ips:.1f}{overhead} | {share:.1%} |", flush=True)


if __name__ == "__main__":
    main()
