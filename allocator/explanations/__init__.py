"""Explanations (SPEC v2 section 6, ``docs/explanations.md``): why an instance is infeasible,
why a task stays short, and what makes up each objective.

- infeasible: a conflict of rule instances (minimal when proven) and relaxations, each said as a
  change to the data (:mod:`allocator.explanations.conflict`, :mod:`allocator.explanations.changes`);
- a plan with shortfalls: per run of short periods, why each offer does not serve there
  (:mod:`allocator.explanations.shortfalls`);
- every objective split into its parts (:mod:`allocator.explanations.breakdown`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allocator.checker import evaluate, require_same_instance
from allocator.checker.solution import UnitTour
from allocator.errors import InputError, Problem
from allocator.explanations.breakdown import breakdown, tour_counts
from allocator.explanations.changes import Change, apply_changes, changes_for, read_document
from allocator.explanations.conflict import find_conflict, find_relaxations
from allocator.explanations.model import RelaxableModel, family
from allocator.explanations.projection import find_period_conflict
from allocator.explanations.reasons import Facts
from allocator.explanations.shortfalls import explain_shortfalls
from allocator.explanations.words import says
from allocator.files import load_document, write_atomic
from allocator.instance.index import Index
from allocator.instance.leads import lead_instance
from allocator.instance.load import load_instance
from allocator.instance.model import Instance
from allocator.options import ProgressCallback, Status, StopToken
from allocator.solution.plan import Assignment, deployed, shortfalls

__all__ = [
    "Change",
    "Explanation",
    "apply_changes",
    "explain",
    "explain_infeasible",
    "explain_plan",
    "plan_of_solution",
    "read_document",
]

log = logging.getLogger(__name__)

#: The default time limit of an explanation, seconds.
DEFAULT_SECONDS = 60.0
#: The share of an infeasible instance's time the conflict may take (the relaxations get the rest).
CONFLICT_SHARE = 0.8
#: The share of an infeasible instance's time the periods' projections may take, first.
PERIOD_SHARE = 0.2
#: The share of the time a solve gets when `explain` is given no plan.
SOLVE_SHARE = 0.5
#: The share of an infeasible instance's explaining time its leads alone get first.
LEADS_SHARE = 0.4


@dataclass(frozen=True)
class Item:
    """A rule instance in an explanation: its name, its rule, a sentence; in a relaxation, the
    change to the data that drops it."""

    name: str
    rule: str
    text: str
    change: Change | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "rule": self.rule, "text": self.text}
        if self.change is not None:
            out["change"] = self.change.to_json()
        return out


@dataclass
class Explanation:
    """What :func:`explain` returns; ``to_json()`` is the document ``allocator explain -o`` writes."""

    instance: str
    status: Status
    conflict: tuple[Item, ...] = ()
    minimal: bool = False
    relaxations: list[tuple[Item, ...]] = field(default_factory=list)
    smallest: list[bool] = field(default_factory=list)
    shortfalls: list[dict[str, Any]] = field(default_factory=list)
    breakdown: dict[str, Any] | None = None
    wall_time: float = 0.0
    #: seconds until the conflict was in hand (model building included)
    conflict_time: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"instance": self.instance, "status": str(self.status)}
        if self.conflict:
            out["conflict"] = {"minimal": self.minimal, "items": [i.to_json() for i in self.conflict]}
        if self.relaxations:
            out["relaxations"] = [[i.to_json() for i in r] for r in self.relaxations]
            out["relaxations_smallest"] = self.smallest
        if self.status.has_plan:
            out["shortfalls"] = self.shortfalls
        if self.breakdown is not None:
            out["breakdown"] = self.breakdown
        out["wall_time"] = round(self.wall_time, 3)
        if self.conflict_time is not None:
            out["conflict_time"] = round(self.conflict_time, 3)
        return out

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2) + "\n"

    def write(self, path: str | Path) -> None:
        """Write the explanation JSON atomically."""
        write_atomic(path, self.dumps())


def explain(
    instance: Instance | str | Path,
    solution: Any = None,
    *,
    time_limit: float | None = DEFAULT_SECONDS,
    threads: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    stop: StopToken | None = None,
) -> Explanation:
    """Explain an instance (or the file it is in), and the plan of `solution`: a
    :class:`SolveResult`, a solution document (a dict) or its file.

    A solution without a plan, or none at all, and the instance is solved first (half the time;
    `progress` and `stop` as in :func:`allocator.solve`, for that solve); if that ends infeasible
    (or without a plan), the explanation looks for a conflict and relaxations in the time left,
    unless `stop` was stopped (status `unknown` then).
    :class:`InputError` when the solution belongs to another instance or breaks a rule.
    """
    from allocator.api import solve  # the solver sits above explanations in the layers

    started = time.perf_counter()
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    seconds = DEFAULT_SECONDS if time_limit is None else time_limit
    plan, status = None, Status.UNKNOWN
    if solution is not None:
        if isinstance(solution, str | Path):
            document, label = load_document(solution)
        else:
            document = solution.to_json() if hasattr(solution, "to_json") else solution
            label = "<solution>"
        plan, status = plan_of_solution(instance, document, label)
    if plan is None:  # a claim of infeasibility is checked, not trusted
        result = solve(
            instance,
            time_limit=SOLVE_SHARE * seconds,
            threads=threads,
            seed=seed,
            progress=progress,
            stop=stop,
        )
        status = Status(result.status)
        plan = list(result.assignments) if result.has_plan else None
    if plan is None and stop is not None and stop.stopped:  # stopped without a plan: no conflict sought
        out = Explanation(instance.name, Status.UNKNOWN)
    elif plan is None:
        left = max(seconds - (time.perf_counter() - started), 0.1 * seconds)
        out = explain_infeasible(instance, left, threads=threads, seed=seed)
        if out.status == Status.FEASIBLE:  # the rules can hold, but no plan came in time
            out.status = Status.UNKNOWN
    else:
        out = explain_plan(instance, plan, status)
    out.wall_time = time.perf_counter() - started
    return out


def plan_of_solution(instance: Instance, document: Any, label: str) -> tuple[list[Assignment] | None, Status]:
    """The plan of a solution document and its status; :class:`InputError` (bad input) when the
    document belongs to another instance or its plan breaks a rule (an explanation of a broken
    plan would mislead)."""
    parsed = require_same_instance(instance, document, label)
    status = Status(parsed.status)
    if not parsed.has_plan:
        return None, status
    broken = [v for v in evaluate(instance, parsed).violations if v.rule != "report"]
    if broken:  # (wrong objectives or shortfalls written in the file do not matter here)
        first = broken[0]
        raise InputError(
            label,
            [
                Problem(
                    "assignments",
                    f"the plan breaks {len(broken)} rule(s), first {first} (see allocator check)",
                )
            ],
        )
    return plan_of_tours(parsed.tours), status


def plan_of_tours(tours: Iterable[UnitTour]) -> list[Assignment]:
    """A parsed solution's tours as the plan an explanation reads."""
    return [Assignment(t.offer, t.unit, t.task, t.start, t.end) for t in tours]


def explain_plan(instance: Instance, plan: list[Assignment], status: Status) -> Explanation:
    """Shortfall reasons and the breakdown of a plan."""
    index = Index.of(instance)
    gaps = shortfalls(index, deployed(index, tour_counts(index, plan)))
    facts = Facts(instance, plan)
    return Explanation(
        instance.name,
        status,
        shortfalls=explain_shortfalls(facts, gaps),
        breakdown=breakdown(instance, plan),
    )


def _said(name: str, facts: Facts) -> str:
    """A rule instance in words, or its name alone when wording it fails (a fault of ours): a
    conflict found is never lost to one of its sentences."""
    try:
        return says(name, facts)
    except Exception:
        log.warning("could not word %s", name, exc_info=True)
        return f"{name} (could not be worded)"


def explain_infeasible(
    instance: Instance, seconds: float, *, threads: int | None = None, seed: int = 0
) -> Explanation:
    """A conflict and relaxations of an instance's hard rules; status `unknown` when neither an
    infeasibility nor a plan is proven in time, `feasible` when the rules can all hold.

    With soft demand, the leads alone (:func:`~allocator.instance.leads.lead_instance`, a model a
    fraction of the size) are explained first, in LEADS_SHARE of the time: where they cannot all
    be given, their conflict and relaxations are the whole instance's."""
    started = time.perf_counter()
    leads = lead_instance(instance) if instance.spec.shortfall == "soft" else None
    if leads is not None:
        out = _explain_infeasible(leads, LEADS_SHARE * seconds, threads, seed)
        log.info("explain: the leads alone are %s", out.status)
        if out.status == Status.INFEASIBLE:
            return _of_the_whole(out, leads, instance)
    left = seconds - (time.perf_counter() - started)
    return _explain_infeasible(instance, max(left, 0.5 * seconds), threads, seed)


def _of_the_whole(out: Explanation, part: Instance, whole: Instance) -> Explanation:
    """An explanation of `part` (offers and tasks of `whole`, fewer) as one of `whole`: its name,
    and its changes' paths with the whole's positions of offers and tasks."""
    positions = {
        "offers": {k: [o.id for o in whole.offers].index(o.id) for k, o in enumerate(part.offers)},
        "tasks": {k: [t.id for t in whole.tasks].index(t.id) for k, t in enumerate(part.tasks)},
    }

    def path(text: str) -> str:
        return re.sub(r"^(offers|tasks)\[(\d+)\]", lambda m: f"{m[1]}[{positions[m[1]][int(m[2])]}]", text)

    def item(i: Item) -> Item:
        change = i.change
        if change is not None and change.path:
            change = dataclasses.replace(change, path=path(change.path))
        return dataclasses.replace(i, change=change)

    out.instance = whole.name
    out.relaxations = [tuple(item(i) for i in relaxation) for relaxation in out.relaxations]
    return out


def _explain_infeasible(instance: Instance, seconds: float, threads: int | None, seed: int) -> Explanation:
    started = time.perf_counter()
    conflict = find_period_conflict(instance, seconds * PERIOD_SHARE, seed=seed, threads=threads)
    model = RelaxableModel(instance, seed=seed, threads=threads)
    facts = Facts(instance)
    if conflict is None:
        conflict = find_conflict(model, seconds * CONFLICT_SHARE - (time.perf_counter() - started))
    if conflict is None:
        answer = model.check(model.names, max(seconds - (time.perf_counter() - started), 0.01))
        found = Status.FEASIBLE if answer.status == Status.FEASIBLE else Status.UNKNOWN
        return Explanation(instance.name, found)
    items = tuple(Item(name, family(name), _said(name, facts)) for name in conflict.names)
    left = max(seconds - (time.perf_counter() - started), 0.05 * seconds)
    out = Explanation(instance.name, Status.INFEASIBLE, items, conflict.minimal)
    out.conflict_time = time.perf_counter() - started
    deadline = time.perf_counter() + left
    for relaxation in find_relaxations(model, 0.7 * left):
        spare = (deadline - time.perf_counter()) / 2
        values = model.least_excess(relaxation.names, spare) if spare > 0.05 else None
        changes = changes_for(model, facts, relaxation.names, values or relaxation.values)
        out.relaxations.append(
            tuple(Item(name, family(name), changes[name].text, changes[name]) for name in relaxation.names)
        )
        out.smallest.append(relaxation.smallest)
    out.wall_time = time.perf_counter() - started
    return out
