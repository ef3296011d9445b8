"""The whole bias study: both sections' experiments, then the figures, the CSV tables and ``summary.md``.

Section 1 (the paper's analysis) is in :mod:`integral_pose.bias.positions`, section 2 (decoders under
realistic conditions) in :mod:`integral_pose.bias.realistic`. Every experiment draws from one seeded
``torch.Generator``; the same settings give the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from integral_pose.bias import positions, realistic
from integral_pose.bias.positions import LIMITS, PositionSweep
from integral_pose.bias.realistic import BACKGROUNDS, NOISE_LEVELS, SECOND_PEAK, Realistic
from integral_pose.bias.settings import PRESETS, Rows, StudySettings, Tick

__all__ = ["PRESETS", "StudyResults", "StudySettings", "run_experiments", "run_study", "work_units"]


@dataclass
class StudyResults:
    """Everything the figures and the report need."""

    settings: StudySettings
    sweep: PositionSweep
    tables: dict[str, Rows]
    realistic: Realistic


def run_experiments(settings: StudySettings, tick: Tick = lambda: None) -> StudyResults:
    """All experiments; ``tick`` is called :func:`work_units` times in all."""
    generator = torch.Generator().manual_seed(settings.seed)
    sweep = positions.position_sweep(settings, tick)
    maps = realistic.realistic_study(settings, generator, tick)
    tables = {
        "headline": positions.headline_rows(sweep),
        "positions": positions.position_rows(sweep),
        "closed_form": positions.closed_form_rows(sweep, settings.shape),
        "error_sources": positions.error_source_rows(sweep),
        "closed_form_limits": positions.closed_form_limits(settings, generator, tick),
        "realistic": realistic.realistic_rows(maps),
        "realistic_maps": realistic.realistic_map_rows(maps),
        "targets": realistic.target_rows(maps),
        "window": realistic.window_rows(settings, generator, tick),
        "ring_rules": realistic.ring_rows(settings, generator, tick),
    }
    return StudyResults(settings, sweep, tables, maps)


def work_units(settings: StudySettings) -> int:
    """How many times :func:`run_experiments` calls ``tick``."""
    conditions = len(BACKGROUNDS) * len(NOISE_LEVELS) * len(SECOND_PEAK)
    sweeps = 2 * len(NOISE_LEVELS) * len(SECOND_PEAK)
    return 1 + len(settings.betas) + conditions + len(LIMITS) + sweeps


def run_study(out: str | Path, settings: StudySettings | None = None, *, progress: bool = True) -> Path:
    """Run every experiment and write the CSV tables, the figures and ``summary.md`` into ``out``.

    Args:
        out: output directory, created if needed.
        settings: the study's sizes; the default preset when None.
        progress: show a rich progress bar on stderr.

    Returns:
        The path of ``summary.md``.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from integral_pose.bias.figures import write_figures
    from integral_pose.bias.report import write_report

    settings = settings or PRESETS["default"]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TimeElapsedColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("bias study: experiments", total=work_units(settings))
        results = run_experiments(settings, lambda: bar.advance(task))
        bar.update(task, description="bias study: figures")
        figures = write_figures(results, out)
        bar.update(task, description="bias study: tables and summary")
        summary = write_report(results, figures, out)
        bar.update(task, description="bias study: done")
    return summary


