"""Conflicts of one period: the projection keeps one period, its conflicts are conflicts of the
whole instance and minimal there (checked on the whole instance's model, not taken on trust)."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings

import allocator
from allocator.explanations import explain_infeasible
from allocator.explanations.model import family
from allocator.explanations.projection import PROJECTED, find_period_conflict, period_order, project
from allocator.instance.index import Index
from allocator.options import Status
from tests.explanations.test_conflict import SECONDS, _assert_minimal, offer, ships, task
from tests.helpers.instances import build
from tests.helpers.strategies import choice_instances


def short_in_period_4() -> dict[str, Any]:
    """Six months; two ships wanted on `mcm` in month 4 (one in the others); long tours and rest,
    so that the whole model is not a single period's; BE's two ships need more staff than its
    cap, NL's ship is gone after month 3, FR's serves only `other` (months 1-2)."""
    mcm = task(
        requirements=[
            {"capability": "ship", "units": 1},
            {"capability": "ship", "units": 1, "periods": [4, 4]},
        ],
        lead={"nations": ["BE", "NL"], "term": 3},
    )
    doc = ships(
        offer("BE-1", "BE", units=2, personnel=100, min_tour=2, min_rest=2),
        offer("NL-1", "NL", available=[1, 3]),
        offer("FR-1", "FR", tasks=["other"]),
        task=mcm,
        horizon={"periods": 6, "unit": "month", "start": "2027-01"},
        nations=[{"id": "BE", "max_personnel": 150}, {"id": "NL"}, {"id": "FR"}],
    )
    doc["tasks"].append(
        {"id": "other", "active": [1, 2], "requirements": [{"capability": "ship", "units": 1}]}
    )
    return doc


def test_the_projection_keeps_one_period() -> None:
    instance = build(short_in_period_4())
    sub = project(instance, 4)
    assert sub is not None
    assert [o.id for o in sub.offers] == ["BE-1"]  # NL's window ends at 3, FR serves only `other`
    (be,) = sub.offers
    assert (be.available, be.min_tour, be.max_tour, be.min_rest) == ((4, 4), 1, None, 0)
    (mcm,) = sub.tasks  # `other` runs in months 1-2
    assert mcm.active == (4, 4) and mcm.lead is None
    assert [(r.units, r.periods) for r in mcm.requirements] == [(1, (4, 4)), (1, (4, 4))]
    assert project(instance, 1) is not None
    one = project(instance, 1)
    assert one is not None and sorted(o.id for o in one.offers) == ["BE-1", "FR-1", "NL-1"]


def test_periods_with_the_largest_gap_come_first() -> None:
    order = period_order(Index.of(build(short_in_period_4())))
    assert order[0] == 4
    assert sorted(order) == [1, 2, 3, 4, 5, 6]


def test_a_period_short_whatever_the_plan_gives_a_conflict_minimal_in_the_whole_instance() -> None:
    instance = build(short_in_period_4())
    conflict = find_period_conflict(instance, SECONDS, threads=1)
    assert conflict is not None and conflict.minimal
    assert set(conflict.names) == {"demand[mcm:ship@4]", "personnel-cap[BE@4]"}
    _assert_minimal(instance, list(conflict.names))
    why = explain_infeasible(instance, SECONDS, threads=1)
    assert {item.name for item in why.conflict} == set(conflict.names) and why.minimal


def test_a_conflict_across_periods_is_left_to_the_whole_model() -> None:
    doc = ships(offer("BE-1", "BE", min_tour=3, available=[1, 2]), task=task(active=[1, 2]))
    instance = build(doc)
    assert find_period_conflict(instance, SECONDS, threads=1) is None
    why = explain_infeasible(instance, SECONDS, threads=1)
    assert why.status == Status.INFEASIBLE and "tour-length" in {item.rule for item in why.conflict}


@settings(max_examples=40, deadline=None)
@given(choice_instances(max_periods=5))
def test_a_period_conflict_is_a_minimal_conflict_of_the_instance(doc: dict[str, Any]) -> None:
    doc = {**doc, "model": {"shortfall": "hard", "objectives": ["shortfall"]}}
    instance = build(doc)
    conflict = find_period_conflict(instance, SECONDS, threads=1)
    event("found" if conflict else "none")
    if conflict is None:
        return
    assert {family(name) for name in conflict.names} <= PROJECTED
    assert (
        allocator.solve(instance, backend="cpsat", time_limit=SECONDS, threads=1).status == Status.INFEASIBLE
    )
    _assert_minimal(instance, list(conflict.names))
