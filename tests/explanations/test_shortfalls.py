"""Shortfall explanations: every reason checked against the plan and the data, on its own terms
(the offer really is unavailable, busy, resting, capped ...), here and not with the code that
gave it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator
from allocator.explanations import explain
from allocator.instance.model import Instance
from allocator.instance.parts import Offer, Task
from tests.helpers.instances import EXAMPLES, ROOT, build
from tests.helpers.strategies import instances


class Plan:
    """The plan's facts, counted here from its tours."""

    def __init__(self, instance: Instance, tours: list[dict[str, Any]]):
        self.instance = instance
        self.T = instance.periods
        self.offers = {o.id: o for o in instance.offers}
        self.tours = tours
        self.units: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        self.personnel: dict[tuple[str, int], float] = defaultdict(float)
        self.cost: dict[str, float] = defaultdict(float)
        self.nations_on: dict[tuple[str, int], set[str]] = defaultdict(set)
        for a in tours:
            offer = self.offers[a["offer"]]
            self.units[a["offer"], a["unit"]].append(a)
            for p in range(a["start"], a["end"] + 1):
                self.personnel[offer.nation, p] += offer.personnel
                self.cost[offer.nation] += offer.cost
                self.nations_on[a["task"], p].add(offer.nation)

    def may_serve(self, offer: Offer, task: Task, p: int) -> bool:
        lo, hi = task.active or (1, self.T)
        a, b = offer.available or (1, self.T)
        if offer.tasks is not None and task.id not in offer.tasks:
            return False
        needs = [r for r in task.requirements if r.capability == offer.capability and r.units > 0]
        inside = any((r.periods or (lo, hi))[0] <= p <= (r.periods or (lo, hi))[1] for r in needs)
        return lo <= p <= hi and a <= p <= b and inside

    def busy(self, offer: Offer, unit: int, p: int) -> bool:
        """Deployed at p, or within the rest that must separate its tours."""
        gap = max(1, offer.min_rest)
        return any(a["start"] - gap <= p <= a["end"] + gap for a in self.units[offer.id, unit])

    def a_tour_fits(self, offer: Offer, task: Task, p: int) -> bool:
        """Whether some unit could take a tour through p: free (with rest) around it, the offer
        may serve the task throughout, and the tour long enough (or ending in the last period)."""
        gap = max(1, offer.min_rest)
        for unit in range(1, offer.units + 1):
            tours = self.units[offer.id, unit]
            for a in range(1, p + 1):
                for b in range(p, self.T + 1):
                    length = b - a + 1
                    if offer.max_tour is not None and length > offer.max_tour:
                        continue
                    if length < offer.min_tour and b != self.T:
                        continue
                    if not all(self.may_serve(offer, task, q) for q in range(a, b + 1)):
                        continue
                    if all(t["end"] + gap < a or t["start"] - gap > b for t in tours):
                        return True
        return False


def verify(instance: Instance, plan: Plan, entry: dict[str, Any], reason: dict[str, Any]) -> None:
    offer = plan.offers[reason["offer"]]
    task = next(t for t in instance.tasks if t.id == entry["task"])
    nation = next(n for n in instance.nations if n.id == offer.nation)
    periods = reason["periods"]
    a, b = entry["periods"]
    assert periods and all(a <= p <= b for p in periods), reason
    code = reason["reason"]
    for p in periods:
        if code == "caveat":
            assert offer.tasks is not None and task.id not in offer.tasks
        elif code == "availability":
            first, last = offer.available or (1, plan.T)
            assert not first <= p <= last
        elif code == "tour-length":
            assert not plan.a_tour_fits(offer, task, p), (reason, p)
        elif code in ("deployed-elsewhere", "resting"):
            assert all(plan.busy(offer, u, p) for u in range(1, offer.units + 1)), (reason, p)
            deployed = [
                u
                for u in range(1, offer.units + 1)
                if any(t["start"] <= p <= t["end"] for t in plan.units[offer.id, u])
            ]
            assert (len(deployed) < offer.units) == (code == "resting"), (reason, p)
        elif code == "personnel-cap":
            assert nation.max_personnel is not None
            assert plan.personnel[nation.id, p] + offer.personnel > nation.max_personnel
        elif code == "budget":
            assert nation.budget is not None
            assert plan.cost[nation.id] + min(offer.min_tour, plan.T - p + 1) * offer.cost > nation.budget
        elif code == "max-nations":
            present = plan.nations_on[task.id, p]
            assert task.max_nations is not None and nation.id not in present
            assert len(present) >= task.max_nations
        else:
            assert code == "other-rules", code
            assert any(not plan.busy(offer, u, p) for u in range(1, offer.units + 1)), (reason, p)


def check_explanation(instance: Instance, result: allocator.SolveResult) -> int:
    """Verify every reason of the explanation of `result`; the number of reasons checked."""
    solution = result.to_json()
    why = explain(instance, solution).to_json()
    plan = Plan(instance, solution["assignments"])
    short = {(s["task"], s.get("capability"), s["period"]) for s in solution["shortfalls"]}
    explained = {
        (e["task"], e["capability"], p)
        for e in why["shortfalls"]
        for p in range(e["periods"][0], e["periods"][1] + 1)
    }
    assert explained == short
    checked = 0
    for entry in why["shortfalls"]:
        if entry["capability"] is not None:
            offered = {o.id for o in instance.offers if o.capability == entry["capability"]}
            assert {r["offer"] for r in entry["reasons"]} == offered
            assert entry["needed"]["units"] >= 1
        for reason in entry["reasons"]:
            verify(instance, plan, entry, reason)
            checked += 1
    return checked


def test_the_reasons_of_the_shortfall_example_hold() -> None:
    instance = allocator.load_instance(EXAMPLES / "shortfall.yaml")
    result = allocator.solve(instance, time_limit=10, threads=1)
    assert check_explanation(instance, result) >= 2


@pytest.mark.slow
def test_the_reasons_on_a_medium_instance_hold() -> None:
    instance = allocator.load_instance(ROOT / "instances" / "synthetic" / "medium" / "medium-2.yaml")
    result = allocator.solve(instance, time_limit=10, threads=2)
    assert result.shortfalls
    assert check_explanation(instance, result) > 10


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_the_reasons_hold_on_random_small_instances(data: st.DataObject) -> None:
    instance = build(data.draw(instances()))
    result = allocator.solve(instance, backend="cpsat", time_limit=5, threads=1)
    if result.has_plan:
        check_explanation(instance, result)
