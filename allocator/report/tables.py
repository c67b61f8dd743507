"""The plan as tables (pandas), computed from the instance and a solution's assignments.

Every number here is recomputed from the assignments and leads; nothing is taken from the
solver's own summary, so a report of any solution file says what that plan does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from allocator.checker.solution import Solution
from allocator.instance.model import Instance
from allocator.solution.summary import assignments_table, burden_frame, equal_runs, period_labels


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a table as plain dicts."""
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


#: The coverage row of a task's multinational minimum, and its `what` in the shortfalls table.
NATIONS = "(nations)"


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
    #: The coverage view: `required` with a (task, NATIONS) row after the rows of each task with
    #: min_nations (min_nations in the task's active periods), and `deployed` with the distinct
    #: nations deployed on the task in that row.
    coverage_required: pd.DataFrame
    coverage_deployed: pd.DataFrame

    @property
    def surplus(self) -> np.ndarray:
        """Per coverage row and period, whether more units serve than required (capability rows
        only: nations beyond a minimum are no surplus)."""
        required, deployed = self.coverage_required.to_numpy(), self.coverage_deployed.to_numpy()
        keys: list[tuple[str, str]] = self.coverage_required.index.to_list()
        units = np.array([what != NATIONS for _, what in keys], dtype=bool).reshape(-1, 1)
        return units & (deployed > required)

    @property
    def coverage(self) -> pd.DataFrame:
        """'deployed / required' per coverage row and period ('' where nothing is required)."""
        required, deployed = self.coverage_required, self.coverage_deployed
        text = deployed.astype(int).astype(str) + " / " + required.astype(int).astype(str)
        return text.where(required > 0, "")


def plan_tables(instance: Instance, solution: Solution) -> PlanTables:
    labels = period_labels(instance)
    assignments = _assignments(instance, solution)
    required, deployed = _coverage(instance, assignments)
    nations_required, nations_deployed = _nations(instance, assignments)
    return PlanTables(
        assignments=assignments,
        leads=_leads(instance, solution, labels),
        required=required,
        deployed=deployed,
        shortfalls=_shortfalls(instance, required, deployed, nations_required, nations_deployed),
        burden=_burden(instance, assignments),
        personnel=_personnel(instance, assignments),
        labels=labels,
        coverage_required=_by_task(required, nations_required),
        coverage_deployed=_by_task(deployed, nations_deployed),
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


def _nations(instance: Instance, assignments: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per task with min_nations, a (task, NATIONS) row: min_nations in its active periods, and the
    distinct nations with a unit on the task in each period."""
    T = instance.periods
    tasks = [task for task in instance.tasks if task.min_nations]
    need = np.zeros((len(tasks), T), dtype=np.int64)
    have = np.zeros((len(tasks), T), dtype=np.int64)
    for i, task in enumerate(tasks):
        lo, hi = task.active or (1, T)
        need[i, lo - 1 : hi] = task.min_nations
        on_task = assignments[assignments["task"] == task.id]
        present: dict[str, np.ndarray] = {}
        for nation, start, end in zip(on_task["nation"], on_task["start"], on_task["end"], strict=True):
            present.setdefault(nation, np.zeros(T, dtype=bool))[start - 1 : end] = True
        have[i] = np.sum(list(present.values()), axis=0) if present else 0
    index = pd.MultiIndex.from_tuples([(t.id, NATIONS) for t in tasks], names=["task", "capability"])
    columns = pd.RangeIndex(1, T + 1, name="period")
    return pd.DataFrame(need, index=index, columns=columns), pd.DataFrame(have, index=index, columns=columns)


def _by_task(by_capability: pd.DataFrame, by_nations: pd.DataFrame) -> pd.DataFrame:
    """The rows of both frames, each task's capability rows followed by its NATIONS row."""
    if by_nations.empty:
        return by_capability
    combined = pd.concat([by_capability, by_nations])
    tasks = combined.index.get_level_values("task")
    first = {task: i for i, task in reversed(list(enumerate(tasks)))}
    order = sorted(range(len(combined)), key=lambda i: first[tasks[i]])  # stable: capabilities first
    return combined.iloc[order]


def _shortfalls(
    instance: Instance,
    required: pd.DataFrame,
    deployed: pd.DataFrame,
    nations_required: pd.DataFrame,
    nations_deployed: pd.DataFrame,
) -> pd.DataFrame:
    """Missing units per (task, capability, period) and missing nations per (task, period)."""
    rows = []
    for need, have in ((required, deployed), (nations_required, nations_deployed)):
        missing = (need - have).clip(lower=0).to_numpy()
        keys: list[tuple[str, str]] = need.index.to_list()
        for (task_id, what), row in zip(keys, missing, strict=True):
            for j in np.flatnonzero(row):
                rows.append({"task": task_id, "what": what, "period": int(j) + 1, "missing": int(row[j])})
    frame = pd.DataFrame(rows, columns=["task", "what", "period", "missing"])
    return _in_task_order(instance, frame, ["what", "period"])


def _burden(instance: Instance, assignments: pd.DataFrame) -> pd.DataFrame:
    """Per nation and measure: burden, fair share = share / total share x total burden, difference."""
    return burden_frame(instance, zip(assignments["offer"], assignments["periods"], strict=True))


def _personnel(instance: Instance, assignments: pd.DataFrame) -> pd.DataFrame:
    T = instance.periods
    grid = pd.DataFrame(
        0.0, index=pd.Index([n.id for n in instance.nations], name="nation"), columns=range(1, T + 1)
    )
    for a in records(assignments):
        grid.loc[a["nation"], a["start"] : a["end"]] += a["personnel"]
    return grid


def change_table(instance: Instance, solution: Solution, baseline: Solution, start: int) -> pd.DataFrame:
    """What a re-plan changed against its baseline, recomputed from both plans' assignments: a row
    per run of consecutive periods (from `start` on) in which an offer's units on a task differ
    (`before`, `after`), and per run in which a task's lead differs (offer ``(lead)``)."""
    labels = period_labels(instance)
    nation_of = {o.id: o.nation for o in instance.offers}
    cells: dict[tuple[str, str], dict[int, tuple[object, object]]] = defaultdict(dict)
    before, after = _units_from(baseline, start), _units_from(solution, start)
    for offer, task, p in sorted(set(before) | set(after)):
        units = (before.get((offer, task, p), 0), after.get((offer, task, p), 0))
        if units[0] != units[1]:
            cells[task, offer][p] = units
    led_before, led_after = _leads_from(baseline, start), _leads_from(solution, start)
    for task, p in sorted(set(led_before) | set(led_after)):
        leads = (led_before.get((task, p)), led_after.get((task, p)))
        if leads[0] != leads[1]:
            cells[task, "(lead)"][p] = (leads[0] or "-", leads[1] or "-")
    rows = []
    for (task, offer), by_period in sorted(cells.items()):
        for first, last in equal_runs(by_period):
            was, now = by_period[first]
            rows.append(
                {
                    "task": task,
                    "offer": offer,
                    "nation": nation_of.get(offer, ""),
                    "from": labels[first - 1],
                    "to": labels[last - 1],
                    "periods": last - first + 1,
                    "before": was,
                    "after": now,
                }
            )
    columns = ["task", "offer", "nation", "from", "to", "periods", "before", "after"]
    return pd.DataFrame(rows, columns=columns)


def _units_from(solution: Solution, start: int) -> dict[tuple[str, str, int], int]:
    out: dict[tuple[str, str, int], int] = defaultdict(int)
    for tour in solution.tours:
        for p in range(max(tour.start, start), tour.end + 1):
            out[tour.offer, tour.task, p] += 1
    return dict(out)


def _leads_from(solution: Solution, start: int) -> dict[tuple[str, int], str]:
    return {(t.task, p): t.nation for t in solution.terms for p in range(max(t.start, start), t.end + 1)}
