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
