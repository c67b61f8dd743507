"""Brute force over every plan of a tiny instance, judged by the checker alone.

Independent of both model builders: a unit's schedules are enumerated period by period (a task or
idle in each period), kept when the checker's unit rules accept them on their own, combined across
units (identical units of an offer as multisets: their numbering changes no objective) and lead
choices, and every combination the whole checker accepts is a valid plan.

A re-plan (a `baseline` solution document and its first planned period) is judged by the checker
with its baseline: the units of a combination are numbered as the baseline's history has them.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import allocator
from allocator.checker.rules import CHECKS, Facts, recompute_objectives
from allocator.checker.solution import parse_solution
from allocator.instance.index import Index

#: Rules that judge each unit on its own: a unit's schedule breaking one is never part of a plan.
UNIT_RULES = ("reference", "placement", "caveat", "tour-length", "unit-capacity")
PLAN_RULES = tuple(rule for rule in CHECKS if rule != "report")

Tours = tuple[tuple[str, int, int], ...]


class TooMany(Exception):
    """More combinations than the brute force is allowed to try."""


def runs(schedule: tuple[str | None, ...]) -> Tours:
    """A unit's period-by-period schedule as tours (task, start, end)."""
    out: list[tuple[str, int, int]] = []
    for p, task in enumerate(schedule, start=1):
        if task is None:
            continue
        if out and out[-1][0] == task and out[-1][2] == p - 1:
            out[-1] = (task, out[-1][1], p)
        else:
            out.append((task, p, p))
    return tuple(out)


def _assignments(offer: str, unit: int, tours: Tours) -> list[dict[str, Any]]:
    return [{"offer": offer, "unit": unit, "task": t, "start": s, "end": e} for t, s, e in tours]


@dataclass(frozen=True)
class Replan:
    """A re-plan's baseline (a solution document) and its first planned period."""

    baseline: dict[str, Any]
    start: int

    def record(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {**doc, "replan": {"baseline": "baseline", "from": self.start}}

    def history(self, offer: str) -> list[Tours]:
        """The history (tours cut at start - 1) of each baseline unit of `offer`, by unit number."""
        units: dict[int, list[tuple[str, int, int]]] = {}
        for a in self.baseline["assignments"]:
            if a["offer"] == offer and a["start"] < self.start:
                units.setdefault(a["unit"], []).append((a["task"], a["start"], min(a["end"], self.start - 1)))
        return [tuple(sorted(units.get(u, []))) for u in range(1, max(units, default=0) + 1)]


def _broken(
    instance: allocator.Instance, doc: dict[str, Any], rules: tuple[str, ...], replan: Replan | None = None
) -> bool:
    if replan is None:
        facts = Facts(instance, parse_solution(doc, "<brute>"))
    else:
        baseline = parse_solution(replan.baseline, "<baseline>")
        facts = Facts(instance, parse_solution(replan.record(doc), "<brute>"), baseline)
    return any(CHECKS[rule](facts) for rule in rules)


def unit_schedules(instance: allocator.Instance, offer: str, replan: Replan | None = None) -> list[Tours]:
    """Every schedule of one unit of `offer` that the unit rules accept (the idle one included)."""
    choices = [None, *[t.id for t in instance.tasks]]
    out = set()
    for schedule in itertools.product(choices, repeat=instance.periods):
        tours = runs(schedule)
        doc = {"status": "feasible", "assignments": _assignments(offer, 1, tours), "leads": []}
        if not _broken(instance, doc, UNIT_RULES, replan):
            out.add(tours)
    return sorted(out)


def lead_choices(instance: allocator.Instance, replan: Replan | None = None) -> list[list[dict[str, Any]]]:
    """Every assignment of a lead nation to every term of every task with a lead; in a re-plan,
    the baseline's leads before its start, and a choice for the rest of every term."""
    per_task = []
    start = 1 if replan is None else replan.start
    if replan is not None:
        history = [
            {**term, "end": min(term["end"], start - 1)}
            for term in replan.baseline["leads"]
            if term["start"] < start
        ]
        per_task.append([history])
    for t, task in enumerate(instance.tasks):
        if task.lead is None:
            continue
        terms = [(max(s, start), e) for s, e in Index.of(instance).terms[t] if e >= start]
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


def _offer_plans(
    instance: allocator.Instance, replan: Replan | None = None
) -> list[list[list[dict[str, Any]]]]:
    """Per offer, every multiset of unit schedules, as assignment lists (units numbered 1..n; in a
    re-plan, as the baseline's history numbers them, combinations whose history differs left out)."""
    out = []
    for offer in instance.offers:
        schedules = unit_schedules(instance, offer.id, replan)
        plans = []
        for combo in itertools.combinations_with_replacement(schedules, offer.units):
            numbered = (
                list(combo) if replan is None else _numbered(combo, replan.history(offer.id), replan.start)
            )
            if numbered is not None:
                plans.append(
                    [
                        a
                        for unit, tours in enumerate(numbered, start=1)
                        for a in _assignments(offer.id, unit, tours)
                    ]
                )
        out.append(plans)
    return out


def _numbered(combo: tuple[Tours, ...], history: list[Tours], start: int) -> list[Tours] | None:
    """The schedules in unit order, each unit's history as the baseline's; None when none fits."""
    left = list(combo)
    out: list[Tours] = []
    for unit in range(len(combo)):
        want = history[unit] if unit < len(history) else ()
        match = next((s for s in left if _cut(s, start) == want), None)
        if match is None:
            return None
        left.remove(match)
        out.append(match)
    return out


def _cut(tours: Tours, start: int) -> Tours:
    return tuple(sorted((t, s, min(e, start - 1)) for t, s, e in tours if s < start))


def plan_count(instance: allocator.Instance, replan: Replan | None = None) -> int:
    """How many combinations the brute force would try."""
    count = len(lead_choices(instance, replan))
    for offer in instance.offers:
        schedules = len(unit_schedules(instance, offer.id, replan))
        count *= math.comb(schedules + offer.units - 1, offer.units)
    return count


def valid_plans(
    instance: allocator.Instance, limit: int, replan: Replan | None = None
) -> Iterator[dict[str, Any]]:
    """Every plan the checker accepts, as a solution document; TooMany past `limit` combinations."""
    if plan_count(instance, replan) > limit:
        raise TooMany
    leads = lead_choices(instance, replan)
    for parts in itertools.product(*_offer_plans(instance, replan)):
        assignments = [a for part in parts for a in part]
        for lead_terms in leads:
            doc = {"status": "feasible", "assignments": assignments, "leads": lead_terms}
            if not _broken(instance, doc, PLAN_RULES, replan):
                yield doc


@dataclass(frozen=True)
class Optimum:
    """The lexicographic optimum of an instance's levels, and how many plans were valid."""

    vector: tuple[float, ...] | None
    valid: int
    distinct: int  # distinct objective vectors among the valid plans


def brute_force(instance: allocator.Instance, limit: int, replan: Replan | None = None) -> Optimum:
    vectors = []
    baseline = None if replan is None else parse_solution(replan.baseline, "<baseline>")
    for doc in valid_plans(instance, limit, replan):
        solution = parse_solution(doc if replan is None else replan.record(doc), "<brute>")
        objectives = recompute_objectives(Facts(instance, solution, baseline))
        vectors.append(
            tuple(round(sum(w * objectives[n] for n, w in level), 6) for level in instance.spec.levels)
        )
    return Optimum(min(vectors) if vectors else None, len(vectors), len(set(vectors)))
