"""Training: one loop for the four methods, on a CPU, a GPU, or many GPUs under ``torchrun``.

Plain PyTorch. Under ``torchrun --nproc_per_node N`` the same code runs DistributedDataParallel (NCCL on CUDA,
gloo on CPU); the global batch ``train.batch_size`` is split evenly over the processes and each step sees the
same samples as a single process would. On CUDA with several processes BatchNorm is synchronised; on CPU
(gloo) each process normalises its own share of the batch.

A run folder holds ``last.pt`` (written atomically at every epoch's end, every ``checkpoint_minutes`` and every
``checkpoint_steps``), ``best.pt`` (the best validation so far), ``config.toml`` (the resolved config),
``metrics.csv`` (per logged step), ``epochs.csv`` (per epoch, with validation), ``train.log`` and, optionally,
TensorBoard events. ``resume=True`` continues from ``last.pt`` to the same result an uninterrupted run reaches:
the sample order and augmentation are functions of ``(seed, epoch, index)``, and every state that changes is in
the checkpoint.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, Sampler

from integral_pose import __version__
from integral_pose.checkpoints import load_checkpoint, save_checkpoint
from integral_pose.config import Config, to_dict

__all__ = ["EpochSampler", "TrainResult", "build_model_from_config", "datasets", "train", "validate"]

log = logging.getLogger("integral_pose.train")


class EpochSampler(Sampler[int]):
    """Sample order of one process: whole global batches, a permutation per epoch drawn from ``(seed, epoch)``.

    Step ``t`` of epoch ``e`` covers positions ``t * G .. (t + 1) * G - 1`` of the epoch's permutation, with
    ``G = local_batch * world``; process ``r`` takes the ``r``-th slice of ``local_batch`` of them. The last
    partial global batch is dropped, so every step has the same global batch and the union over processes is what
    one process with batch ``G`` sees. :meth:`set_epoch` with ``start_step`` skips steps already done (resume).
    """

    def __init__(self, size: int, *, local_batch: int, seed: int, shuffle: bool = True, rank: int = 0,
                 world: int = 1) -> None:
        self.size, self.local_batch, self.seed, self.shuffle = size, local_batch, seed, shuffle
        self.rank, self.world = rank, world
        self.epoch, self.start_step = 0, 0

    @property
    def steps(self) -> int:
        """Steps per epoch."""
        return self.size // (self.local_batch * self.world)

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        self.epoch, self.start_step = epoch, start_step

    def __len__(self) -> int:
        return (self.steps - self.start_step) * self.local_batch

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        global_batch = self.local_batch * self.world
        for step in range(self.start_step, self.steps):
            first = step * global_batch + self.rank * self.local_batch
            yield from order[first:first + self.local_batch]


@dataclass(frozen=True)
class TrainResult:
    """What a finished run reports: its folder, the last epoch's validation and the best one."""

    out: Path
    steps: int
    last: dict[str, float]
    best: dict[str, float]


# --- set-up -----------------------------------------------------------------------------------------------------


@dataclass
class _Process:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def _start_process(device: str) -> _Process:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("train.device: cuda was asked for, but torch sees no CUDA device")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return _Process(rank, world, torch.device("cuda", local))
    torch.set_flush_denormal(True)  # denormals made CPU steps about 10x slower
    return _Process(rank, world, torch.device("cpu"))


def datasets(config: Config, stride: int):
    """The config's train (augmented) and val (plain crops) top-down datasets, heatmaps ``input_size / stride``."""
    from integral_pose.data.coco import load_coco_keypoints
    from integral_pose.data.dataset import TopDownDataset
    from integral_pose.data.spec import KeypointSpec

    data = config.data
    spec = KeypointSpec.from_file(data.spec) if data.spec else None
    loaded = {split: load_coco_keypoints(data.annotations(split), image_dir=data.images(split), spec=spec)
              for split in (data.train_split, data.val_split)}
    heatmap_size = (data.input_size[0] // stride, data.input_size[1] // stride)
    options = dict(input_size=data.input_size, heatmap_size=heatmap_size, sigma=data.sigma, seed=config.train.seed)
    augment = data.augmentation if data.augment else None
    train_set = TopDownDataset(loaded[data.train_split], augment=augment, **options)
    val_set = TopDownDataset(loaded[data.val_split], **options)
    return train_set, val_set


def build_model_from_config(config: Config) -> nn.Module:
    """The config's model with its initial weights (backbone weights, then a warm start, if named)."""
    from integral_pose.inference import spec_of
    from integral_pose.models import build_model
    from integral_pose.models.weights import load_weights

    model = build_model(config.model.backbone, spec_of(config).num_keypoints, init_std=config.model.init_std,
                        init_bias=config.model.init_bias)
    if config.model.pretrained:
        load_weights(model, config.model.pretrained, part="backbone")
    if config.train.init_from:
        load_weights(model, config.train.init_from)
    return model


def _lr_factor(config: Config, steps_per_epoch: int):
    train = config.train
    total = max(train.epochs * steps_per_epoch, 1)

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / train.warmup_steps) if train.warmup_steps else 1.0
        if train.schedule == "cosine":
            return warm * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))
        passed = sum(step >= m * steps_per_epoch for m in train.milestones)
        return warm * train.gamma**passed

    return factor


# --- the loop ---------------------------------------------------------------------------------------------------


class _Logger:
    """metrics.csv, epochs.csv, train.log and TensorBoard of the main process."""

    def __init__(self, out: Path, tensorboard: bool, enabled: bool) -> None:
        self.out, self.enabled, self.writer = out, enabled, None
        self.columns: dict[Path, list[str]] = {}
        if not enabled:
            return
        handler = logging.FileHandler(out / "train.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        self.handler = handler
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                raise ValueError("train.tensorboard: install the tensorboard package (pip install "
                                 "'integral-pose[tensorboard]')") from error
            self.writer = SummaryWriter(str(out / "tensorboard"))

    def row(self, name: str, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        self._append(self.out / name, values)
        if self.writer is not None:
            group = name.removesuffix(".csv")
            for key, value in values.items():
                if key not in ("step", "epoch") and value is not None and math.isfinite(value):
                    self.writer.add_scalar(f"{group}/{key}", value, values["step"])

    def _append(self, path: Path, values: dict[str, float]) -> None:
        """Append a row; a row with new columns (validation after epochs without it) rewrites the file under the
        union of the columns, so that every row stays under its header."""
        if path not in self.columns:
            self.columns[path] = _csv_header(path)
        columns = self.columns[path]
        if not set(values) <= set(columns):
            rows = list(csv.DictReader(path.open(newline=""))) if columns else []
            columns = self.columns[path] = columns + [k for k in values if k not in columns]
            with path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(rows)
        with path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=columns).writerow(values)

    def close(self) -> None:
        if self.enabled:
            log.removeHandler(self.handler)
            self.handler.close()
            if self.writer is not None:
                self.writer.close()


def _csv_header(path: Path) -> list[str]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return next(csv.reader(handle), [])


def _to_device(batch: dict[str, Tensor], device: torch.device) -> dict[str, Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _global_scale(weights: Tensor, world: int) -> Tensor:
    """Loss factor that turns each process's masked mean into its share of the global masked mean.

    DDP averages gradients over processes; a process's mean over its own labelled keypoints, times
    ``world * local_count / global_count``, makes that average equal the mean over every labelled keypoint of
    the global batch (exactly for terms masked by the keypoint weights).
    """
    local = weights.sum()
    total = local.detach().clone()
    dist.all_reduce(total)
    return world * local.detach() / total.clamp(min=1.0)


def train(config: Config, *, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train ``config``'s model with its method; see the module docstring for what the run folder holds.

    Args:
        config: the resolved config (:func:`integral_pose.config.load_config`).
        resume: continue from ``train.out/last.pt``; its config must be this one (but for ``train.epochs``,
            which may grow).
        progress: a progress bar on the main process.

    Returns:
        The run's validation results.
    """
    process = _start_process(config.train.device)
    out = Path(config.train.out)
    if process.main:
        out.mkdir(parents=True, exist_ok=True)
    state = _resume_state(out, config) if resume else None
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    torch.manual_seed(config.train.seed)
    model = build_model_from_config(config)
    train_set, val_set = datasets(config, model.stride)
    local_batch = _local_batch(config.train.batch_size, process.world)
    sampler = EpochSampler(len(train_set), local_batch=local_batch, seed=config.train.seed, rank=process.rank,
                           world=process.world)
    if sampler.steps == 0:
        raise ValueError(f"train.batch_size: {config.train.batch_size} is larger than the train split "
                         f"({len(train_set)} persons)")
    model = model.to(process.device)
    if process.world > 1 and process.device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr, weight_decay=config.train.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(config, sampler.steps))
    epoch, start_step, best = 0, 0, {}
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        epoch, start_step, best = state["epoch"], state["step_in_epoch"], state["best"]
        torch.set_rng_state(state["rng"])
    net = nn.parallel.DistributedDataParallel(model) if process.world > 1 else model
    loader = DataLoader(train_set, batch_size=local_batch, sampler=sampler, num_workers=config.data.workers,
                        persistent_workers=False, pin_memory=process.device.type == "cuda")
    logger = _Logger(out, config.train.tensorboard, process.main)
    if process.main:
        _write_config(out / "config.toml", config)
        log.info("%s run: %s, %d train persons, %d val persons, %d steps per epoch, %d processes, device %s",
                 "resumed" if state else "new", config.method.kind, len(train_set), len(val_set), sampler.steps,
                 process.world, process.device)
    run = _Run(config, process, model, net, optimizer, scheduler, sampler, loader, logger, val_set, out, best)
    try:
        last = run.epochs(epoch, start_step, progress=progress and process.main)
    finally:
        logger.close()
    return TrainResult(out=out, steps=run.global_step, last=last, best=run.best)


def _local_batch(batch_size: int, world: int) -> int:
    if batch_size % world:
        raise ValueError(f"train.batch_size: {batch_size} does not split evenly over {world} processes")
    return batch_size // world


def _resume_state(out: Path, config: Config) -> dict[str, Any]:
    path = out / "last.pt"
    if not path.is_file():
        raise ValueError(f"--resume: {path} does not exist; start the run without --resume")
    state = load_checkpoint(path)
    saved, now = dict(state["config"]), to_dict(config)
    saved["train"] = {**saved["train"], "epochs": now["train"]["epochs"]}
    if saved != now:
        changed = sorted(f"{section}.{key}" for section in now for key in set(now[section]) | set(saved[section])
                         if now[section].get(key) != saved[section].get(key))
        raise ValueError(f"--resume: the config differs from the one in {path}: {', '.join(changed)}")
    return state


def _write_config(path: Path, config: Config) -> None:
    import tomli_w

    path.write_text(tomli_w.dumps(to_dict(config)))


class _Run:
    """The state of a run in progress and its epochs, steps, validation and checkpoints."""

    def __init__(self, config, process, model, net, optimizer, scheduler, sampler, loader, logger, val_set, out,
                 best) -> None:
        self.config, self.process, self.model, self.net = config, process, model, net
        self.optimizer, self.scheduler, self.sampler, self.loader = optimizer, scheduler, sampler, loader
        self.logger, self.val_set, self.out, self.best = logger, val_set, out, best
        self.method = config.method
        self.global_step = scheduler.last_epoch
        self.saved_at = time.monotonic()

    def epochs(self, first_epoch: int, start_step: int, *, progress: bool) -> dict[str, float]:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        config, last = self.config, {}
        total = config.train.epochs * self.sampler.steps
        columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn()]
        with Progress(*columns, disable=not progress, transient=False) as bar:
            task = bar.add_task(f"training {self.method.kind}", total=total, completed=self.global_step,
                                status="")
            for epoch in range(first_epoch, config.train.epochs):
                self.sampler.set_epoch(epoch, start_step if epoch == first_epoch else 0)
                self.loader.dataset.set_epoch(epoch)
                sums = self._epoch(epoch, bar, task)
                last = self._end_epoch(epoch, sums)
                bar.update(task, status=_status(last))
        return last

    def _epoch(self, epoch: int, bar, task) -> dict[str, float]:
        config, device = self.config, self.process.device
        self.net.train()
        if config.train.freeze_bn:
            for module in self.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        sums: dict[str, Tensor] = {}
        count, window_start, window_images = 0, time.perf_counter(), 0
        step_in_epoch = self.sampler.start_step
        for batch in self.loader:
            batch = _to_device(batch, device)
            stats = self._step(batch)
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + value
            count += 1
            step_in_epoch += 1
            self.global_step += 1
            window_images += batch["image"].shape[0] * self.process.world
            if self.global_step % config.train.log_every == 0 or step_in_epoch == self.sampler.steps:
                elapsed = time.perf_counter() - window_start
                row = {"step": self.global_step, "epoch": epoch, "lr": self.scheduler.get_last_lr()[0],
                       **{k: float(v) for k, v in stats.items()}, "images_per_s": window_images / elapsed}
                self.logger.row("metrics.csv", row)
                bar.update(task, status=f"loss {row['loss']:.4g}  {row['images_per_s']:.0f} img/s")
                window_start, window_images = time.perf_counter(), 0
            bar.update(task, completed=self.global_step)
            if self._checkpoint_due() and step_in_epoch < self.sampler.steps:
                self._save(epoch, step_in_epoch)
        return {k: float(v) / max(count, 1) for k, v in sums.items()}

    def _step(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        config = self.config
        autocast = self.process.device.type == "cuda" and config.train.bf16
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            logits = self.net(batch["image"])
        loss, stats = self.method.loss(logits.float(), batch)
        if self.process.world > 1:
            loss = loss * _global_scale(batch["weights"], self.process.world)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.train.clip_grad:
            stats["grad_norm"] = nn.utils.clip_grad_norm_(self.model.parameters(), config.train.clip_grad).detach()
        self.optimizer.step()
        self.scheduler.step()
        return stats

    def _checkpoint_due(self) -> bool:
        train = self.config.train
        if train.checkpoint_steps and self.global_step % train.checkpoint_steps == 0:
            return True
        return time.monotonic() - self.saved_at > 60 * train.checkpoint_minutes

    def _end_epoch(self, epoch: int, train_means: dict[str, float]) -> dict[str, float]:
        config = self.config
        last_epoch = epoch + 1 == config.train.epochs
        row: dict[str, float] = {"epoch": epoch + 1, "step": self.global_step,
                                 **{f"train_{k}": v for k, v in train_means.items()}}
        every = config.train.val_every
        if every and ((epoch + 1) % every == 0 or last_epoch):
            if self.process.main:
                metrics = validate(self.model, self.method, self.val_set, flip_test=config.train.val_flip,
                                   device=self.process.device, batch_size=config.train.batch_size,
                                   workers=config.data.workers)
                row.update({f"val_{k}": v for k, v in metrics.items()})
                if _better(metrics, self.best):
                    self.best = {"epoch": epoch + 1, **metrics}
                    self._save_best()
            if self.process.world > 1:
                dist.barrier()
        self.logger.row("epochs.csv", row)
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k} {v:.4g}" for k, v in row.items()
                                                      if k not in ("epoch", "step")))
        self._save(epoch + 1, 0)
        return row

    def _state(self, epoch: int, step_in_epoch: int) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "epoch": epoch, "step_in_epoch": step_in_epoch,
                "global_step": self.global_step, "config": to_dict(self.config), "version": __version__,
                "rng": torch.get_rng_state(), "best": self.best}

    def _save(self, epoch: int, step_in_epoch: int) -> None:
        if self.process.main:
            save_checkpoint(self.out / "last.pt", self._state(epoch, step_in_epoch))
        self.saved_at = time.monotonic()

    def _save_best(self) -> None:
        save_checkpoint(self.out / "best.pt", {"model": self.model.state_dict(), "config": to_dict(self.config),
                                              "version": __version__, "best": self.best})


def _better(metrics: dict[str, float], best: dict[str, float]) -> bool:
    if not best:
        return True
    if metrics.get("AP") is not None and best.get("AP") is not None:
        return metrics["AP"] > best["AP"]
    return metrics["EPE"] < best["EPE"]


def _status(row: dict[str, float]) -> str:
    parts = [f"loss {row.get('train_loss', float('nan')):.4g}"]
    if "val_EPE" in row:
        parts.append(f"val EPE {row['val_EPE']:.2f} px")
    if row.get("val_AP") is not None:
        parts.append(f"AP {row['val_AP']:.3f}")
    return "  ".join(parts)


def validate(model: nn.Module, method, dataset, *, flip_test: bool = False, device: torch.device | str = "cpu",
             batch_size: int = 32, workers: int = 0) -> dict[str, float]:
    """EPE (image pixels), box-normalised EPE and OKS AP of ``model`` on a top-down dataset (plain crops of
    ground-truth boxes), through the inference path (:func:`integral_pose.inference.predict`)."""
    from integral_pose.data.dataset import make_loader
    from integral_pose.inference import predict, to_results
    from integral_pose.metrics import evaluate_keypoints

    loader = make_loader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers)
    predictions = predict(model, method, loader, flip_index=dataset.dataset.spec.flip_index, flip_test=flip_test,
                          device=device)
    metrics = evaluate_keypoints(dataset.dataset, to_results(predictions, category_id=dataset.dataset.category_id))
    keep = ("AP", "AP50", "AP75", "AR", "EPE", "EPE_norm")
    return {k: float(metrics[k]) for k in keep if metrics.get(k) is not None}
