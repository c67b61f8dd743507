"""A solution's report in memory: the tables, the charts and the checker's verdict."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

import allocator.report.charts as charts
from allocator.checker import CheckReport, check, require_same_instance
from allocator.checker.solution import Solution, parse_solution
from allocator.errors import InputWarning
from allocator.explanations import Explanation, explain_plan, plan_of_tours
from allocator.instance.model import Instance
from allocator.options import Status
from allocator.report.charts import chart_name, chart_stem
from allocator.report.tables import PlanTables, change_table, plan_tables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    """A solution's report in memory: tables, charts (PNG bytes by file name), checker verdict,
    input warnings."""

    instance: Instance
    solution: Solution
    document: dict[str, Any]
    tables: PlanTables
    charts: dict[str, bytes]
    violations: tuple[str, ...]
    label: str
    #: The objectives the checker recomputes from the assignments (none without a plan).
    objectives: dict[str, float] = field(default_factory=dict)
    #: The input warnings issued while the report was built (a plan made for other data).
    warnings: tuple[str, ...] = ()
    #: A re-plan's baseline, first planned period and changes (recomputed from both plans)
    baseline: Solution | None = None
    start: int | None = None
    changes: pd.DataFrame | None = None

    @property
    def changed_tasks(self) -> list[str]:
        """The tasks whose units or lead a re-plan changed, in the instance's order."""
        if self.changes is None:
            return []
        changed = set(self.changes["task"])
        return [t.id for t in self.instance.tasks if t.id in changed]

    @property
    def shown_objectives(self) -> dict[str, float]:
        """The recomputed objectives the summary shows: the model's in level order, then any other
        the solution claims."""
        names = dict.fromkeys([*self.instance.spec.objective_names, *self.solution.objectives])
        return {name: self.objectives[name] for name in names if name in self.objectives}

    @property
    def claimed_objectives(self) -> dict[str, float]:
        """The objectives the solution claims where they differ from the recomputed ones."""
        return {
            name: value
            for name, value in self.solution.objectives.items()
            if name in self.objectives and not _close(value, self.objectives[name])
        }

    @property
    def status_text(self) -> str:
        """The solution's status; marked as claimed, not verified, when the checker finds violations."""
        count = len(self.violations)
        if not count:
            return self.solution.status
        return f"{self.solution.status} (claimed; the checker finds {count} violation{'s' * (count != 1)})"

    @property
    def bounds(self) -> dict[str, float]:
        """The solver's proven bounds, as the solution claims them (by level key)."""
        return dict((self.document.get("solver") or {}).get("bounds") or {})

    @property
    def caption(self) -> str:
        """The solution named for the page's header: its label, then backend and status."""
        backend = str((self.document.get("solver") or {}).get("backend") or "")
        label = self.label.removesuffix(f" ({backend})") if backend else self.label  # solve's label
        return f"{label} ({', '.join(filter(None, (backend, self.solution.status)))})"

    @cached_property
    def explanation(self) -> Explanation | None:
        """Why: each shortfall's reasons and the parts of every objective (the "why" section and
        sheets); None without a verified plan."""
        if self.violations or not self.solution.has_plan:
            return None
        plan = plan_of_tours(self.solution.tours)
        return explain_plan(self.instance, plan, Status(self.solution.status))

    @property
    def no_plan(self) -> str | None:
        """Why the report shows nothing deployed, when the solution holds no plan."""
        if self.solution.has_plan:
            return None
        reason = NO_PLAN_REASONS.get(self.solution.status, f"the status is '{self.solution.status}'")
        return f"No plan: {reason}. The coverage and gaps below show the demand with nothing deployed."


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


#: Why a solution holds no plan, by status (`infeasible` and `unknown`).
NO_PLAN_REASONS: dict[str, str] = {
    Status.INFEASIBLE: "the solver proved that no plan satisfies the hard rules",
    Status.UNKNOWN: "no solution was found within the time limit",
}


def build_report(instance: Instance, solution: Any, label: str | None = None, baseline: Any = None) -> Report:
    """Tables and charts of a solution (a solution document or a SolveResult) of `instance`, named
    `label` (by default the instance's name, as ``allocator solve --report`` names it); a re-plan
    with its `baseline` (a solution document or result), whose report shows what changed: a
    table, and each changed task's rotation chart before (:func:`before_chart_name`) and after.

    Raises :class:`~allocator.errors.InputError` if the solution belongs to another instance, or
    is a re-plan without its baseline; the :class:`~allocator.errors.InputWarning` of a plan made
    for other data is shown in the report and issued to the caller too."""
    label = instance.name if label is None else label
    document = solution.to_json() if hasattr(solution, "to_json") else solution
    base_document = baseline.to_json() if hasattr(baseline, "to_json") else baseline
    parsed, verdict, warned = _judged(instance, document, label, base_document)
    tables = plan_tables(instance, parsed)
    colours = charts.nation_colours(instance, tables)
    images = {chart_name(t.id): charts.rotation_chart(instance, t, tables, colours) for t in instance.tasks}
    images["leads.png"] = charts.lead_chart(instance, tables, colours)
    images["coverage.png"] = charts.coverage_chart(tables, instance)
    images["personnel.png"] = charts.personnel_heatmap(tables)
    images["burden.png"] = charts.burden_chart(tables, instance.spec.fairness, colours)
    violations = tuple(str(v) for v in verdict.violations)
    objectives = dict(verdict.objectives)
    report = Report(instance, parsed, document, tables, images, violations, label, objectives, warned)
    if base_document is None or parsed.replan is None:
        return report
    base = parse_solution(base_document, "<baseline>")
    start = parsed.replan.start
    changes = change_table(instance, parsed, base, start)
    report = dataclasses.replace(report, baseline=base, start=start, changes=changes)
    before = plan_tables(instance, _known(instance, base))
    for task in instance.tasks:
        if task.id in report.changed_tasks:
            images[before_chart_name(task.id)] = charts.rotation_chart(instance, task, before, colours)
    return report


def before_chart_name(task_id: str) -> str:
    """The file name of a task's rotation chart in the baseline of a re-plan,
    ``rotation-<stem>-before.png``: no task's own chart ends so."""
    return f"rotation-{chart_stem(task_id)}-before.png"


def _known(instance: Instance, baseline: Solution) -> Solution:
    """The baseline's tours and leads of offers, tasks and nations still in the instance."""
    offers, tasks, nations = (
        {x.id for x in xs} for xs in (instance.offers, instance.tasks, instance.nations)
    )
    tours = tuple(t for t in baseline.tours if t.offer in offers and t.task in tasks)
    terms = tuple(t for t in baseline.terms if t.task in tasks and t.nation in nations)
    return dataclasses.replace(baseline, tours=tours, terms=terms)


def _judged(
    instance: Instance, document: Any, label: str, baseline: Any = None
) -> tuple[Solution, CheckReport, tuple[str, ...]]:
    """The parsed solution, the checker's verdict and the texts of the input warnings issued on the
    way, which are issued again to the caller."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)  # recorded even if issued before
        parsed = require_same_instance(instance, document, label)  # a plan of another instance: refused
        verdict = check(instance, document, label, baseline=baseline)
    for warning in caught:
        if issubclass(warning.category, InputWarning):
            warnings.warn(warning.message, stacklevel=3)  # from the caller of build_report
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    texts = [str(w.message) for w in caught if issubclass(w.category, InputWarning)]
    return parsed, verdict, tuple(dict.fromkeys(texts))
