"""The four methods compared end to end on synthetic people: ``integral-pose demo``.

One call generates (or reuses) a synthetic dataset, trains detection, integral regression, compensated integral
regression and the combined method on the same backbone, data, augmentation and number of steps, evaluates each
with the flip test, runs the sub-benchmark analysis on all four and the bias study's figures, and writes
``report.md`` and ``report.html`` (figures inline). Every stage leaves its files behind as it finishes, so a run
stopped with Ctrl-C resumes where it stopped: a finished stage is reused, a training run continues from its last
checkpoint.

Layout of ``out``::

    data/            the synthetic dataset (reused when complete and made with the same settings)
    plan.json        the plan with its epochs fitted to the machine's measured speed (reused on resume)
    runs/KIND/       training runs (checkpoints, metrics.csv, epochs.csv, train.log)
    eval/KIND/       results.json, metrics.json and the sub-benchmark files of each method
    subsets/         the four methods side by side on every sub-benchmark cell
    bias/            the bias study (quick preset)
    figures/         training curves and example predictions
    report.md, report.html, summary.json
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from integral_pose.config import SHIPPED, Config, load_config

__all__ = ["CLAIMS", "KINDS", "DemoPlan", "MachineSpeed", "evaluate_run", "fit_epochs", "headline_rows",
           "measure_speed", "paired_differences", "person_errors", "plan", "run_demo", "train_or_resume"]

KINDS = ("detection", "integral", "compensated", "combined")
# The differences in EPE that the paper's claims rest on: compensated - plain, combined - each single method.
CLAIMS = (("compensated", "integral"), ("combined", "detection"), ("combined", "integral"),
          ("combined", "compensated"), ("integral", "detection"))
# Flips and scale only: on a budget of minutes, rotations and half-body crops slowed learning (val EPE after 3
# epochs: 11.8 px with the full augmentation, 11.0 with this, 10.8 with none).
_LIGHT_AUGMENTATION = ("data.augmentation.rotation_prob=0.0", "data.augmentation.half_body_prob=0.0",
                       "data.augmentation.scale_factor=0.25")
_BOOTSTRAP = 1000
_TRAINING_SHARE = 0.75


@dataclass(frozen=True)
class DemoPlan:
    """What the demo runs: the dataset, the backbone and input, and the equal budget of every method."""

    images: int
    image_size: tuple[int, int]
    backbone: str
    input_size: tuple[int, int]
    epochs: int
    batch_size: int
    device: str
    seed: int = 0
    workers: int = 2


def plan(minutes: float = 15.0, device: str = "cpu") -> DemoPlan:
    """The demo's budget: about ``minutes`` of wall time in all on a 2-core AMD EPYC machine (or on one GPU).

    Training takes about four fifths of it, split equally over the four methods; the number of epochs is fixed
    from it in advance (equal steps for every method, not equal wall time). :func:`run_demo` cuts the epochs to
    what fits a slower machine (:func:`fit_epochs`).
    """
    if not minutes > 0:
        raise ValueError(f"minutes: expected a number > 0, got {minutes!r}")
    if device == "cuda":
        return DemoPlan(images=6000, image_size=(256, 256), backbone="hrnet_w32", input_size=(256, 192),
                        epochs=max(2, round(4 * minutes / 15)), batch_size=64, device="cuda")
    scale = minutes / 15.0
    images = int(min(3000, max(300, 1500 * math.sqrt(scale))))
    return DemoPlan(images=images, image_size=(160, 160), backbone="small", input_size=(64, 48),
                    epochs=max(2, round(12 * math.sqrt(scale))), batch_size=32, device="cpu")


@dataclass(frozen=True)
class MachineSpeed:
    """What an epoch of the demo's training costs on this machine."""

    step_seconds: float  # one training step as training runs it: the loader's workers, forward, loss, backward, Adam
    val_sample_seconds: float  # loading and predicting one val sample
    steps_per_epoch: int
    val_samples: int  # each epoch ends with a validation pass


def fit_epochs(demo: DemoPlan, minutes: float, speed: MachineSpeed) -> DemoPlan:
    """``demo`` with as many epochs as fit ``minutes`` on a machine of ``speed``: at most its own, at least 2.

    Training gets three quarters of the budget, split equally over the four methods; an epoch costs its steps and
    its validation pass.
    """
    epoch_seconds = speed.steps_per_epoch * speed.step_seconds + speed.val_samples * speed.val_sample_seconds
    fitting = math.floor(_TRAINING_SHARE * 60 * minutes / len(KINDS) / epoch_seconds)
    return replace(demo, epochs=min(demo.epochs, max(2, fitting)))


def measure_speed(config: Config, *, seconds: float = 6.0, max_steps: int = 100) -> MachineSpeed:
    """Time ``config``'s training on this machine as it runs: steps on batches from its train loader (workers
    included) for about ``seconds`` after two warm-up steps, and one batch of val samples loaded and predicted."""
    import torch
    from torch.utils.data import default_collate

    from integral_pose.data.dataset import make_loader
    from integral_pose.train import build_model_from_config, datasets

    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    model = build_model_from_config(config)
    train_set, val_set = datasets(config, model.stride)
    batch_size = min(config.train.batch_size, len(train_set))
    loader = make_loader(train_set, batch_size=batch_size, shuffle=True, num_workers=config.data.workers,
                         seed=config.train.seed, drop_last=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr)

    def batches():
        while True:
            yield from loader

    steps, start, stream = -2, 0.0, batches()
    for batch in stream:
        loss, _ = config.method.loss(model(batch["image"]).float(), batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps += 1
        if steps == 0:
            start = time.perf_counter()
        elif steps > 0 and (time.perf_counter() - start >= seconds or steps >= max_steps):
            break
    step_seconds = (time.perf_counter() - start) / steps
    stream.close()  # stops the loader's workers

    model.eval()
    count = min(batch_size, len(val_set))
    start = time.perf_counter()
    with torch.no_grad():
        model(default_collate([val_set[i] for i in range(count)])["image"])
    return MachineSpeed(step_seconds=step_seconds, val_sample_seconds=(time.perf_counter() - start) / count,
                        steps_per_epoch=len(train_set) // config.train.batch_size, val_samples=len(val_set))


def method_config(demo: DemoPlan, kind: str, out: Path) -> Config:
    """The shipped ``small/KIND`` config with the demo's data, budget and run folder."""
    overrides = [f"data.root={out / 'data'}", f"data.input_size=[{demo.input_size[0]}, {demo.input_size[1]}]",
                 f"model.backbone={demo.backbone}", f"train.epochs={demo.epochs}",
                 f"train.batch_size={demo.batch_size}", f"train.out={out / 'runs' / kind}",
                 f"train.device={demo.device}", f"train.seed={demo.seed}", "train.val_every=1",
                 f"data.workers={demo.workers}", *_LIGHT_AUGMENTATION]
    return load_config(SHIPPED / "small" / f"{kind}.toml", overrides)


def run_demo(out: str | Path, *, minutes: float = 15.0, device: str = "cpu", progress: bool = True,
             echo: Callable[[str], None] = print, demo: DemoPlan | None = None) -> Path:
    """Run the demo into ``out`` (see the module docstring); returns the path of ``report.md``.

    ``demo`` replaces the plan that ``minutes`` and ``device`` choose (see :func:`plan`). On CPU, the plan's
    epochs are cut to what fits ``minutes`` on this machine (:func:`fit_epochs`), timed once and kept in
    ``plan.json`` so that a resumed demo trains to the same budget.
    """
    from integral_pose._files import check_writable_dir
    from integral_pose.data.synth import dataset_is_complete, generate

    out = check_writable_dir(out).resolve()  # the runs' configs name their data by absolute paths
    demo = demo or plan(minutes, device)
    data = out / "data"
    if dataset_is_complete(data, images=demo.images, seed=demo.seed, image_size=demo.image_size):
        echo(f"reusing the synthetic dataset in {data}")
    else:
        echo(f"generating {demo.images} synthetic images into {data}")
        generate(data, images=demo.images, seed=demo.seed, image_size=demo.image_size, progress=progress)
    if demo.device == "cpu":
        demo = _fitted_plan(out, demo, minutes, echo)
    configs = {kind: method_config(demo, kind, out) for kind in KINDS}
    for kind, config in configs.items():
        train_or_resume(config, kind, progress, echo)
    evaluations = {kind: evaluate_run(config, out / "eval" / kind, progress, echo)
                   for kind, config in configs.items()}
    return _report(out, demo, configs, evaluations, progress, echo)


def _fitted_plan(out: Path, demo: DemoPlan, minutes: float, echo) -> DemoPlan:
    """``demo`` fitted to ``minutes`` on this machine, or the plan an earlier run into ``out`` fitted from the same
    plan and minutes."""
    from integral_pose._files import write_text_atomic

    path = out / "plan.json"
    request = json.loads(json.dumps({"minutes": minutes, "plan": demo.__dict__}))
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored.get("request") == request:
            fitted = stored["fitted"]
            echo(f"reusing the plan in {path}: {fitted['epochs']} epochs per method")
            return replace(demo, epochs=fitted["epochs"])
    speed = measure_speed(method_config(demo, KINDS[0], out))
    fitted = fit_epochs(demo, minutes, speed)
    echo(f"this machine: {1000 * speed.step_seconds:.0f} ms per training step with its data loading; "
         f"{fitted.epochs} epochs per method fit {minutes:g} minutes" +
         (f" (the plan has {demo.epochs})" if fitted.epochs < demo.epochs else ""))
    write_text_atomic(path, json.dumps({"request": request, "speed": speed.__dict__, "fitted": fitted.__dict__},
                                       indent=1))
    return fitted


def train_or_resume(config: Config, kind: str, progress: bool, echo) -> None:
    """Train ``config`` unless its run folder holds a finished run; continue an unfinished one."""
    from integral_pose.train import load_checkpoint, train

    last = Path(config.train.out) / "last.pt"
    if last.is_file():
        state = load_checkpoint(last)
        if state["epoch"] >= config.train.epochs:
            echo(f"{kind}: trained ({state['global_step']} steps), reusing {last}")
            return
        echo(f"{kind}: resuming from epoch {state['epoch']}, step {state['step_in_epoch']}")
        train(config, resume=True, progress=progress)
        return
    echo(f"{kind}: training {config.train.epochs} epochs of {config.model.backbone} at "
         f"{config.data.input_size[0]}x{config.data.input_size[1]}")
    train(config, progress=progress)


def evaluate_run(config: Config, out: Path, progress: bool, echo) -> dict:
    """Evaluate a run's last checkpoint with the flip test into ``out`` (reused when its metrics.json exists);
    returns :meth:`integral_pose.evaluate.EvalReport.to_json`."""
    from integral_pose.checkpoints import load_model
    from integral_pose.data.coco import load_coco_keypoints
    from integral_pose.evaluate import evaluate

    metrics_path = out / "metrics.json"
    if metrics_path.is_file():
        return json.loads(metrics_path.read_text())
    # The last checkpoint: every method after the same number of steps (best.pt is chosen on this very split).
    model, _ = load_model(Path(config.train.out) / "last.pt")
    data = config.data
    val = load_coco_keypoints(data.annotations(data.val_split), image_dir=data.images(data.val_split))
    echo(f"{config.method.kind}: evaluating on {len(val.training_persons())} val persons with the flip test")
    report = evaluate(model, config.method, val, flip_test=True, input_size=data.input_size, out=out,
                      name=config.method.kind, progress=progress, device=config.train.device
                      if config.train.device != "auto" else "cpu")
    return report.to_json()


# --- the report -------------------------------------------------------------------------------------------------


def _report(out: Path, demo: DemoPlan, configs: dict[str, Config], evaluations: dict[str, dict], progress: bool,
            echo) -> Path:
    from integral_pose._console import wide_console
    from integral_pose.bias import run_study
    from integral_pose.bias.settings import PRESETS
    from integral_pose.data.coco import load_coco_keypoints
    from integral_pose.results import load_results
    from integral_pose.subsets import analyse_subsets
    from integral_pose.subsets.output import write_report
    from integral_pose.subsets.tables import markdown, metric_tables

    data = configs["detection"].data
    val = load_coco_keypoints(data.annotations(data.val_split), image_dir=data.images(data.val_split))
    results = {kind: load_results(out / "eval" / kind / "results.json", val) for kind in KINDS}
    echo("sub-benchmarks of the four methods")
    subsets = analyse_subsets(val, results, progress=progress)
    write_report(subsets, out / "subsets")
    if not (out / "bias" / "summary.md").is_file():
        echo("bias study figures (quick preset)")
        run_study(out / "bias", PRESETS["quick"], progress=progress)
    figures = out / "figures"
    figures.mkdir(exist_ok=True)
    curves = _plot_curves(configs, figures / "training_curves.png")
    examples = _draw_examples(configs, val, results, figures / "examples.png")
    errors = {kind: person_errors(val, result) for kind, result in results.items()}
    headline = headline_rows(errors, evaluations)
    differences = paired_differences(errors)
    text = _markdown(demo, configs, headline, differences, [markdown(t) for t in metric_tables(subsets)],
                     {"training curves": curves, "example predictions": examples,
                      **{f"bias: {p.stem.replace('_', ' ')}": p for p in sorted((out / "bias").glob("*.png"))},
                      **{f"sub-benchmarks: {p.stem}": p for p in sorted((out / "subsets").glob("*.png"))}}, out)
    (out / "report.md").write_text(text)
    (out / "report.html").write_text(_html(text, out))
    (out / "summary.json").write_text(json.dumps({"plan": demo.__dict__, "headline": headline,
                                                  "differences": differences}, indent=1, allow_nan=False))
    wide_console().print(_rich_headline(headline))
    return out / "report.md"


def person_errors(val, results) -> tuple[np.ndarray, np.ndarray]:
    """Per evaluated person of ``val`` (file order): the summed distance (image pixels) of its labelled keypoints
    and their count, so that any set of persons gives the pooled EPE ``sums.sum() / counts.sum()``."""
    from integral_pose.metrics import evaluated_persons, pair_predictions

    paired = pair_predictions(evaluated_persons(val), results, sigmas=val.spec.sigmas)
    return (paired.distances * paired.mask).sum(axis=1), paired.mask.sum(axis=1)


def _bootstrap_indices(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(_BOOTSTRAP, n))


def headline_rows(errors: dict[str, tuple], evaluations: dict[str, dict]) -> list[dict]:
    """AP, AP50, AP75 and EPE per method, EPE with a 95% bootstrap interval over persons (``errors`` from
    :func:`person_errors`)."""
    rows = []
    for kind, (sums, counts) in errors.items():
        draws = _bootstrap_indices(len(sums))
        epe = sums.sum() / counts.sum()
        boot = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
        metrics = evaluations[kind]["metrics"]
        rows.append({"method": kind, "AP": metrics["AP"], "AP50": metrics["AP50"], "AP75": metrics["AP75"],
                     "EPE": float(epe), "EPE_low": float(np.percentile(boot, 2.5)),
                     "EPE_high": float(np.percentile(boot, 97.5)), "EPE_norm": metrics.get("EPE_norm")})
    return rows


def paired_differences(errors: dict[str, tuple], pairs: Sequence[tuple[str, str]] = CLAIMS) -> list[dict]:
    """EPE(a) - EPE(b) for each pair ``(a, b)`` of ``errors``' keys, with paired 95% bootstrap intervals over
    persons (``errors`` from :func:`person_errors`); by default the differences the paper's claims rest on."""
    draws = _bootstrap_indices(len(next(iter(errors.values()))[0]), seed=1)
    rows = []
    for a, b in pairs:
        (sa, ca), (sb, cb) = errors[a], errors[b]
        diff = sa.sum() / ca.sum() - sb.sum() / cb.sum()
        boot = sa[draws].sum(1) / ca[draws].sum(1) - sb[draws].sum(1) / cb[draws].sum(1)
        low, high = np.percentile(boot, [2.5, 97.5])
        rows.append({"difference": f"{a} - {b}", "EPE": float(diff), "low": float(low), "high": float(high)})
    return rows


def _rich_headline(rows: list[dict]):
    from rich.table import Table

    table = Table(title="The four methods on the synthetic val split (flip test; EPE in image pixels, 95% CI)")
    for column in ("method", "AP", "AP50", "AP75", "EPE"):
        table.add_column(column, justify="left" if column == "method" else "right")
    best_ap = max(r["AP"] for r in rows)
    best_epe = min(r["EPE"] for r in rows)
    for r in rows:
        ap = f"{100 * r['AP']:.1f}" + (" *" if r["AP"] == best_ap else "")
        epe = f"{r['EPE']:.2f} [{r['EPE_low']:.2f}, {r['EPE_high']:.2f}]" + (" *" if r["EPE"] == best_epe else "")
        table.add_row(r["method"], ap, f"{100 * r['AP50']:.1f}", f"{100 * r['AP75']:.1f}", epe)
    return table


def _markdown(demo: DemoPlan, configs, headline, differences, subset_tables, figures: dict[str, Path],
              out: Path) -> str:
    best_ap = max(r["AP"] for r in headline)
    best_epe = min(r["EPE"] for r in headline)
    lines = ["# The four methods on synthetic people", "",
             f"{demo.images} synthetic images ({demo.image_size[0]}x{demo.image_size[1]}), backbone "
             f"`{demo.backbone}` at {demo.input_size[0]}x{demo.input_size[1]}, {demo.epochs} epochs of batch "
             f"{demo.batch_size} for every method (flips and scale augmentation), seed {demo.seed}, device "
             f"{demo.device}.{_fitting_note(out)} Evaluated on the val split's ground-truth boxes with the flip "
             "test. Best in **bold**.", "",
             "| method | AP | AP50 | AP75 | EPE (px) [95% CI] | EPE / box size |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in headline:
        ap = f"{100 * r['AP']:.1f}"
        epe = f"{r['EPE']:.2f} [{r['EPE_low']:.2f}, {r['EPE_high']:.2f}]"
        lines.append(f"| {r['method']} | {'**' + ap + '**' if r['AP'] == best_ap else ap} | "
                     f"{100 * r['AP50']:.1f} | {100 * r['AP75']:.1f} | "
                     f"{'**' + epe + '**' if r['EPE'] == best_epe else epe} | {r['EPE_norm']:.4f} |")
    lines += ["", "Paired differences in EPE (image pixels; negative: the first is better), 95% bootstrap "
              "intervals over persons. An interval that contains 0 does not separate the two.", "",
              "| difference | EPE | 95% CI |", "| --- | --- | --- |"]
    lines += [f"| {d['difference']} | {d['EPE']:+.3f} | [{d['low']:+.3f}, {d['high']:+.3f}] |" for d in differences]
    lines += ["", "Methods:", ""]
    for kind, config in configs.items():
        default = type(config.method)()
        options = {k: v for k, v in config.method.__dict__.items() if k == "kind" or v != getattr(default, k)}
        lines.append(f"- `{kind}`: {', '.join(f'{k}={v}' for k, v in options.items())}")
    lines += ["", "## Sub-benchmarks", ""]
    for table in subset_tables:
        lines += [table, ""]
    lines += ["## Figures", ""]
    for caption, path in figures.items():
        lines += [f"### {caption}", "", f"![{caption}]({path.relative_to(out).as_posix()})", ""]
    return "\n".join(lines)


def _fitting_note(out: Path) -> str:
    """A sentence on how the epochs were fitted to this machine, from ``plan.json``; empty without one."""
    path = out / "plan.json"
    if not path.is_file():
        return ""
    stored = json.loads(path.read_text())
    minutes, planned, speed = stored["request"]["minutes"], stored["request"]["plan"]["epochs"], stored["speed"]
    return (f" The epochs fit {minutes:g} minutes on the machine that ran this ({1000 * speed['step_seconds']:.0f} ms "
            f"per training step; the plan has {planned}; see `plan.json`).")


def _html(text: str, out: Path) -> str:
    """The markdown report as a standalone HTML page: tables, headings, lists and figures inline (base64)."""
    body, table = [], []

    def flush_table() -> None:
        if not table:
            return
        rows = [r for r in table if not re.fullmatch(r"\|( *:?-+:? *\|)+", r)]
        cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows]
        head = "".join(f"<th>{_inline(c)}</th>" for c in cells[0])
        rest = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in cells[1:])
        body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rest}</tbody></table>")
        table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        image = re.fullmatch(r"!\[(.*)\]\((.*)\)", line)
        if image:
            data = base64.b64encode((out / image.group(2)).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(image.group(1))}" src="data:image/png;base64,{data}">')
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
        elif line.startswith("- "):
            body.append(f"<li>{_inline(line[2:])}</li>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    flush_table()
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}table{border-collapse:"
             "collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>integral-pose demo</title><style>{style}"
            f"</style></head><body>{''.join(body)}</body></html>\n")


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def _plot_curves(configs: dict[str, Config], path: Path) -> Path:
    import csv

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.6))
    loss_ax, epe_ax, dead_ax = fig.subplots(1, 3)
    for kind, config in configs.items():
        run = Path(config.train.out)
        steps = list(csv.DictReader((run / "metrics.csv").open()))
        epochs = list(csv.DictReader((run / "epochs.csv").open()))
        loss_ax.plot([int(r["step"]) for r in steps], [float(r["loss"]) for r in steps], label=kind, lw=0.8)
        rows = [r for r in epochs if r.get("val_EPE")]
        epe_ax.plot([int(r["epoch"]) for r in rows], [float(r["val_EPE"]) for r in rows], "o-", label=kind)
        if steps and "dead" in steps[0]:
            dead_ax.plot([int(r["step"]) for r in steps], [float(r["dead"]) for r in steps], label=kind, lw=0.8)
    loss_ax.set(yscale="log", xlabel="step", title="training loss")
    epe_ax.set(xlabel="epoch", ylabel="image pixels", title="val EPE (no flip)")
    dead_ax.set(xlabel="step", title="share of undefined compensated maps")
    for ax in (loss_ax, epe_ax, dead_ax):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    FigureCanvasAgg(fig).print_png(str(path))
    return path


def _draw_examples(configs: dict[str, Config], val, results: dict, path: Path, count: int = 4) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from integral_pose.data.dataset import read_rgb
    from integral_pose.data.show import _draw_person

    image_ids = sorted({p.image_id for p in val.training_persons()})[:count]
    fig = Figure(figsize=(2.6 * count, 2.7 * len(results)))
    axes = fig.subplots(len(results), count, squeeze=False)
    for row, (kind, result) in enumerate(results.items()):
        for col, image_id in enumerate(image_ids):
            ax = axes[row][col]
            image = read_rgb(val.image_path(image_id))
            ax.imshow(image)
            for i in np.flatnonzero(result.image_ids == image_id):
                keypoints = result.keypoints[i].copy()
                keypoints[:, 2] = np.where(keypoints[:, 2] > 0.2, 2.0, 1.0)
                _draw_person(ax, val.spec, keypoints, None)
            ax.set_xlim(-0.5, image.shape[1] - 0.5)
            ax.set_ylim(image.shape[0] - 0.5, -0.5)
            ax.axis("off")
            if col == 0:
                ax.set_title(kind, fontsize=9, loc="left")
    fig.tight_layout()
    FigureCanvasAgg(fig).print_png(str(path))
    return path


