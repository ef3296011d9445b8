"""The whole bias study: both sections' experiments, then the figures, the CSV tables and ``summary.md``.

The experiments are in :mod:`integral_pose.bias.experiments`; this module writes their outputs. Every
file is written under a temporary name and renamed into place (see :mod:`integral_pose._files`), and
``summary.md`` comes last: a folder with a ``summary.md`` from this run holds every other output of it.
"""

from __future__ import annotations

from pathlib import Path

from integral_pose._files import check_writable_dir
from integral_pose.bias.experiments import StudyResults, run_experiments, work_units
from integral_pose.bias.figures import write_figures
from integral_pose.bias.report import write_report
from integral_pose.bias.settings import PRESETS, StudySettings

__all__ = ["PRESETS", "StudyResults", "StudySettings", "run_experiments", "run_study", "work_units"]


def run_study(out: str | Path, settings: StudySettings | None = None, *, progress: bool = True) -> Path:
    """Run every experiment and write the CSV tables, the figures and ``summary.md`` into ``out``.

    Args:
        out: output directory, created if needed; checked for writing before any experiment runs.
        settings: the study's sizes; the default preset when None.
        progress: show a rich progress bar on stderr.

    Returns:
        The path of ``summary.md``.

    Raises:
        ValueError: naming ``out`` where no file can be written there.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    settings = settings or PRESETS["default"]
    out = check_writable_dir(out)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), disable=not progress, transient=False) as bar:
        task = bar.add_task("bias study: experiments", total=work_units(settings))
        results = run_experiments(settings, lambda: bar.advance(task))
        bar.update(task, description="bias study: figures")
        figures = write_figures(results, out)
        bar.update(task, description="bias study: tables and summary")
        summary = write_report(results, figures, out)
        bar.update(task, description="bias study: done")
    return summary
