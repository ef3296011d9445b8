"""The ``integral-pose`` command line. Each command parses its options and calls one library function."""

from __future__ import annotations

import click

from integral_pose import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="integral-pose")
def main() -> None:
    """Keypoint estimation with unbiased integral regression."""


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
