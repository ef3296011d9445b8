"""The ``integral-pose`` command line. Each command parses its options and calls one library function.

Importing this module imports click and nothing heavy: each command imports what it needs (torch, matplotlib,
the data and model code) inside its body, so ``integral-pose --help`` starts fast. A new command is one more
``@main.command()`` function below, with its imports inside it; the helpers here (:func:`out_option`,
:func:`seed_option`, and :func:`integral_pose._console.wide_console`) give every command the same checks.
"""

from __future__ import annotations

from pathlib import Path

import click

from integral_pose import __version__
from integral_pose._console import wide_console

MAX_SEED = 2**32 - 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="integral-pose")
def main() -> None:
    """Keypoint estimation with unbiased integral regression."""


# --- shared options and helpers ---------------------------------------------------------------------------------


def _check_out(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """Create the output folder and check that files can be written there, before the command computes."""
    if value is None:
        return None
    from integral_pose._files import check_writable_dir

    try:
        return check_writable_dir(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


def out_option(help: str, *, required: bool = True):
    """``--out DIR``: a folder created where absent and checked for writing before the command runs."""
    return click.option("--out", required=required, type=click.Path(file_okay=False, path_type=Path),
                        callback=_check_out, help=help)


def seed_option(help: str, *, default: int | None = 0):
    """``--seed N`` with N from 0 to 2**32 - 1."""
    return click.option("--seed", default=default, show_default=default is not None,
                        type=click.IntRange(0, MAX_SEED), help=help)


def _fail(error: Exception) -> click.ClickException:
    return click.ClickException(str(error))


# --- subsets ------------------------------------------------------------------------------------------------------


class _SubsetsCommand(click.Command):
    """Lets ``--names`` take several values (``--names A B``), before or after the results files.

    ``--names`` takes one name per results file: the arguments that are neither options nor option values
    are the annotations, R results files and R names, so R is known wherever ``--names`` stands. Where the
    count does not add up, ``--names`` takes the values up to the first existing file and the analysis
    reports the mismatch.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        arity = {name: (0 if p.is_flag or p.count else p.nargs)
                 for p in self.params if isinstance(p, click.Option) for name in p.opts + p.secondary_opts}
        tokens: list[tuple[str, str]] = []  # (kind, text): "bare", "names" (a --names value) or "other"
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                tokens += [("bare", a) for a in args[i + 1:]]
                break
            if arg == "--names":
                i += 1
                while i < len(args) and not args[i].startswith("-"):
                    tokens.append(("names", args[i]))
                    i += 1
                continue
            if arg in arity:
                tokens += [("other", a) for a in args[i:i + 1 + arity[arg]]]
                i += 1 + arity[arg]
                continue
            tokens.append(("other" if arg.startswith("-") else "bare", arg))
            i += 1
        values = [text for kind, text in tokens if kind == "names"]
        bare = sum(kind == "bare" for kind, _ in tokens)
        count = (bare + len(values) - 1) // 2
        if (bare + len(values) - 1) % 2 or count > len(values):
            # the counts do not add up: names run up to the first existing file, and the analysis reports
            # the mismatch between names and results files
            count = next((i for i, v in enumerate(values) if Path(v).is_file()), len(values))
        expanded, taken = [], 0
        for kind, text in tokens:
            if kind == "names" and taken < count:
                expanded += ["--names", text]
                taken += 1
            else:
                expanded.append(text)
        if "--names" in args and not values:
            expanded.append("--names")  # let click report the missing value
        return super().parse_args(ctx, expanded)


@main.command("subsets", cls=_SubsetsCommand)
@click.argument("annotations", type=click.Path(exists=True, path_type=Path))
@click.argument("results", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--names", multiple=True, metavar="A B ...",
              help="One name per results file, before or after the files (default: file stems).")
@out_option("Write markdown, CSV, LaTeX and JSON tables and PNG charts here.", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print only JSON to stdout (progress goes to stderr).")
@click.option("--keypoint-edges", nargs=2, type=int, default=(6, 11), show_default=True,
              help="First labelled-keypoint counts of 'some' and 'many'.")
@click.option("--occlusion-edges", nargs=2, type=float, default=(0.2, 0.5), show_default=True,
              help="Lowest occluded shares of 'some' and 'many'.")
@click.option("--size-edges", nargs=3, type=float, default=(64.0, 96.0, 128.0), show_default=True,
              help="Lowest sqrt(area) in pixels of L, XL and XXL.")
@click.option("--pck", "pck_thresholds", type=float, multiple=True, default=(0.05, 0.1, 0.2), show_default=True,
              help="PCK threshold as a fraction of the larger box side (repeat for several).")
@click.option("--min-oks", type=float, default=0.0, show_default=True,
              help="Pairing by OKS: pairs with OKS <= this are not made.")
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Dataset description (.toml/.json: names, skeleton, sigmas) for keypoints other than COCO's.")
def subsets(annotations: Path, results: tuple[Path, ...], names: tuple[str, ...], out: Path | None, as_json: bool,
            keypoint_edges: tuple[int, int], occlusion_edges: tuple[float, float],
            size_edges: tuple[float, float, float], pck_thresholds: tuple[float, ...], min_oks: float,
            spec_path: Path | None) -> None:
    """Sub-benchmarks by labelled keypoints, occlusion and size of COCO keypoint ANNOTATIONS: person counts,
    and with RESULTS files the OKS AP, EPE and PCK of every cell, methods side by side.

    ANNOTATIONS is a COCO keypoint JSON, or a folder laid out as COCO's (ROOT/annotations/
    person_keypoints_SPLIT.json; a folder gives its validation split), as for `integral-pose show`.
    --names takes one name per results file, before or after the files."""
    from integral_pose.data.coco import annotation_file
    from integral_pose.data.spec import KeypointSpec
    from integral_pose.subsets import SubsetSplit, analyse_subsets_files
    from integral_pose.subsets.output import print_report, report_json, write_report

    try:
        annotations = annotation_file(annotations) if annotations.is_dir() else annotations
        split = SubsetSplit(keypoint_edges, occlusion_edges, size_edges)
        spec = None if spec_path is None else KeypointSpec.from_file(spec_path)
        report = analyse_subsets_files(annotations, results, names=names, split=split, spec=spec,
                                       pck_thresholds=pck_thresholds, min_oks=min_oks, progress=True)
    except (ValueError, TypeError) as error:
        raise _fail(error) from error
    if as_json:
        click.echo(report_json(report))
    else:
        print_report(report, wide_console())
    if out is not None:
        written = write_report(report, out)
        click.echo(f"wrote {len(written)} files to {out}", err=as_json)


# --- data: synthetic people and drawing -------------------------------------------------------------------------

MAX_IMAGE_SIDE = 4096


def _size(ctx: click.Context, param: click.Parameter, text: str) -> tuple[int, int]:
    """``"256x192"`` -> ``(256, 192)`` as ``(H, W)``, each side from 32 to ``MAX_IMAGE_SIDE`` pixels."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected HxW such as 256x256, got {text!r}") from None
    if not (32 <= h <= MAX_IMAGE_SIDE and 32 <= w <= MAX_IMAGE_SIDE):
        raise click.BadParameter(f"expected each side from 32 to {MAX_IMAGE_SIDE} pixels, got {text!r}")
    return h, w


@main.command()
@out_option("Output folder.")
@click.option("--images", required=True, type=click.IntRange(2, 1_000_000), help="Number of images, train and val.")
@seed_option("The dataset is a function of the seed.")
@click.option("--val-fraction", default=0.2, show_default=True,
              type=click.FloatRange(0, 1, min_open=True, max_open=True), help="Share of images in val.")
@click.option("--size", "size", default="256x256", show_default=True, callback=_size,
              help=f"Image size HxW, each side 32 to {MAX_IMAGE_SIDE}.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Drawing processes [default: all cores].")
def synth(out: Path, images: int, seed: int, val_fraction: float, size: tuple[int, int], workers: int | None) -> None:
    """Generate a COCO-format dataset of synthetic people (JPEG images, person-keypoint JSON, train/val)."""
    from integral_pose.data.coco import load_coco_keypoints
    from integral_pose.data.synth import generate

    try:
        files = generate(out, images=images, seed=seed, val_fraction=val_fraction, image_size=size, workers=workers)
    except ValueError as error:
        raise _fail(error) from error
    _print_counts({split: load_coco_keypoints(path) for split, path in files.items()})


@main.command()
@click.argument("dataset", type=click.Path(exists=True, path_type=Path))
@out_option("Folder for PNGs.")
@click.option("--image-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Image folder [default: ROOT/SPLIT for ROOT/annotations/person_keypoints_SPLIT.json].")
@click.option("--spec", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Dataset description (TOML/JSON) for keypoints other than COCO's.")
@click.option("--count", default=6, show_default=True, type=click.IntRange(1, 1000), help="Images to draw.")
@seed_option("Picks the images and augmentation.")
def show(dataset: Path, out: Path, image_dir: Path | None, spec: Path | None, count: int, seed: int) -> None:
    """Draw a few images of DATASET with their skeletons, and augmented crops.

    DATASET is a COCO-format keypoint JSON, or a folder laid out as COCO's (ROOT/annotations/
    person_keypoints_SPLIT.json beside ROOT/SPLIT), such as the output of `integral-pose synth`; a folder
    shows its validation split.
    """
    from integral_pose.data.coco import KeypointSpec, annotation_file, guess_image_dir, load_coco_keypoints
    from integral_pose.data.show import draw_crops, draw_images

    try:
        dataset = annotation_file(dataset) if dataset.is_dir() else dataset
    except ValueError as error:
        raise _fail(error) from error
    image_dir = image_dir or guess_image_dir(dataset)
    if image_dir is None:
        raise click.UsageError(f"cannot find the images of {dataset}; pass --image-dir")
    try:
        data = load_coco_keypoints(dataset, image_dir=image_dir, spec=KeypointSpec.from_file(spec) if spec else None)
        paths = [*draw_images(data, out, count=count, seed=seed), draw_crops(data, out, count=8, seed=seed)]
    except ValueError as error:
        raise _fail(error) from error
    _print_counts({dataset.name: data})
    click.echo("\n".join(str(p) for p in paths))


def _print_counts(datasets: dict) -> None:
    """Print persons per sub-benchmark cell (keypoint counts, occlusion, size), one column per dataset."""
    from integral_pose.data.show import count_table
    from integral_pose.subsets import analyse_subsets

    wide_console().print(count_table({name: analyse_subsets(data) for name, data in datasets.items()}))


# --- bias study ---------------------------------------------------------------------------------------------------


@main.command()
@out_option("Directory for the figures, CSV tables and summary.md.")
@click.option("--quick", "preset", flag_value="quick", help="Tiny settings (seconds), for tests.")
@click.option("--large", "preset", flag_value="large", help="A finer position grid and 8x more maps (minutes).")
@click.option("--size", type=(click.IntRange(40, 256), click.IntRange(40, 256)), default=None, metavar="H W",
              help="Heatmap size, each side 40 to 256 (default 64 48; the study's memory bound may ask for less).")
@click.option("--sigma", type=click.FloatRange(0.5, 25.6), default=None,
              help="Section-1 blob sigma in heatmap pixels, 0.5 to min(H, W) / 10 (default 2).")
@seed_option("Seed of every random draw (default 0).", default=None)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def bias(out: Path, preset: str | None, size: tuple[int, int] | None, sigma: float | None, seed: int | None,
         no_progress: bool) -> None:
    """The soft-argmax bias study on synthetic heatmaps: figures (PNG), every number (CSV) and summary.md."""
    from dataclasses import replace

    from integral_pose.bias import run_study
    from integral_pose.bias.settings import PRESETS

    overrides = {"shape": size, "sigma": sigma, "seed": seed}
    try:
        settings = replace(PRESETS[preset or "default"], **{k: v for k, v in overrides.items() if v is not None})
    except ValueError as error:
        raise click.BadParameter(str(error)) from error
    summary = run_study(out, settings, progress=not no_progress)
    click.echo(f"wrote {summary}")


# --- training -----------------------------------------------------------------------------------------------------


@main.command()
@click.argument("config")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config value, e.g. --set train.lr=5e-4 --set method.beta=2 (repeatable).")
@click.option("--resume", is_flag=True, help="Continue the run in train.out from its last checkpoint.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def train(config: str, overrides: tuple[str, ...], resume: bool, no_progress: bool) -> None:
    """Train a model with one of the four methods, as CONFIG says: a TOML file, or the name of a shipped config
    (small/detection, small/integral, small/compensated, small/combined; resnet50/... and hrnet_w32/... likewise).

    Under `torchrun --nproc_per_node N -m integral_pose train CONFIG` the same command trains with
    DistributedDataParallel. Writes checkpoints, config.toml, metrics.csv, epochs.csv and train.log to train.out.
    """
    from integral_pose.config import config_path, load_config
    from integral_pose.train import train as run_training

    try:
        resolved = load_config(config_path(config), overrides)
        result = run_training(resolved, resume=resume, progress=not no_progress)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    best = ", ".join(f"{k} {v:.4g}" for k, v in result.best.items())
    click.echo(f"{result.steps} steps; best: {best}; checkpoints in {result.out}")


# --- inference: eval, predict, export -----------------------------------------------------------------------------


def _device(name: str) -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


@main.command("eval")
@click.argument("config")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--boxes", type=click.Choice(["gt"]), default="gt", show_default=True,
              help="Ground-truth person boxes (default unless --detections is given).")
@click.option("--detections", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Person-detection results JSON ([{image_id, bbox, score}]) to crop instead of the ground truth.")
@click.option("--flip/--no-flip", default=True, show_default=True, help="Flip test.")
@out_option("Folder for results.json, metrics.json and subsets/.")
@click.option("--json", "as_json", is_flag=True, help="Print only the report as JSON on stdout.")
@click.option("--split", default=None, help="Split to evaluate [default: the config's data.val_split].")
@click.option("--detection-threshold", type=float, default=0.0, show_default=True,
              help="Detections scoring below this are left out.")
@click.option("--keypoint-score", type=click.Choice(["method", "peak", "mass", "spread"]), default="method",
              show_default=True, help="Keypoint confidence used for the person score.")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config value.")
def eval_command(config: str, checkpoint: Path, boxes: str, detections: Path | None, flip: bool, out: Path,
                 as_json: bool, split: str | None, detection_threshold: float, keypoint_score: str, batch_size: int,
                 device: str, overrides: tuple[str, ...]) -> None:
    """Evaluate CHECKPOINT on the validation split of CONFIG's data: COCO OKS AP, EPE, PCK and sub-benchmarks.

    CONFIG (a TOML file or a shipped config's name, as for train) names the data, the method that decodes and,
    for published weights in a foreign format, the backbone."""
    import json

    from integral_pose.checkpoints import load_model
    from integral_pose.config import config_path, load_config
    from integral_pose.data.coco import load_coco_keypoints
    from integral_pose.data.spec import KeypointSpec
    from integral_pose.evaluate import evaluate, metrics_table

    try:
        cfg = load_config(config_path(config), overrides, check_paths=False)
        model, cfg = load_model(checkpoint, cfg)
        method = cfg.method
        split = split or cfg.data.val_split
        spec = KeypointSpec.from_file(cfg.data.spec) if cfg.data.spec else None
        dataset = load_coco_keypoints(cfg.data.annotations(split), image_dir=cfg.data.images(split), spec=spec)
        report = evaluate(model, method, dataset, boxes=detections if detections is not None else boxes,
                          flip_test=flip, input_size=cfg.data.input_size, batch_size=batch_size,
                          device=_device(device), detection_threshold=detection_threshold,
                          keypoint_score=keypoint_score, out=out, name=checkpoint.stem, progress=not as_json)
    except (ValueError, TypeError) as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1))
    else:
        wide_console().print(metrics_table(report))
        click.echo(f"wrote {len(report.files)} files to {out}")


@main.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--boxes", "boxes_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help='JSON list of {"image": file name, "bbox": [x, y, w, h], "score"?}; default: each whole image.')
@out_option("Folder for results.json and the drawn images.")
@click.option("--flip/--no-flip", default=True, show_default=True, help="Flip test.")
@click.option("--threshold", type=float, default=0.2, show_default=True,
              help="Keypoints scoring above this are drawn filled, the others hollow.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
def predict(checkpoint: Path, images: tuple[Path, ...], boxes_file: Path | None, out: Path, flip: bool,
            threshold: float, device: str) -> None:
    """Predict keypoints with CHECKPOINT on IMAGES (files or folders): results.json and one PNG per image."""
    import json

    import torch

    from integral_pose.checkpoints import load_model
    from integral_pose.draw import draw_predictions
    from integral_pose.inference import BoxCrops, image_paths, spec_of, to_results
    from integral_pose.inference import predict as run_predict

    try:
        model, cfg = load_model(checkpoint)
        method = cfg.method
        spec = spec_of(cfg, model.num_keypoints)
        paths = image_paths(images)
        boxes = None if boxes_file is None else _read_boxes(boxes_file, paths)
        crops = BoxCrops(paths, boxes, input_size=cfg.data.input_size)
        loader = torch.utils.data.DataLoader(crops, batch_size=16)
        pred = run_predict(model, method, loader, flip_index=spec.flip_index, flip_test=flip, device=_device(device),
                           progress=True)
    except (ValueError, TypeError) as error:
        raise click.ClickException(str(error)) from error
    entries = to_results(pred, category_id=1).to_coco()
    for entry in entries:
        entry["file_name"] = str(paths[entry["image_id"]])
    (out / "results.json").write_text(json.dumps(entries) + "\n")
    for index, path in enumerate(paths):
        mine = pred.image_ids == index
        draw_predictions(crops.read(index), pred.keypoints[mine], pred.scores[mine], spec,
                         out / f"{path.stem}.png", threshold=threshold, boxes=pred.boxes[mine], title=path.name)
    click.echo(f"{len(pred)} persons on {len(paths)} images; wrote {out / 'results.json'} and {len(paths)} PNGs")


def _read_boxes(path: Path, images: list[Path]) -> list[tuple[int, list[float], float]]:
    """``[{"image", "bbox", "score"?}]`` -> ``(image index, bbox, score)``, images matched by file name or path."""
    import json

    try:
        entries = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from None
    index = {p.name: i for i, p in enumerate(images)} | {str(p): i for i, p in enumerate(images)}
    boxes = []
    for n, entry in enumerate(entries if isinstance(entries, list) else [None]):
        if not isinstance(entry, dict) or "image" not in entry or "bbox" not in entry:
            raise ValueError(f"{path}: entry {n}: expected {{\"image\", \"bbox\"[, \"score\"]}}, got {entry!r}")
        if str(entry["image"]) not in index:
            raise ValueError(f"{path}: entry {n}: image {entry['image']!r} is not among the images given")
        boxes.append((index[str(entry["image"])], entry["bbox"], float(entry.get("score", 1.0))))
    return boxes


@main.command()
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--onnx", "onnx_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .onnx file to write.")
@click.option("--float-input", is_flag=True, help="Take float32 images (0..255) instead of uint8.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare onnxruntime with PyTorch on a random batch of 3.")
def export(checkpoint: Path, onnx_path: Path, float_input: bool, check: bool) -> None:
    """Export CHECKPOINT's model with its decoder as one ONNX graph (dynamic batch; keypoints in crop pixels)."""
    import numpy as np
    import torch

    from integral_pose.checkpoints import load_model
    from integral_pose.export import DecodedModel, export_onnx, run_onnx

    try:
        model, cfg = load_model(checkpoint)
        method = cfg.method
        dtype = torch.float32 if float_input else torch.uint8
        export_onnx(model, method, onnx_path, input_size=cfg.data.input_size, dtype=dtype)
    except (ValueError, TypeError, RuntimeError, ImportError, OSError) as error:
        raise click.ClickException(f"export: {type(error).__name__}: {error}") from error
    click.echo(f"wrote {onnx_path} (input images (B, 3, {cfg.data.input_size[0]}, {cfg.data.input_size[1]}) "
               f"{'float32' if float_input else 'uint8'})")
    if check:
        images = torch.randint(0, 256, (3, 3, *cfg.data.input_size), generator=torch.Generator().manual_seed(1),
                               dtype=torch.uint8).to(dtype)
        keypoints, _ = run_onnx(onnx_path, images)
        with torch.no_grad():
            expected, _ = DecodedModel(model, method)(images)
        click.echo(f"onnxruntime vs PyTorch: max |difference| {np.abs(keypoints - expected.numpy()).max():.3g} px")


# --- the demo -----------------------------------------------------------------------------------------------------


@main.command()
@out_option("Folder for the dataset, runs, evaluations, figures and report.md/report.html.")
@click.option("--minutes", type=click.FloatRange(0.1, 10_000), default=15.0, show_default=True,
              help="Wall-time budget: it sets the dataset size and the (equal) training steps; on CPU the "
                   "epochs are cut to what fits this machine.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="cuda trains HRNet-W32 at 256x192 instead of the small backbone at 64x48.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
def demo(out: Path, minutes: float, device: str, no_progress: bool) -> None:
    """The four methods compared on synthetic people: generate data, train detection, integral, compensated and
    combined with equal budgets, evaluate with the flip test, and write report.md and report.html.

    Ctrl-C stops cleanly and keeps what finished; running the same command again resumes.
    """
    from integral_pose.demo import run_demo

    try:
        report = run_demo(out, minutes=minutes, device=device, progress=not no_progress, echo=click.echo)
    except KeyboardInterrupt:
        click.echo(f"\nstopped; run the same command again to resume from what is in {out}", err=True)
        raise SystemExit(130) from None
    except ValueError as error:
        raise _fail(error) from error
    click.echo(f"wrote {report} and {report.with_suffix('.html')}")
