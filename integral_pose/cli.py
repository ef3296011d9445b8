"""The ``integral-pose`` command line. Each command parses its options and calls one library function."""

from __future__ import annotations

import json
from itertools import takewhile
from pathlib import Path

import click

from integral_pose import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="integral-pose")
def main() -> None:
    """Keypoint estimation with unbiased integral regression."""


class _SubsetsCommand(click.Command):
    """Lets ``--names`` take several values (``--names A B``) by repeating the option for each value."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        expanded, i = [], 0
        while i < len(args):
            if args[i] != "--names":
                expanded.append(args[i])
                i += 1
                continue
            values = list(takewhile(lambda a: not a.startswith("-"), args[i + 1:]))
            expanded += [part for value in values for part in ("--names", value)] or ["--names"]
            i += 1 + len(values)
        return super().parse_args(ctx, expanded)


@main.command("subsets", cls=_SubsetsCommand)
@click.argument("annotations", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("results", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--names", multiple=True, metavar="A B ...", help="A name per results file (default: file stems).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write markdown, CSV, LaTeX and JSON tables and PNG charts here.")
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

    Give --names after the results files: it takes every value up to the next option."""
    from integral_pose.data.spec import KeypointSpec
    from integral_pose.subsets import SubsetSplit, analyse_subsets_files
    from integral_pose.subsets.output import print_report, write_report

    try:
        split = SubsetSplit(keypoint_edges, occlusion_edges, size_edges)
        spec = None if spec_path is None else KeypointSpec.from_file(spec_path)
        report = analyse_subsets_files(annotations, results, names=names, split=split, spec=spec,
                                       pck_thresholds=pck_thresholds, min_oks=min_oks, progress=True)
    except (ValueError, TypeError) as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1))
    else:
        print_report(report)
    if out is not None:
        written = write_report(report, out)
        click.echo(f"wrote {len(written)} files to {out}", err=as_json)


# --- data: synthetic people and drawing -------------------------------------------------------------------------


def _size(text: str) -> tuple[int, int]:
    """``"256x192"`` -> ``(256, 192)`` as ``(H, W)``."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected HxW such as 256x256, got {text!r}") from None
    return h, w


@main.command()
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--images", required=True, type=click.IntRange(min=2), help="Number of images, train and val.")
@click.option("--seed", default=0, show_default=True, type=int, help="The dataset is a function of the seed.")
@click.option("--val-fraction", default=0.2, show_default=True,
              type=click.FloatRange(0, 1, min_open=True, max_open=True), help="Share of images in val.")
@click.option("--size", "size", default="256x256", show_default=True, help="Image size HxW.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Drawing processes [default: all cores].")
def synth(out: Path, images: int, seed: int, val_fraction: float, size: str, workers: int | None) -> None:
    """Generate a COCO-format dataset of synthetic people (JPEG images, person-keypoint JSON, train/val)."""
    from integral_pose.data.coco import load_coco_keypoints
    from integral_pose.data.synth import generate

    try:
        files = generate(out, images=images, seed=seed, val_fraction=val_fraction, image_size=_size(size),
                         workers=workers)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    _print_counts({split: load_coco_keypoints(path) for split, path in files.items()})


@main.command()
@click.argument("dataset", type=click.Path(exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for PNGs.")
@click.option("--image-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Image folder [default: ROOT/SPLIT for ROOT/annotations/person_keypoints_SPLIT.json].")
@click.option("--spec", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Dataset description (TOML/JSON) for keypoints other than COCO's.")
@click.option("--count", default=6, show_default=True, type=click.IntRange(min=1), help="Images to draw.")
@click.option("--seed", default=0, show_default=True, type=int, help="Picks the images and augmentation.")
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
        raise click.ClickException(str(error)) from error
    image_dir = image_dir or guess_image_dir(dataset)
    if image_dir is None:
        raise click.UsageError(f"cannot find the images of {dataset}; pass --image-dir")
    try:
        data = load_coco_keypoints(dataset, image_dir=image_dir, spec=KeypointSpec.from_file(spec) if spec else None)
        paths = [*draw_images(data, out, count=count, seed=seed), draw_crops(data, out, count=8, seed=seed)]
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    _print_counts({dataset.name: data})
    click.echo("\n".join(str(p) for p in paths))


def _print_counts(datasets: dict) -> None:
    """Print persons per sub-benchmark cell (keypoint counts, occlusion, size), one column per dataset."""
    from rich.console import Console

    from integral_pose.data.show import count_table
    from integral_pose.subsets import analyse_subsets

    Console().print(count_table({name: analyse_subsets(data) for name, data in datasets.items()}))


@main.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="Directory for the figures, CSV tables and summary.md.")
@click.option("--quick", "preset", flag_value="quick", help="Tiny settings (seconds), for tests.")
@click.option("--large", "preset", flag_value="large", help="A finer position grid and 8x more maps (minutes).")
@click.option("--size", type=(int, int), default=None, metavar="H W", help="Heatmap size (default 64 48).")
@click.option("--sigma", type=float, default=None, help="Section-1 blob sigma in heatmap pixels (default 2).")
@click.option("--seed", type=int, default=None, help="Seed of every random draw (default 0).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def bias(out: str, preset: str | None, size: tuple[int, int] | None, sigma: float | None, seed: int | None,
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
