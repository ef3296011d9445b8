"""Training: each method overfits a few synthetic people, DDP equals one process, a killed run resumes exactly."""

import csv
import os
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import pytest
import torch

from integral_pose.config import load_config
from integral_pose.data.synth import generate
from integral_pose.train import EpochSampler, load_checkpoint, train

ROOT = Path(__file__).resolve().parents[1]


@cache
def _dataset(base: Path, images: int) -> Path:
    root = base / f"train-synth-{images}"
    generate(root, images=images, seed=11, workers=1, image_size=(128, 128), progress=False)
    return root


@pytest.fixture
def synth(tmp_path_factory) -> Path:
    return _dataset(tmp_path_factory.getbasetemp(), 8)


@pytest.fixture
def handful(tmp_path_factory) -> Path:
    """Four images: 3 in train (a dozen persons), 1 in val."""
    return _dataset(tmp_path_factory.getbasetemp(), 4)


def _options(root: Path, out: Path, *extra: str) -> list[str]:
    return [f"data.root={root}", f"train.out={out}", "data.input_size=[64, 48]", "data.workers=0",
            "data.sigma=1.5", "train.device=cpu", "train.val_every=0", "train.threads=1", *extra]


def test_epoch_sampler_splits_global_batches_over_processes():
    single = list(EpochSampler(10, local_batch=4, seed=3))
    ranks = [list(EpochSampler(10, local_batch=2, seed=3, rank=r, world=2)) for r in (0, 1)]
    assert len(single) == 8  # 2 whole global batches of 4; the last 2 samples are dropped
    for step in range(2):
        assert single[4 * step:4 * step + 4] == ranks[0][2 * step:2 * step + 2] + ranks[1][2 * step:2 * step + 2]
    resumed = EpochSampler(10, local_batch=4, seed=3)
    resumed.set_epoch(0, start_step=1)
    assert list(resumed) == single[4:]
    other = EpochSampler(10, local_batch=4, seed=3)
    other.set_epoch(1)
    assert list(other) != single


METHODS = {
    "detection": ["method.kind=detection", "method.decoder=dark", "method.blur_sigma=1.5"],
    "integral": ["method.kind=integral", "method.beta=1.0"],
    "compensated": ["method.kind=compensated", "method.beta=1.0", "method.max_factor=10"],
    "combined": ["method.kind=combined", "method.beta=1.0", "method.activation=relu", "method.heatmap_weight=1000"],
}


@pytest.mark.parametrize("kind", METHODS)
def test_each_method_overfits_a_few_people(handful, tmp_path, kind):
    out = tmp_path / kind
    options = _options(handful, out, *METHODS[kind], "data.augment=false", "train.epochs=150",
                       "train.batch_size=8", "train.lr=1e-2", "train.warmup_steps=5", "train.log_every=1",
                       "train.seed=0")
    config = load_config(None, options)
    train(config, progress=False)
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    first = sum(float(r["loss"]) for r in rows[:3]) / 3
    last = sum(float(r["loss"]) for r in rows[-3:]) / 3
    assert last < first / 10, (first, last)
    error = _train_error(config, out)
    assert error < 1.0, error  # mean distance to the target, heatmap pixels


def _train_error(config, out: Path) -> float:
    from integral_pose.train import build_model_from_config, datasets

    model = build_model_from_config(config)
    model.load_state_dict(load_checkpoint(out / "last.pt")["model"])
    model.eval()
    train_set, _ = datasets(config, 4)
    batch = torch.utils.data.default_collate([train_set[i] for i in range(8)])
    with torch.no_grad():
        coords, _ = config.method.decode(model(batch["image"]))
    distance = (coords - batch["coords"]).norm(dim=-1)
    return float((distance * batch["weights"]).sum() / batch["weights"].sum())


def _run(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "integral_pose", "train", str(ROOT / "integral_pose/configs/small/detection.toml"),
            "--no-progress", *[a for option in args for a in ("--set", option)]]


def _finish(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output.decode()


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def test_ddp_on_two_cpu_processes_equals_one_process(synth, tmp_path):
    common = ["train.epochs=2", "train.batch_size=8", "train.freeze_bn=true", "train.warmup_steps=2"]
    single, double = tmp_path / "single", tmp_path / "ddp"
    _finish(_run(_cli(*_options(synth, single, *common))))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    _finish(_run(torchrun + _cli(*_options(synth, double, *common))[1:]))
    a, b = _weights(single / "last.pt"), _weights(double / "last.pt")
    assert load_checkpoint(double / "last.pt")["global_step"] == load_checkpoint(single / "last.pt")["global_step"]
    # Gradients are summed in another order over two processes; Adam divides by sqrt(v), which turns float-order
    # differences of tiny gradients into differences of up to a few percent of one step (lr = 2e-3 here).
    for key in a:
        assert torch.allclose(a[key], b[key], rtol=1e-4, atol=1e-4), key


def test_a_killed_run_resumes_to_the_same_weights(synth, tmp_path):
    common = ["train.epochs=3", "train.batch_size=4", "train.checkpoint_steps=3", "data.input_size=[128, 96]"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    _finish(_run(_cli(*_options(synth, whole, *common))))
    steps_per_epoch = load_checkpoint(whole / "last.pt")["global_step"] // 3

    process = _run(_cli(*_options(synth, killed, *common)))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        state = _peek(killed / "last.pt")
        if state is not None and state["epoch"] >= 1 and state["step_in_epoch"] > 0:
            break
        time.sleep(0.01)
    assert process.poll() is None, "the run finished before it could be killed mid-epoch"
    process.send_signal(signal.SIGKILL)
    process.wait()
    state = load_checkpoint(killed / "last.pt")
    assert 0 < state["step_in_epoch"] < steps_per_epoch

    _finish(_run([*_cli(*_options(synth, killed, *common)), "--resume"]))
    a, b = _weights(whole / "last.pt"), _weights(killed / "last.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def _peek(path: Path):
    try:
        return load_checkpoint(path) if path.exists() else None
    except ValueError:
        return None


def test_a_run_logs_validates_and_keeps_its_config(synth, tmp_path):
    tensorboard = pytest.importorskip("torch.utils.tensorboard", reason="TensorBoard logging needs the tensorboard "
                                      "package: pip install 'integral-pose[tensorboard]'")
    assert tensorboard is not None
    out = tmp_path / "run"
    config = load_config(None, _options(synth, out, "train.epochs=1", "train.batch_size=4", "train.val_every=1",
                                        "train.tensorboard=true", "train.log_every=2"))
    result = train(config, progress=False)
    epochs = list(csv.DictReader((out / "epochs.csv").open()))
    assert len(epochs) == 1 and float(epochs[0]["val_EPE"]) > 0 and 0 <= float(epochs[0]["val_AP"]) <= 1
    assert result.best["epoch"] == 1 and (out / "best.pt").is_file()
    assert load_config(out / "config.toml") == config
    assert "epoch 1:" in (out / "train.log").read_text()
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert {"step", "epoch", "lr", "loss", "images_per_s"} <= set(next(csv.DictReader((out / "metrics.csv").open())))


def test_epochs_csv_keeps_every_row_under_its_header(synth, tmp_path):
    out = tmp_path / "run"
    train(load_config(None, _options(synth, out, "train.epochs=2", "train.batch_size=8", "train.val_every=2")),
          progress=False)
    rows = list(csv.DictReader((out / "epochs.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert rows[0]["val_EPE"] == "" and float(rows[1]["val_EPE"]) > 0  # validated after the second epoch only
    assert float(rows[1]["train_loss"]) > 0
