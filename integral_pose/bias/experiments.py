"""Every experiment of the bias study, with nothing written: :func:`run_experiments` returns the tables.

Section 1 (the paper's analysis) is in :mod:`integral_pose.bias.positions`, section 2 (decoders under
realistic conditions) in :mod:`integral_pose.bias.realistic`. Every experiment draws from one seeded
``torch.Generator``, and the bootstrap intervals from a second one seeded alike; the same settings give the
same numbers. :mod:`integral_pose.bias.figures` and :mod:`integral_pose.bias.report` read a
:class:`StudyResults`; :mod:`integral_pose.bias.study` runs the experiments and writes both.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from integral_pose.bias import positions, realistic
from integral_pose.bias.positions import LIMITS, PositionSweep
from integral_pose.bias.realistic import BACKGROUNDS, NOISE_LEVELS, SECOND_PEAK, Realistic
from integral_pose.bias.settings import Rows, StudySettings, Tick

__all__ = ["StudyResults", "run_experiments", "work_units"]


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
        "local_vs_dark": realistic.local_vs_dark_rows(maps, torch.Generator().manual_seed(settings.seed)),
        "window": realistic.window_rows(settings, generator, tick),
        "ring_rules": realistic.ring_rows(settings, generator, tick),
    }
    return StudyResults(settings, sweep, tables, maps)


def work_units(settings: StudySettings) -> int:
    """How many times :func:`run_experiments` calls ``tick``."""
    conditions = len(BACKGROUNDS) * len(NOISE_LEVELS) * len(SECOND_PEAK)
    sweeps = 2 * len(NOISE_LEVELS) * len(SECOND_PEAK)
    return 1 + len(settings.betas) + conditions + len(LIMITS) + sweeps
