"""The backend-neutral structure: the flow formulation represents exactly the plans of the
tour-start formulation, and `auto` picks it where tours are many."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

import allocator
from allocator.backends import structure as structure_module
from allocator.backends.structure import FlowStructure, Structure, TourStructure
from allocator.errors import InputError
from allocator.generator import generate
from allocator.indices import Tour
from tests.conftest import base_instance, build
from tests.strategies import instances


def _plan_tours(instance: allocator.Instance, result: allocator.SolveResult) -> Counter[Tour]:
    index = instance.index
    return Counter(
        Tour(index.offer_pos[a.offer], index.task_pos[a.task], a.start, a.end - a.start + 1)
        for a in result.assignments
    )


def _flow_values(flow: FlowStructure, tours: Counter[Tour]) -> list[int]:
    values = [0] * len(flow.columns)
    for r, n in tours.items():
        values[flow.start_at[r.offer, r.task, r.start]] += n
        for p in range(r.start, r.end + 1):
            values[flow.deployed_at[r.offer, r.task, p]] += n
    return values


def _cells(tours: Counter[Tour] | dict[Tour, int]) -> tuple[Counter[tuple[int, int, int]], Counter[Any]]:
    deployed: Counter[tuple[int, int, int]] = Counter()
    starts: Counter[Any] = Counter()
    for r, n in tours.items():
        starts[r.offer, r.task, r.start] += n
        for p in range(r.start, r.end + 1):
            deployed[r.offer, r.task, p] += n
    return deployed, starts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(doc=instances())
def test_flow_rows_hold_for_every_plan_and_give_its_tours_back(doc: dict[str, Any]) -> None:
    """Any valid plan maps onto flow columns satisfying every row; tours come back FIFO-matched
    with the same deployed and started units and lengths inside min_tour..max_tour."""
    try:
        instance = allocator.build_instance(doc, "<random>")
    except InputError:
        assume(False)
        return
    result = allocator.solve(instance, threads=1, time_limit=10, formulation="tours")
    assume(result.has_plan)
    tours = _plan_tours(instance, result)
    flow = Structure.of(instance.index, "flow")
    assert isinstance(flow, FlowStructure)
    values = _flow_values(flow, tours)
    for row in [*flow.formulation_rows(), *flow.unit_capacity()]:
        assert sum(w * values[i] for i, w in row.terms) <= row.rhs, row.name

    back = flow.tour_counts(values)
    assert _cells(back) == _cells(tours)
    for r in back:
        offer = instance.index.offers[r.offer]
        assert r.length <= (offer.max_tour or instance.periods)
        assert r.length >= offer.min_tour or r.end == instance.periods


def test_flow_tours_are_matched_first_in_first_out() -> None:
    """Two units on one task: starts at 1 and 3, ends at 4 and 6 give tours 1-4 and 3-6."""
    doc = base_instance(horizon={"periods": 8})
    doc["offers"][0].update(min_tour=2, max_tour=4)
    flow = Structure.of(build(doc).index, "flow")
    assert isinstance(flow, FlowStructure)
    tours = Counter({Tour(0, 0, 1, 4): 1, Tour(0, 0, 3, 4): 1})
    assert flow.tour_counts(_flow_values(flow, tours)) == dict(tours)


def test_tour_formulation_has_one_column_per_tour() -> None:
    instance = build(base_instance())
    tours = Structure.of(instance.index, "tours")
    assert isinstance(tours, TourStructure)
    assert len(tours.columns) == len(instance.index.tours())
    assert not list(tours.formulation_rows())


def test_flow_is_smaller_on_long_horizons_and_auto_picks_it(monkeypatch: pytest.MonkeyPatch) -> None:
    instance = allocator.build_instance(generate(nations=8, tasks=5, periods=52, seed=1), "<generated>")
    tours = Structure.of(instance.index, "tours")
    flow = Structure.of(instance.index, "flow")
    assert len(flow.columns) < len(tours.columns)
    monkeypatch.setattr(structure_module, "FLOW_ABOVE_TOURS", len(tours.columns) - 1)
    assert Structure.of(instance.index).formulation == "flow"
    monkeypatch.setattr(structure_module, "FLOW_ABOVE_TOURS", len(tours.columns))
    assert Structure.of(instance.index).formulation == "tours"


def test_unknown_formulation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown formulation 'columns'"):
        Structure.of(build(base_instance()).index, "columns")


def test_solution_records_the_formulation(backend: str) -> None:
    result = allocator.solve(build(base_instance()), backend=backend, formulation="flow", time_limit=10)
    assert result.to_json()["solver"]["formulation"] == "flow"
