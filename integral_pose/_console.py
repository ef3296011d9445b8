"""The one rich Console factory: tables are never cut or wrapped at 80 columns when the output is a pipe or file."""

from __future__ import annotations


def wide_console(stderr: bool = False):
    """A rich Console on stdout (or stderr); where that is not a terminal it is wide enough for any table."""
    from rich.console import Console

    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=10_000)
