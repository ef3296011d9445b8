"""Bar charts of a :class:`~integral_pose.subsets.analysis.SubsetReport`, one PNG per axis.

With metrics: AP (%) above, EPE (pixels) below, the methods as bars side by side in each cell, the person
count under each cell name. Without: the person count per cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from integral_pose._files import atomic_path
from integral_pose.subsets.analysis import SubsetReport
from integral_pose.subsets.cells import AXES, CELL_NAMES
from integral_pose.subsets.tables import TITLES

__all__ = ["plot_axis", "plot_report"]


def _tick_labels(report: SubsetReport, axis: str) -> list[str]:
    labels = report.labels(axis)
    return [f"{labels[c]}\nn={report.counts[axis][c]}" for c in CELL_NAMES[axis]]


def _bars(ax, report: SubsetReport, axis: str, metric: str, scale: float, fmt: str) -> None:
    """Grouped bars of one metric: x the cells of ``axis``, one bar per method, each labelled with its value."""
    names = report.names
    x = np.arange(len(CELL_NAMES[axis]))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [report.metrics[name][axis][c][metric] for c in CELL_NAMES[axis]]
        heights = [np.nan if v is None or not np.isfinite(v) else scale * v for v in values]  # no infinite bars
        bars = ax.bar(x + (i - (len(names) - 1) / 2) * width, heights, width, label=name)
        ax.bar_label(bars, labels=["–" if v is None else fmt.format(scale * v) for v in values], fontsize=7,
                     padding=1)
    ax.set_xticks(x, _tick_labels(report, axis))
    ax.margins(y=0.12)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


def plot_axis(report: SubsetReport, axis: str, path: str | Path) -> Path:
    """Write the bar chart of one axis as a PNG and return its path."""
    path = Path(path)
    if report.metrics:
        fig = Figure(figsize=(2.2 + 1.6 * len(CELL_NAMES[axis]), 6.4))
        top, bottom = fig.subplots(2, 1, sharex=True)
        _bars(top, report, axis, "AP", 100.0, "{:.1f}")
        top.set_ylabel("OKS AP (%)")
        top.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(report.names), 4),
                   frameon=False)
        _bars(bottom, report, axis, "EPE", 1.0, "{:.2f}")
        bottom.set_ylabel("EPE (pixels, lower is better)")
        bottom.tick_params(axis="x", labelbottom=True)
    else:
        fig = Figure(figsize=(2.2 + 1.4 * len(CELL_NAMES[axis]), 3.6))
        top = fig.subplots()
        counts = [report.counts[axis][c] for c in CELL_NAMES[axis]]
        bars = top.bar(np.arange(len(counts)), counts, 0.6, color="tab:gray")
        top.bar_label(bars, fontsize=8, padding=1)
        top.set_xticks(np.arange(len(counts)), _tick_labels(report, axis))
        top.set_ylabel("persons")
        top.margins(y=0.12)
    fig.suptitle(f"By {TITLES[axis]} ({report.counts['all']} persons)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    return path


def plot_report(report: SubsetReport, out_dir: str | Path) -> list[Path]:
    """One chart per axis, ``out_dir/{axis}.png``."""
    return [plot_axis(report, axis, Path(out_dir) / f"{axis}.png") for axis in AXES]
