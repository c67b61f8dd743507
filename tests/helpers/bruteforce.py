"""Brute force over every plan of a tiny instance, judged by the checker alone.

Independent of both model builders: a unit's schedules are enumerated period by period (a task or
idle in each period), kept when the checker's unit rules accept them on their own, combined across
units (identical units of an offer as multisets: their numbering changes no objective) and lead
choices, and every combination the whole checker accepts is a valid plan.
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


def _broken(instance: allocator.Instance, doc: dict[str, Any], rules: tuple[str, ...]) -> bool:
    facts = Facts(instance, parse_solution(doc, "<brute>"))
    return any(CHECKS[rule](facts) for rule in rules)


def unit_schedules(instance: allocator.Instance, offer: str) -> list[Tours]:
    """Every schedule of one unit of `offer` that the unit rules accept (the idle one included)."""
    choices = [None, *[t.id for t in instance.tasks]]
    out = set()
    for schedule in itertools.product(choices, repeat=instance.periods):
        tours = runs(schedule)
        doc = {"status": "feasible", "assignments": _assignments(offer, 1, tours), "leads": []}
        if not _broken(instance, doc, UNIT_RULES):
            out.add(tours)
    return sorted(out)


def lead_choices(instance: allocator.Instance) -> list[list[dict[str, Any]]]:
    """Every assignment of a lead nation to every term of every task with a lead."""
    per_task = []
    for t, task in enumerate(instance.tasks):
        if task.lead is None:
            continue
        terms = Index.of(instance).terms[t]
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


def _offer_plans(instance: allocator.Instance) -> list[list[list[dict[str, Any]]]]:
    """Per offer, every multiset of unit schedules, as assignment lists (units numbered 1..n)."""
    out = []
    for offer in instance.offers:
        schedules = unit_schedules(instance, offer.id)
        combos = itertools.combinations_with_replacement(schedules, offer.units)
        out.append(
            [
                [a for unit, tours in enumerate(combo, start=1) for a in _assignments(offer.id, unit, tours)]
                for combo in combos
            ]
        )
    return out


def plan_count(instance: allocator.Instance) -> int:
    """How many combinations the brute force would try."""
    count = len(lead_choices(instance))
    for offer in instance.offers:
        schedules = len(unit_schedules(instance, offer.id))
        count *= math.comb(schedules + offer.units - 1, offer.units)
    return count


def valid_plans(instance: allocator.Instance, limit: int) -> Iterator[dict[str, Any]]:
    """Every plan the checker accepts, as a solution document; TooMany past `limit` combinations."""
    if plan_count(instance) > limit:
        raise TooMany
    leads = lead_choices(instance)
    for parts in itertools.product(*_offer_plans(instance)):
        assignments = [a for part in parts for a in part]
        for lead_terms in leads:
            doc = {"status": "feasible", "assignments": assignments, "leads": lead_terms}
            if not _broken(instance, doc, PLAN_RULES):
                yield doc


@dataclass(frozen=True)
class Optimum:
    """The lexicographic optimum of an instance's levels, and how many plans were valid."""

    vector: tuple[float, ...] | None
    valid: int
    distinct: int  # distinct objective vectors among the valid plans


def brute_force(instance: allocator.Instance, limit: int) -> Optimum:
    vectors = []
    for doc in valid_plans(instance, limit):
        objectives = recompute_objectives(Facts(instance, parse_solution(doc, "<brute>")))
        vectors.append(
            tuple(round(sum(w * objectives[n] for n, w in level), 6) for level in instance.spec.levels)
        )
    return Optimum(min(vectors) if vectors else None, len(vectors), len(set(vectors)))
