"""The ``integral-pose`` command line. Each command parses its options and calls one library function."""

from __future__ import annotations

import click

from integral_pose import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="integral-pose")
def main() -> None:
    """Keypoint estimation with unbiased integral regression."""
