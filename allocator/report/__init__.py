"""The plan report: a workbook, PNG charts and one self-contained HTML page.

``write_report(instance, solution, out_dir)`` writes into `out_dir`:

- ``report.xlsx``: summary, assignments (one row per tour), leads, coverage (task x period,
  deployed / required), shortfalls, burden against fair share under units, personnel and cost;
- ``rotation-<task>.png`` per task, ``leads.png``, ``coverage.png`` (task x period),
  ``personnel.png`` (nation x period heat map), ``burden.png``;
- ``report.html``: the summary, every chart (embedded) and the tables; opens without a network.

Every file is written atomically; the numbers are recomputed from the solution's assignments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.checker import check, require_same_instance
from allocator.checker.solution import Solution
from allocator.instance import Instance
from allocator.io import write_atomic
from allocator.report import charts
from allocator.report.charts import chart_name
from allocator.report.tables import PlanTables, plan_tables
from allocator.report.workbook import report_workbook

log = logging.getLogger(__name__)

__all__ = ["Report", "build_report", "chart_name", "save_report", "write_report"]


@dataclass(frozen=True)
class Report:
    """A solution's report in memory: tables, charts (PNG bytes by file name), checker verdict."""

    instance: Instance
    solution: Solution
    document: dict[str, Any]
    tables: PlanTables
    charts: dict[str, bytes]
    violations: tuple[str, ...]
    label: str

    @property
    def no_plan(self) -> str | None:
        """Why the report shows nothing deployed, when the solution holds no plan."""
        if self.solution.has_plan:
            return None
        reason = NO_PLAN_REASONS.get(self.solution.status, f"the status is '{self.solution.status}'")
        return f"No plan: {reason}. The coverage and gaps below show the demand with nothing deployed."


#: Why a solution holds no plan, by status (the SPEC's `infeasible` and `unknown`).
NO_PLAN_REASONS = {
    "infeasible": "the solver proved that no plan satisfies the hard rules",
    "unknown": "no solution was found within the time limit",
}


def build_report(instance: Instance, solution: Any, label: str = "<solution>") -> Report:
    """Tables and charts of a solution (a SPEC mapping or a SolveResult) of `instance`.

    Raises :class:`~allocator.errors.InputError` if the solution belongs to another instance."""
    document = solution.to_json() if hasattr(solution, "to_json") else solution
    parsed = require_same_instance(instance, document, label)  # a plan of another instance: refused
    verdict = check(instance, document, label)
    tables = plan_tables(instance, parsed)
    colours = charts.nation_colours(instance, tables)
    images = {chart_name(t.id): charts.rotation_chart(instance, t, tables, colours) for t in instance.tasks}
    images["leads.png"] = charts.lead_chart(instance, tables, colours)
    images["coverage.png"] = charts.coverage_chart(tables, instance)
    images["personnel.png"] = charts.personnel_heatmap(tables)
    images["burden.png"] = charts.burden_chart(tables, instance.spec.fairness, colours)
    violations = tuple(f"{v.rule}: {v.message}" for v in verdict.violations)
    return Report(instance, parsed, document, tables, images, violations, label)


def write_report(
    instance: Instance, solution: Any, out_dir: str | Path, label: str = "<solution>"
) -> list[Path]:
    """Write the workbook, the charts and the HTML page into `out_dir`; the paths written."""
    return save_report(build_report(instance, solution, label), out_dir)


def save_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Write a built report's files into `out_dir` (each atomically); the paths written."""
    from allocator.report.html import render_html

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in report.charts.items():
        write_atomic(folder / name, data)
        written.append(folder / name)
    write_atomic(folder / "report.xlsx", report_workbook(report))
    write_atomic(folder / "report.html", render_html(report))
    written += [folder / "report.xlsx", folder / "report.html"]
    log.info("report of %s written to %s (%d files)", report.label, folder, len(written))
    return written
