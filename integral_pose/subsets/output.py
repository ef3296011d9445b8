"""Showing and writing a :class:`~integral_pose.subsets.analysis.SubsetReport`: terminal tables, JSON, and a
folder of markdown, CSV and LaTeX tables and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from integral_pose._console import wide_console
from integral_pose._files import write_text_atomic
from integral_pose.subsets.analysis import SubsetReport
from integral_pose.subsets.plots import plot_report
from integral_pose.subsets.tables import TextTable, count_tables, csv_text, latex, markdown, metric_tables, rich_table

__all__ = ["print_report", "report_json", "report_tables", "write_report"]


def report_json(report: SubsetReport) -> str:
    """The report as JSON text (:meth:`SubsetReport.to_json`): always valid JSON, non-finite numbers as null."""
    return json.dumps(report.to_json(), indent=1, allow_nan=False)


def report_tables(report: SubsetReport) -> list[TextTable]:
    """The count tables, then the metric tables where the report has metrics."""
    return count_tables(report) + (metric_tables(report) if report.metrics else [])


def print_report(report: SubsetReport, console: Console | None = None) -> None:
    """Print every table of the report; on ``console``, or on stdout at its full width where None."""
    console = wide_console() if console is None else console
    for table in report_tables(report):
        console.print(rich_table(table))
        console.print()


def write_report(report: SubsetReport, out_dir: str | Path) -> list[Path]:
    """Write ``subsets.md``, ``subsets.tex``, ``subsets.csv``, ``subsets.json`` and ``{axis}.png`` under
    ``out_dir`` (created where absent); return the paths written. Each file is written under a temporary name
    and renamed into place, so none is ever left half-written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = report_tables(report)
    title = f"Sub-benchmarks of {Path(report.source).name}" if report.source else "Sub-benchmarks"
    texts = {
        "subsets.md": f"# {title}\n\n" + "\n".join(markdown(t) for t in tables),
        "subsets.tex": f"% {title}; needs \\usepackage{{booktabs}}\n\n" + "\n".join(latex(t) for t in tables),
        "subsets.csv": csv_text(report),
        "subsets.json": report_json(report) + "\n",
    }
    written = []
    for name, text in texts.items():
        written.append(write_text_atomic(out_dir / name, text))
    return written + plot_report(report, out_dir)
