"""Tables of a :class:`~integral_pose.subsets.analysis.SubsetReport`: built once as :class:`TextTable`, then
rendered with rich (the terminal), as markdown or as LaTeX (booktabs); every cell as CSV rows.

AP is shown in percent with one decimal, EPE in pixels with two; the best method of each cell is marked
(bold, and green in the terminal): the highest AP, AR or PCK, the lowest EPE. A dash marks a value that does
not exist (a cell without persons, or without paired persons).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

from rich.table import Table

from integral_pose.subsets.analysis import SubsetReport
from integral_pose.subsets.cells import AXES, CELL_NAMES, CROSSES, cross_key

__all__ = ["TextTable", "count_tables", "csv_text", "latex", "markdown", "metric_tables", "rich_table"]

LOWER_IS_BETTER = ("EPE", "EPE_norm")
TITLES = {"keypoints": "labelled keypoints", "occlusion": "occlusion", "size": "size"}
UNITS = {"AP": "AP (%)", "EPE": "EPE (px)"}


@dataclass(frozen=True)
class TextTable:
    """A table of text cells, some marked best.

    Attributes:
        title: a line above the table.
        columns: the header, one name per column.
        groups: an optional header row above ``columns``: ``(label, span)`` pairs covering every column.
        rows: ``(text, best)`` per cell.
        notes: lines under the table.
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[tuple[str, bool], ...], ...]
    groups: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()


def _format(metric: str, value: float | int | None) -> str:
    if value is None:
        return "–"
    if metric.startswith(("AP", "AR", "PCK")):
        return f"{100 * value:.1f}"
    if metric == "EPE_norm":
        return f"{value:.4f}"
    if metric == "EPE":
        return f"{value:.2f}"
    return str(value)


def best_of(values: Mapping[str, float | None], metric: str) -> set[str]:
    """The names holding the best value of ``metric`` as shown (ties at the shown precision all win).

    Empty where no value is known.
    """
    shown = {k: float(_format(metric, v)) for k, v in values.items() if v is not None}
    if not shown:
        return set()
    best = min(shown.values()) if metric in LOWER_IS_BETTER else max(shown.values())
    return {k for k, v in shown.items() if v == best}


def _side_by_side(per_method: Mapping[str, Mapping], metric: str) -> list[tuple[str, bool]]:
    """One cell per method: the metric's value, marked where best (only with two or more methods)."""
    values = {name: m[metric] for name, m in per_method.items()}
    best = best_of(values, metric) if len(values) > 1 else set()
    return [(_format(metric, v), name in best) for name, v in values.items()]


def count_tables(report: SubsetReport) -> list[TextTable]:
    """Persons per cell of each axis (with shares) and the two cross tables (with totals)."""
    total = report.counts["all"]
    tables = []
    for axis in AXES:
        labels = report.labels(axis)
        rows = [((labels[c], False), (str(n), False), (f"{100 * n / total:.1f}%" if total else "–", False))
                for c, n in report.counts[axis].items()]
        rows.append((("all", False), (str(total), False), ("100%" if total else "–", False)))
        tables.append(TextTable(f"Persons by {TITLES[axis]}", (TITLES[axis], "persons", "share"), tuple(rows)))
    for row_axis, column_axis in CROSSES:
        counts = report.counts[cross_key(row_axis, column_axis)]
        column_labels = report.labels(column_axis)
        rows = []
        for row, label in report.labels(row_axis).items():
            cells = [str(counts[row][c]) for c in CELL_NAMES[column_axis]]
            rows.append(tuple((t, False) for t in (label, *cells, str(report.counts[row_axis][row]))))
        totals = [str(report.counts[column_axis][c]) for c in CELL_NAMES[column_axis]]
        rows.append(tuple((t, False) for t in ("all", *totals, str(total))))
        header = (f"{TITLES[row_axis]} \\ {TITLES[column_axis]}", *column_labels.values(), "all")
        tables.append(TextTable(f"Persons by {TITLES[row_axis]} x {TITLES[column_axis]}", header, tuple(rows)))
    return tables


def _pairing_notes(report: SubsetReport) -> tuple[str, ...]:
    return tuple(f"{name}: {p['predictions']} predictions paired by {p['paired_by']}; "
                 f"{p['unpaired_persons']} persons without a prediction (left out of EPE/PCK); "
                 f"{p['unpaired_predictions']} predictions on no evaluated person"
                 for name, p in report.pairing.items())


def metric_tables(report: SubsetReport, metrics: tuple[str, ...] = ("AP", "EPE")) -> list[TextTable]:
    """The metrics of every method: all persons, each axis, and each cross table in the paper's layout.

    Args:
        report: with metrics.
        metrics: shown per axis cell and per cross table (one cross table per metric).

    Returns:
        The "all" table (every metric, one row per method), one table per axis (cells as rows, the methods side
        by side under each metric), and per cross table and metric a table with the row axis as rows and the
        methods side by side under each column cell.
    """
    names = report.names
    first = report.metrics[names[0]]["all"]
    keys = [k for k in first if k not in ("n", "paired", "keypoints")]
    per_method = {name: report.metrics[name]["all"] for name in names}
    rows = []
    for name in names:
        row = [(name, False)]
        for key in keys:
            best = best_of({n: m[key] for n, m in per_method.items()}, key) if len(names) > 1 else set()
            row.append((_format(key, per_method[name][key]), name in best))
        row.append((str(report.pairing[name]["unpaired_persons"]), False))
        rows.append(tuple(row))
    tables = [TextTable(f"All {report.counts['all']} persons", ("method", *keys, "unpaired"), tuple(rows),
                        notes=_pairing_notes(report))]
    groups = (("", 2), *((UNITS.get(m, m), len(names)) for m in metrics))
    for axis in AXES:
        rows = []
        for cell, label in (*report.labels(axis).items(), ("all", "all")):
            per_method = {name: (report.metrics[name][axis][cell] if cell != "all" else report.metrics[name]["all"])
                          for name in names}
            row = [(label, False), (str(report.counts[axis][cell] if cell != "all" else report.counts["all"]), False)]
            for metric in metrics:
                row += _side_by_side(per_method, metric)
            rows.append(tuple(row))
        header = (TITLES[axis], "n", *(name for _ in metrics for name in names))
        tables.append(TextTable(f"By {TITLES[axis]}", header, tuple(rows), groups))
    for row_axis, column_axis in CROSSES:
        key = cross_key(row_axis, column_axis)
        column_labels = report.labels(column_axis)
        for metric in metrics:
            rows = []
            for row, label in report.labels(row_axis).items():
                cells = [(label, False)]
                for column in CELL_NAMES[column_axis]:
                    cells += _side_by_side({n: report.metrics[n][key][row][column] for n in names}, metric)
                rows.append(tuple(cells))
            groups_x = (("", 1), *((column_labels[c], len(names)) for c in CELL_NAMES[column_axis]))
            header = (f"{TITLES[row_axis]} \\ {TITLES[column_axis]}",
                      *(name for _ in CELL_NAMES[column_axis] for name in names))
            tables.append(TextTable(f"{UNITS.get(metric, metric)} by {TITLES[row_axis]} x {TITLES[column_axis]}",
                                    header, tuple(rows), groups_x))
    return tables


def _header_names(table: TextTable) -> list[str]:
    """Column names with their group label folded in, for formats without spanning headers."""
    if not table.groups:
        return list(table.columns)
    labels = [label for label, span in table.groups for _ in range(span)]
    return [f"{g}: {c}" if g else c for g, c in zip(labels, table.columns, strict=True)]


def rich_table(table: TextTable) -> Table:
    """The table for a rich console; best cells bold green."""
    out = Table(title=table.title, caption="\n".join(table.notes) or None, title_justify="left",
                caption_justify="left")
    for i, name in enumerate(_header_names(table)):
        out.add_column(name.replace(": ", "\n", 1), justify="left" if i == 0 else "right")
    for row in table.rows:
        out.add_row(*(f"[bold green]{t}[/]" if best else t for t, best in row))
    return out


def markdown(table: TextTable) -> str:
    """The table as GitHub markdown, a bold title line above; best cells bold."""
    names = _header_names(table)
    lines = [f"**{table.title}**", "", "| " + " | ".join(names) + " |",
             "| " + " | ".join(["---"] + ["---:"] * (len(names) - 1)) + " |"]
    lines += ["| " + " | ".join(f"**{t}**" if best else t for t, best in row) + " |" for row in table.rows]
    if table.notes:
        lines += ["", *(f"- {note}" for note in table.notes)]
    return "\n".join(lines) + "\n"


def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"),
                 ("²", r"$^2$"), ("–", "--"), (">=", r"$\geq$"), ("<", r"$<$")):
        text = text.replace(a, b)
    return text


def latex(table: TextTable) -> str:
    """The table as a booktabs ``tabular``; groups as ``\\multicolumn`` headers, best cells ``\\textbf``."""
    lines = [f"% {table.title}", f"\\begin{{tabular}}{{l{'r' * (len(table.columns) - 1)}}}", r"\toprule"]
    if table.groups:
        cells, rules, start = [], [], 1
        for label, span in table.groups:
            if label:
                cells.append(rf"\multicolumn{{{span}}}{{c}}{{{_latex_escape(label)}}}")
                rules.append(rf"\cmidrule(lr){{{start}-{start + span - 1}}}")
            else:
                cells += [""] * span
            start += span
        lines += [" & ".join(cells) + r" \\", " ".join(rules)]
    lines.append(" & ".join(_latex_escape(c) for c in table.columns) + r" \\")
    lines.append(r"\midrule")
    for row in table.rows:
        lines.append(" & ".join(rf"\textbf{{{_latex_escape(t)}}}" if best else _latex_escape(t)
                                for t, best in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def csv_text(report: SubsetReport) -> str:
    """Every cell as a CSV row: ``method, table, row, column, n`` then every metric (counts only: ``n``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = report.names or [""]
    metric_keys = [k for k in report.metrics[names[0]]["all"] if k != "n"] if report.metrics else []
    writer.writerow(["method", "table", "row", "column", "n", *metric_keys])
    tables: list[tuple[str, str, str]] = [("all", "all", "")]
    tables += [(axis, cell, "") for axis in AXES for cell in CELL_NAMES[axis]]
    tables += [(cross_key(r, c), row, column) for r, c in CROSSES for row in CELL_NAMES[r] for column in CELL_NAMES[c]]
    for name in names:
        for table, row, column in tables:
            n = report.counts["all"] if table == "all" else report.counts[table][row]
            n = n[column] if column else n
            values: list = []
            if report.metrics:
                m = report.metrics[name]
                m = m["all"] if table == "all" else (m[table][row][column] if column else m[table][row])
                values = ["" if m.get(k) is None else m[k] for k in metric_keys]
            writer.writerow([name, table, row, column, n, *values])
    return buffer.getvalue()
