"""Showing and writing a :class:`~integral_pose.subsets.analysis.SubsetReport`: terminal tables, JSON, and a
folder of markdown, CSV and LaTeX tables and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from integral_pose.subsets.analysis import SubsetReport
from integral_pose.subsets.plots import plot_report
from integral_pose.subsets.tables import TextTable, count_tables, csv_text, latex, markdown, metric_tables, rich_table

__all__ = ["print_report", "report_tables", "write_report"]


def report_tables(report: SubsetReport) -> list[TextTable]:
    """The count tables, then the metric tables where the report has metrics."""
    return count_tables(report) + (metric_tables(report) if report.metrics else [])


def print_report(report: SubsetReport, console: Console | None = None) -> None:
    """Print every table of the report."""
    console = Console() if console is None else console
    for table in report_tables(report):
        console.print(rich_table(table))
        console.print()


def write_report(report: SubsetReport, out_dir: str | Path) -> list[Path]:
    """Write ``subsets.md``, ``subsets.tex``, ``subsets.csv``, ``subsets.json`` and ``{axis}.png`` under
    ``out_dir`` (created where absent); return the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = report_tables(report)
    title = f"Sub-benchmarks of {Path(report.source).name}" if report.source else "Sub-benchmarks"
    texts = {
        "subsets.md": f"# {title}\n\n" + "\n".join(markdown(t) for t in tables),
        "subsets.tex": f"% {title}; needs \\usepackage{{booktabs}}\n\n" + "\n".join(latex(t) for t in tables),
        "subsets.csv": csv_text(report),
        "subsets.json": json.dumps(report.to_json(), indent=1) + "\n",
    }
    written = []
    for name, text in texts.items():
        (out_dir / name).write_text(text)
        written.append(out_dir / name)
    return written + plot_report(report, out_dir)
