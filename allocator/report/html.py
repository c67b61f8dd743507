"""The report as one self-contained HTML page (charts embedded as data URIs, CSS inline, no script)."""

from __future__ import annotations

import base64
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from allocator.options import Status
from allocator.report.charts import MEASURE_LABELS, chart_name, nation_colours, signed
from allocator.report.document import before_chart_name
from allocator.solution.summary import MEASURES

if TYPE_CHECKING:
    from allocator.report.document import Report

DOMAIN_ORDER = ("command", "air", "maritime", "training")
#: Parts of each objective shown in the "why" section (largest first).
WHY_PARTS = 10


def number(value: Any) -> str:
    """A number as the page prints it: thousands separators, whole values without decimals, others
    with at most two (17, 17.5, 0.33); anything else as text, a missing value as ''."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        return "" if value is None else str(value)
    if np.isnan(value):
        return ""
    rounded = round(float(value), 2) + 0.0  # + 0.0: no '-0'
    return f"{rounded:,.2f}".rstrip("0").rstrip(".")


def _table(frame: pd.DataFrame) -> str:
    numeric = frame.select_dtypes("number").columns
    shown = frame.assign(**{str(c): frame[c].map(number) for c in numeric})
    return shown.to_html(index=False, border=0, classes="data", na_rep="")


def nation_key(report: Report) -> list[dict[str, str]]:
    """Every nation of the report in id order: id, name and its colour in every chart."""
    names = {n.id: n.label for n in report.instance.nations}
    colours = nation_colours(report.instance, report.tables)
    return [{"id": n, "name": names.get(n, n), "colour": colour} for n, colour in colours.items()]


def _burden(report: Report) -> dict[str, Any]:
    """The burden table: a column group per measure (burden, fair share, difference), a row per nation."""
    frame = report.tables.burden
    names = {n.id: n.label for n in report.instance.nations}
    fairness = report.instance.spec.fairness
    rows = [
        {
            "nation": row["nation"],
            "name": names.get(row["nation"], row["nation"]),
            "share": number(row["share"]),
            "cells": [
                text
                for m in MEASURES
                for text in (number(row[m]), number(row[f"{m}_fair_share"]), signed(row[f"{m}_difference"]))
            ],
        }
        for row in frame.to_dict("records")
    ]
    measures = [
        {"name": m, "unit": MEASURE_LABELS[m] if MEASURE_LABELS[m] != m else "", "model": m == fairness}
        for m in MEASURES
    ]
    return {"measures": measures, "rows": rows}


def embedded(data: bytes) -> str:
    """PNG bytes as the base64 text of a data URI."""
    return base64.b64encode(data).decode("ascii")


def _rotations(report: Report) -> list[tuple[str, list[dict[str, str]]]]:
    capability_domain = {c.id: c.domain for c in report.instance.capabilities}
    groups: dict[str, list[dict[str, str]]] = {}
    for task in report.instance.tasks:
        domain = task.domain or capability_domain.get(task.requirements[0].capability, "other")
        name = chart_name(task.id)
        groups.setdefault(domain, []).append(
            {"task": task.id, "file": name, "data": embedded(report.charts[name])}
        )
    ordered = sorted(
        groups, key=lambda d: (DOMAIN_ORDER.index(d) if d in DOMAIN_ORDER else len(DOMAIN_ORDER), d)
    )
    return [(domain.capitalize(), groups[domain]) for domain in ordered]


def _coverage(report: Report) -> list[dict[str, Any]]:
    """The deployed / required table: a row per task and capability, and per task with min_nations
    a '(nations)' row (nations deployed / min_nations); short cells red, surplus cells amber."""
    tables = report.tables
    rows = []
    keys: list[tuple[str, str]] = tables.coverage_required.index.to_list()
    for (task, capability), required, deployed, surplus in zip(
        keys,
        tables.coverage_required.to_numpy(),
        tables.coverage_deployed.to_numpy(),
        tables.surplus,
        strict=True,
    ):
        cells = []
        for need, have, extra in zip(required.tolist(), deployed.tolist(), surplus.tolist(), strict=True):
            css = "surplus" if extra else "short" if have < need else "ok" if need > 0 else ""
            text = f"{have}/{int(need)}" if need > 0 or have else ""
            cells.append({"text": text, "css": css})
        rows.append({"task": task, "capability": capability, "cells": cells})
    return rows


STATUS_CLASSES: dict[str, str] = {Status.OPTIMAL: "status-optimal", Status.FEASIBLE: "status-feasible"}


def _objectives(report: Report) -> list[dict[str, str]]:
    """The summary's objective cards: the recomputed value, and the claim where the file differs."""
    claimed = report.claimed_objectives
    return [
        {"name": name, "value": number(value), "claimed": number(claimed[name]) if name in claimed else ""}
        for name, value in report.shown_objectives.items()
    ]


def _why(report: Report) -> dict[str, Any] | None:
    """The "why" section: each run of short periods with every offer's reason, and the parts of
    every objective (largest first); None without a verified plan."""
    why = report.explanation
    if why is None:
        return None
    parts = []
    for name, rows in (why.breakdown or {}).items():
        if rows:
            frame = pd.DataFrame(rows[:WHY_PARTS]).rename(columns=lambda c: c.replace("_", " "))
            parts.append(
                {"name": name, "table": Markup(_table(frame)), "more": max(len(rows) - WHY_PARTS, 0)}
            )
    return {"shortfalls": why.shortfalls, "parts": parts}


def _changes(report: Report) -> dict[str, Any] | None:
    """A re-plan's "what changed" section: the table, and each changed task's rotation chart
    before and after; None for a plan that is no re-plan."""
    if report.changes is None:
        return None
    tasks = [
        {
            "task": task,
            "before": embedded(report.charts[before_chart_name(task)]),
            "after": embedded(report.charts[chart_name(task)]),
            "file": before_chart_name(task),
        }
        for task in report.changed_tasks
    ]
    table = Markup(_table(report.changes)) if not report.changes.empty else None
    label = report.tables.labels[(report.start or 1) - 1]
    return {"table": table, "tasks": tasks, "start": label, "total": number(report.objectives.get("changes"))}


def render_html(report: Report) -> str:
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = environment.from_string(
        resources.files("allocator.report").joinpath("report.html.j2").read_text()
    )
    verified = not report.violations
    tables = report.tables
    leads = tables.leads.drop(columns=["start", "end"]) if not tables.leads.empty else None
    return template.render(
        instance=report.instance,
        labels=tables.labels,
        solution_caption=report.caption,
        status=report.status_text,
        status_class=STATUS_CLASSES.get(report.solution.status, "status-bad") if verified else "status-bad",
        objectives=_objectives(report),
        bounds=[(k, number(v)) for k, v in report.bounds.items()],
        tours=len(tables.assignments) if "deployments" not in report.shown_objectives else None,
        nations=nation_key(report),
        verified=verified,
        no_plan=report.no_plan,
        violations=report.violations,
        warnings=report.warnings,
        leads=Markup(_table(leads)) if leads is not None else None,
        rotations=_rotations(report),
        coverage=_coverage(report),
        shortfalls=Markup(_table(tables.shortfalls)) if not tables.shortfalls.empty else None,
        fairness=report.instance.spec.fairness,
        burden_chart=embedded(report.charts["burden.png"]),
        burden=_burden(report),
        heatmap=embedded(report.charts["personnel.png"]),
        lead_chart=embedded(report.charts["leads.png"]),
        coverage_chart=embedded(report.charts["coverage.png"]),
        assignments=Markup(_table(tables.assignments)),
        why=_why(report),
        changes=_changes(report),
    )
