"""Optimality against brute force: on tiny random instances, enumerate every unit-level plan,
keep those the checker accepts, and compare the lexicographic optimum with the solver's levels.

Independent of both model builders: plans are enumerated period by period and judged by the
checker alone.
"""

from __future__ import annotations

import functools
import itertools
import operator
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import allocator
from allocator.checker.rules import CHECKS, Facts, recompute_objectives
from allocator.checker.solution import parse_solution
from allocator.errors import InputError
from tests.strategies import instances

MAX_PLANS = 3000


def _runs(schedule: tuple[str | None, ...]) -> list[tuple[str, int, int]]:
    """A unit's period-by-period schedule as tours (task, start, end)."""
    out: list[tuple[str, int, int]] = []
    for p, task in enumerate(schedule, start=1):
        if task is None:
            continue
        if out and out[-1][0] == task and out[-1][2] == p - 1:
            out[-1] = (task, out[-1][1], p)
        else:
            out.append((task, p, p))
    return out


def _lead_choices(instance: allocator.Instance) -> list[list[dict[str, Any]]]:
    per_task = []
    for t, task in enumerate(instance.tasks):
        if task.lead is None:
            continue
        terms = instance.index.terms[t]
        options = itertools.product(sorted(task.lead.nations), repeat=len(terms))
        per_task.append(
            [
                [
                    {"task": task.id, "nation": n, "start": s, "end": e}
                    for n, (s, e) in zip(choice, terms, strict=True)
                ]
                for choice in options
            ]
        )
    return [functools.reduce(operator.iadd, combo, []) for combo in itertools.product(*per_task)]


def _level_value(objectives: dict[str, float], level: tuple[tuple[str, float], ...]) -> float:
    return sum(weight * objectives[name] for name, weight in level)


def brute_force(instance: allocator.Instance) -> tuple[float, ...] | None:
    """The lexicographic optimum of the instance's levels over every valid plan (None: no plan)."""
    units = [(o.id, u) for o in instance.offers for u in range(1, o.units + 1)]
    choices = [None, *[t.id for t in instance.tasks]]
    schedules = list(itertools.product(choices, repeat=instance.periods))
    leads = _lead_choices(instance)
    assume(len(schedules) ** len(units) * len(leads) <= MAX_PLANS)
    best: tuple[float, ...] | None = None
    for plan in itertools.product(schedules, repeat=len(units)):
        assignments = [
            {"offer": offer, "unit": u, "task": task, "start": s, "end": e}
            for (offer, u), schedule in zip(units, plan, strict=True)
            for task, s, e in _runs(schedule)
        ]
        for lead_terms in leads:
            doc = {"status": "feasible", "assignments": assignments, "leads": lead_terms}
            facts = Facts(instance, parse_solution(doc, "<brute>"))
            if any(fn(facts) for rule, fn in CHECKS.items() if rule != "report"):
                continue
            objectives = recompute_objectives(facts)
            vector = tuple(round(_level_value(objectives, lv), 6) for lv in instance.spec.levels)
            if best is None or vector < best:
                best = vector
    return best


@st.composite
def tiny_instances(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(instances())
    doc["horizon"]["periods"] = min(doc["horizon"]["periods"], draw(st.integers(1, 4)))
    periods = doc["horizon"]["periods"]
    doc["offers"] = doc["offers"][: draw(st.integers(1, 2))]
    for offer in doc["offers"]:
        offer["units"] = draw(st.integers(1, 2))
        if "available" in offer:
            offer["available"] = [min(x, periods) for x in offer["available"]]
    for task in doc["tasks"]:
        task["active"] = [min(x, periods) for x in task["active"]]
        for req in task["requirements"]:
            if "periods" in req:
                req["periods"] = [min(x, periods) for x in req["periods"]]
    return doc


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(doc=tiny_instances())
def test_levels_match_brute_force(backend: str, formulation: str, doc: dict[str, Any]) -> None:
    try:
        instance = allocator.build_instance(doc, "<tiny>")
    except InputError:
        assume(False)
        return
    expected = brute_force(instance)
    result = allocator.solve(instance, backend=backend, threads=1, time_limit=10, formulation=formulation)
    if expected is None:
        assert result.status == "infeasible"
        return
    assert result.status == "optimal"
    got = tuple(round(lv.value, 6) for lv in result.levels if lv.value is not None)
    assert got == expected, f"solver {got} != brute force {expected} for {doc}"
