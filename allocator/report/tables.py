"""The plan as tables (pandas), computed from the instance and a solution's assignments.

Every number here is recomputed from the assignments and leads; nothing is taken from the
solver's own summary, so a report of any SPEC solution file says what that plan does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.checker.solution import Solution
from allocator.instance import Instance
from allocator.summary import assignments_table, burdens, period_labels


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table as plain dicts."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


@dataclass(frozen=True)
class PlanTables:
    """Every table of a report."""

    assignments: pd.DataFrame
    leads: pd.DataFrame
    required: pd.DataFrame  # index (task, capability), columns periods 1..T
    deployed: pd.DataFrame  # same shape
    shortfalls: pd.DataFrame
    burden: pd.DataFrame
    personnel: pd.DataFrame  # index nation, columns periods: personnel deployed
    labels: list[str]

    @property
    def coverage(self) -> pd.DataFrame:
        """'deployed / required' per (task, capability) and period ('' where nothing is required)."""
        text = self.deployed.astype(int).astype(str) + " / " + self.required.astype(int).astype(str)
        return text.where(self.required > 0, "")


def plan_tables(instance: Instance, solution: Solution) -> PlanTables:
    labels = period_labels(instance)
    assignments = _assignments(instance, solution)
    required, deployed = _coverage(instance, assignments)
    return PlanTables(
        assignments=assignments,
        leads=_leads(instance, solution, labels),
        required=required,
        deployed=deployed,
        shortfalls=_shortfalls(instance, assignments, required, deployed),
        burden=_burden(instance, assignments),
        personnel=_personnel(instance, assignments),
        labels=labels,
    )


def _assignments(instance: Instance, solution: Solution) -> pd.DataFrame:
    """Tours that fit the instance (the checker reports the others), in task order."""
    return _in_task_order(instance, assignments_table(instance, solution.tours), ["start", "offer", "unit"])


def _in_task_order(instance: Instance, frame: pd.DataFrame, then: list[str]) -> pd.DataFrame:
    """Rows sorted by task in the instance's order, then by `then`."""
    order = {t.id: i for i, t in enumerate(instance.tasks)}
    key = frame["task"].map(order).fillna(len(order))
    return (
        frame.assign(_order=key)
        .sort_values(["_order", *then], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _leads(instance: Instance, solution: Solution, labels: list[str]) -> pd.DataFrame:
    rows = [
        {
            "task": term.task,
            "nation": term.nation,
            "start": term.start,
            "end": term.end,
            "from": labels[term.start - 1] if 1 <= term.start <= len(labels) else "",
            "to": labels[term.end - 1] if 1 <= term.end <= len(labels) else "",
        }
        for term in solution.terms
    ]
    frame = pd.DataFrame(rows, columns=["task", "nation", "start", "end", "from", "to"])
    return _in_task_order(instance, frame, ["start"])


def _coverage(instance: Instance, assignments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    T = instance.periods
    keys = []
    need: dict[tuple[str, str], np.ndarray] = {}
    for task in instance.tasks:
        lo, hi = task.active or (1, T)
        for req in task.requirements:
            key = (task.id, req.capability)
            if key not in need:
                keys.append(key)
                need[key] = np.zeros(T, dtype=np.int64)
            first, last = req.periods or (lo, hi)
            need[key][max(first, lo) - 1 : min(last, hi)] += req.units
    have = {key: np.zeros(T, dtype=np.int64) for key in keys}
    for a in records(assignments):
        key = (a["task"], a["capability"])
        if key in have:
            have[key][a["start"] - 1 : a["end"]] += 1
    index = pd.MultiIndex.from_tuples(keys, names=["task", "capability"])
    columns = pd.RangeIndex(1, T + 1, name="period")
    required = pd.DataFrame([need[k] for k in keys], index=index, columns=columns)
    deployed = pd.DataFrame([have[k] for k in keys], index=index, columns=columns)
    return required, deployed


def _shortfalls(
    instance: Instance, assignments: pd.DataFrame, required: pd.DataFrame, deployed: pd.DataFrame
) -> pd.DataFrame:
    """Missing units per (task, capability, period) and missing nations per (task, period)."""
    rows = []
    missing = (required - deployed).clip(lower=0).to_numpy()
    keys: list[tuple[str, str]] = required.index.to_list()
    for (task_id, capability), row in zip(keys, missing, strict=True):
        for j in np.flatnonzero(row):
            rows.append({"task": task_id, "what": capability, "period": int(j) + 1, "missing": int(row[j])})
    for task in instance.tasks:
        if not task.min_nations:
            continue
        lo, hi = task.active or (1, instance.periods)
        on_task = assignments[assignments["task"] == task.id]
        for period in range(lo, hi + 1):
            here = on_task[(on_task["start"] <= period) & (on_task["end"] >= period)]
            short = task.min_nations - here["nation"].nunique()
            if short > 0:
                rows.append({"task": task.id, "what": "(nations)", "period": period, "missing": short})
    frame = pd.DataFrame(rows, columns=["task", "what", "period", "missing"])
    return _in_task_order(instance, frame, ["what", "period"])


def _burden(instance: Instance, assignments: pd.DataFrame) -> pd.DataFrame:
    """Per nation and measure: burden, fair share = share / total share x total burden, difference."""
    return burdens(instance, zip(assignments["offer"], assignments["periods"], strict=True))


def _personnel(instance: Instance, assignments: pd.DataFrame) -> pd.DataFrame:
    T = instance.periods
    grid = pd.DataFrame(
        0.0, index=pd.Index([n.id for n in instance.nations], name="nation"), columns=range(1, T + 1)
    )
    for a in records(assignments):
        grid.loc[a["nation"], a["start"] : a["end"]] += a["personnel"]
    return grid
