"""The ``integral-pose`` command line. Each command parses its options and calls one library function."""

from __future__ import annotations

from pathlib import Path

import click

from integral_pose import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="integral-pose")
def main() -> None:
    """Keypoint estimation with unbiased integral regression."""


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

    files = generate(out, images=images, seed=seed, val_fraction=val_fraction, image_size=_size(size),
                     workers=workers)
    for path in files.values():
        _print_summary(load_coco_keypoints(path))


@main.command()
@click.argument("dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for PNGs.")
@click.option("--image-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Image folder [default: ROOT/SPLIT for ROOT/annotations/person_keypoints_SPLIT.json].")
@click.option("--spec", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Dataset description (TOML/JSON) for keypoints other than COCO's.")
@click.option("--count", default=6, show_default=True, type=click.IntRange(min=1), help="Images to draw.")
@click.option("--seed", default=0, show_default=True, type=int, help="Picks the images and augmentation.")
def show(dataset: Path, out: Path, image_dir: Path | None, spec: Path | None, count: int, seed: int) -> None:
    """Draw a few images of DATASET (a COCO-format keypoint JSON) with their skeletons, and augmented crops."""
    from integral_pose.data.coco import KeypointSpec, guess_image_dir, load_coco_keypoints
    from integral_pose.data.show import draw_crops, draw_images

    image_dir = image_dir or guess_image_dir(dataset)
    if image_dir is None:
        raise click.UsageError(f"cannot find the images of {dataset}; pass --image-dir")
    data = load_coco_keypoints(dataset, image_dir=image_dir, spec=KeypointSpec.from_file(spec) if spec else None)
    paths = [*draw_images(data, out, count=count, seed=seed), draw_crops(data, out, count=8, seed=seed)]
    _print_summary(data)
    click.echo("\n".join(str(p) for p in paths))


def _print_summary(data) -> None:
    """Print the distribution of a dataset's persons over keypoint counts, occlusion and size."""
    from rich.console import Console

    from integral_pose.data.show import person_table, summarise_persons

    Console().print(person_table(summarise_persons(data.persons), str(data.path)))
