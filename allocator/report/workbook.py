"""The report workbook: one sheet per table, short cells in red on the coverage sheet (capability
rows, and a task's '(nations)' row against its min_nations), cells with surplus units in amber."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl.styles import Font, PatternFill

from allocator.xlsx import append_rows

if TYPE_CHECKING:
    from allocator.report.document import Report

SHORT_FILL = "F8D0D0"
OK_FILL = "E3F2E1"
SURPLUS_FILL = "F6E8B1"


def summary_frame(report: Report) -> pd.DataFrame:
    """Status, objectives recomputed from the assignments, the solution's claims (labelled so), the
    checker's violations and the input warnings."""
    backend = (report.document.get("solver") or {}).get("backend", "")
    rows: list[tuple[str, object]] = [
        ("instance", report.instance.name),
        ("solution", report.label),
        ("status", report.status_text),
        *([("plan", report.no_plan)] if report.no_plan else []),
        ("backend", backend),
        ("checker", "all rules hold" if not report.violations else f"{len(report.violations)} violation(s)"),
    ]
    rows += [(f"objective: {name}", value) for name, value in report.shown_objectives.items()]
    rows += [(f"claimed objective: {name}", value) for name, value in report.solution.objectives.items()]
    rows += [(f"solver's bound (claimed): {name}", value) for name, value in report.bounds.items()]
    rows += [("violation", v) for v in report.violations]
    rows += [("warning", w) for w in report.warnings]
    return pd.DataFrame(rows, columns=["item", "value"])


def coverage_frame(report: Report) -> pd.DataFrame:
    frame = report.tables.coverage.copy()
    frame.columns = report.tables.labels
    return frame.reset_index()


def burden_frame(report: Report) -> pd.DataFrame:
    return report.tables.burden.round(3)


WHY_COLUMNS = ["task", "capability", "from", "to", "short (units x periods)", "offer", "reason", "why"]


def why_frame(shortfalls: list[dict[str, Any]]) -> pd.DataFrame:
    """The "why" sheet: per run of short periods, a row for every offer of the capability and
    why it does not serve there (one row in words where no offer has the capability)."""
    rows = []
    for gap in shortfalls:
        first, last = gap["labels"]
        where = [gap["task"], gap.get("capability") or "(nations)", first, last, gap.get("units")]
        for reason in gap.get("reasons") or [{"offer": "", "reason": "", "text": gap.get("text", "")}]:
            rows.append([*where, reason["offer"], reason["reason"], reason["text"]])
    return pd.DataFrame(rows, columns=WHY_COLUMNS)


def parts_frame(breakdown: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    """The "why-objectives" sheet: what makes up each objective, largest part first, a part's
    fields in words beside its value."""
    rows = []
    for objective, parts in breakdown.items():
        for part in parts:
            fields = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in part.items() if k != "value")
            rows.append([objective, fields, part.get("value")])
    return pd.DataFrame(rows, columns=["objective", "part", "value"])


def _sheet(book: Any, name: str, frame: pd.DataFrame) -> Any:
    """A sheet holding `frame` (bold header, frozen panes, fitted widths); text cells stay text."""
    sheet = book.create_sheet(name)
    append_rows(sheet, [[str(c) for c in frame.columns], *frame.itertuples(index=False, name=None)], 1)
    sheet.freeze_panes = "A2" if name != "coverage" else "C2"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column in sheet.columns:
        width = max(len(str(c.value)) if c.value is not None else 0 for c in column) + 2
        sheet.column_dimensions[column[0].column_letter].width = min(max(width, 6), 40)
    return sheet


def _fill_coverage(sheet: Any, report: Report) -> None:
    """Every cell where something is required or deployed: red when short, amber with surplus
    units, green when met."""
    short, met = PatternFill("solid", fgColor=SHORT_FILL), PatternFill("solid", fgColor=OK_FILL)
    extra = PatternFill("solid", fgColor=SURPLUS_FILL)
    required = report.tables.coverage_required.to_numpy()
    deployed = report.tables.coverage_deployed.to_numpy()
    surplus = report.tables.surplus
    for i, j in zip(*((required > 0) | surplus).nonzero(), strict=True):
        fill = extra if surplus[i, j] else short if deployed[i, j] < required[i, j] else met
        sheet.cell(row=int(i) + 2, column=int(j) + 3).fill = fill


def report_workbook(report: Report) -> bytes:
    """The workbook's bytes."""
    from openpyxl import Workbook

    sheets = {
        "summary": summary_frame(report),
        "assignments": report.tables.assignments,
        "leads": report.tables.leads,
        "coverage": coverage_frame(report),
        "shortfalls": report.tables.shortfalls,
        "burden": burden_frame(report),
    }
    if report.changes is not None:
        sheets["changes"] = report.changes
    if report.explanation is not None:
        sheets["why"] = why_frame(report.explanation.shortfalls)
        sheets["why-objectives"] = parts_frame(report.explanation.breakdown or {})
    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        _sheet(book, name, frame)
    _fill_coverage(book["coverage"], report)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
