"""The backend-neutral structure: the flow formulation represents exactly the plans of the
tour-start formulation, and `auto` picks it where tours are many."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

import allocator
from allocator.errors import InputError
from allocator.formulation import structure as structure_module
from allocator.formulation.build import formulate
from allocator.formulation.linear import Row
from allocator.formulation.structure import FlowStructure, RelaxableFlowStructure, Structure, TourStructure
from allocator.instance.index import Index, Tour
from allocator.sources.generator import generate
from tests.helpers.bruteforce import brute_force
from tests.helpers.instances import base_instance, build
from tests.helpers.plans import plan_tours, row_holds
from tests.helpers.strategies import instances


def _rows(instance: allocator.Instance, formulation: str, rule: str) -> list[Row]:
    """The model's rows of one rule, in order."""
    return [r for r in formulate(instance, formulation).rows() if (r.name or "").startswith(rule + "[")]


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
    tours = plan_tours(instance, result)
    flow = Structure.of(instance, "flow")
    assert isinstance(flow, FlowStructure)
    values = flow.column_values(tours)
    for row in [*flow.formulation_rows(), *flow.unit_capacity()]:
        assert row_holds(row, values), row.name

    back = flow.tour_counts(values)
    assert _cells(back) == _cells(tours)
    for r in back:
        offer = Index.of(instance).offers[r.offer]
        assert r.length <= (offer.max_tour or instance.periods)
        assert r.length >= offer.min_tour or r.end == instance.periods


def test_flow_tours_are_matched_first_in_first_out() -> None:
    """Two units on one task: starts at 1 and 3, ends at 4 and 6 give tours 1-4 and 3-6."""
    doc = base_instance(horizon={"periods": 8})
    doc["offers"][0].update(min_tour=2, max_tour=4)
    flow = Structure.of(build(doc), "flow")
    assert isinstance(flow, FlowStructure)
    tours = Counter({Tour(0, 0, 1, 4): 1, Tour(0, 0, 3, 4): 1})
    assert flow.tour_counts(flow.column_values(tours)) == dict(tours)


def test_tours_read_from_a_plan_with_a_tour_length_row_dropped() -> None:
    """An explanation's plan may break a dropped tour-length row: a unit started at 2 that is not
    deployed there (the row `starts <= deployed` dropped), and a unit deployed 5-6 that started at
    5.  The tours read are the deployed one only (the start at 2 forgotten), and reading them
    never fails (it raised IndexError on an empty queue of starts)."""
    doc = base_instance(horizon={"periods": 8})
    doc["offers"][0].update(min_tour=1, max_tour=4)
    flow = RelaxableFlowStructure.build(Index.of(build(doc)))
    values = flow.column_values({Tour(0, 0, 5, 2): 1})
    values[flow.start_at[0, 0, 2]] = 1  # started, never deployed
    assert flow.tour_counts(values) == {Tour(0, 0, 5, 2): 1}


def test_tour_formulation_has_one_column_per_tour() -> None:
    instance = build(base_instance())
    tours = Structure.of(instance, "tours")
    assert isinstance(tours, TourStructure)
    assert len(tours.columns) == len(Index.of(instance).tours())
    assert not list(tours.formulation_rows())


def test_flow_is_smaller_on_long_horizons_and_auto_picks_it(monkeypatch: pytest.MonkeyPatch) -> None:
    instance = allocator.build_instance(generate(nations=8, tasks=5, periods=52, seed=1), "<generated>")
    tours = Structure.of(instance, "tours")
    flow = Structure.of(instance, "flow")
    assert len(flow.columns) < len(tours.columns)
    monkeypatch.setattr(structure_module, "FLOW_ABOVE_TOURS", len(tours.columns) - 1)
    assert Structure.of(instance).formulation == "flow"
    monkeypatch.setattr(structure_module, "FLOW_ABOVE_TOURS", len(tours.columns))
    assert Structure.of(instance).formulation == "tours"


def test_unknown_formulation_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown formulation 'columns'"):
        Structure.of(build(base_instance()), "columns")


def test_solution_records_the_formulation(backend: str) -> None:
    result = allocator.solve(build(base_instance()), backend=backend, formulation="flow", time_limit=10)
    assert result.to_json()["solver"]["formulation"] == "flow"


# rows and their rule-instance names (mutation testing of the formulation: TESTING.md) ---------------
def test_rows_carry_their_rule_instance_names(formulation: str) -> None:
    doc = base_instance(horizon={"periods": 2})
    doc["nations"][0].update(max_personnel=100, budget=5)
    doc["offers"][0].update(personnel=50, min_rest=1)
    doc["offers"][1].update(max_tour=1)
    instance = build(doc)
    structure = Structure.of(instance, formulation)
    assert all(isinstance(v, int) for c in structure.columns for v in (c.offer, c.task, c.periods, c.tours))
    personnel = _rows(instance, formulation, "personnel-cap")
    assert [r.name for r in personnel] == ["personnel-cap[FR@1]", "personnel-cap[FR@2]"]
    assert [r.name for r in _rows(instance, formulation, "budget")] == ["budget[FR]"]
    demand = [r.name for r in _rows(instance, formulation, "demand")]
    assert demand == ["demand[air:fighter@1]", "demand[air:fighter@2]"]
    doc["tasks"][0]["requirements"] = [{"capability": "fighter", "units": 0}]
    doc["tasks"][0]["requirements"].append({"capability": "fighter", "units": 1, "periods": [2, 2]})
    zero_first = [r.name for r in _rows(build(doc), formulation, "demand")]
    assert zero_first == ["demand[air:fighter@2]"]  # no row where no need
    capacity = [r.name for r in structure.unit_capacity()]
    assert capacity and all(n.startswith(("unit-capacity[FR-a@", "unit-capacity[GB-a@")) for n in capacity)
    assert all(len(r.terms) > 1 for r in structure.unit_capacity()), "a single variable needs no row"
    single = Structure.of(build(base_instance(horizon={"periods": 1})), formulation)
    assert list(single.unit_capacity()) == []  # one tour per offer: each bounded by its domain
    rows = [r.name for r in structure.formulation_rows()]
    if formulation == "flow":
        assert "tour-flow[FR-a>air@1]" in rows and "tour-length[FR-a>air@2]" in rows
        assert {n.split("[")[0] for n in rows} == {"tour-flow", "tour-length"}
    else:
        assert rows == []


def _one_period(**task: Any) -> allocator.Instance:
    """A one-period assignment problem (as GAP): two offers of one-period tours, one task
    requiring 1 fighter."""
    doc = base_instance(horizon={"periods": 1})
    for offer in doc["offers"]:
        offer["max_tour"] = 1
    doc["tasks"][0].update(task)
    return build(doc)


SOFT_COST = {"objectives": ["shortfall", "cost"]}
HARD_COST = {"shortfall": "hard", "objectives": ["cost"]}


def _with_model(instance: allocator.Instance, model: dict[str, Any]) -> allocator.Instance:
    return instance.replace(model=allocator.ModelSpec(**model))


def test_the_dominance_cut_applies_only_where_extra_units_cannot_help(formulation: str) -> None:
    plain = _one_period()
    (cap,) = _rows(_with_model(plain, SOFT_COST), formulation, "demand-cap")
    assert cap.name == "demand-cap[air:fighter@1]" and cap.rhs == 1 and cap.sense == "<="
    assert sorted(cap.terms) == [(i, 1) for i in sorted(i for i, _ in cap.terms)] and len(cap.terms) == 2
    (exact,) = _rows(_with_model(plain, HARD_COST), formulation, "demand")
    assert exact.sense == "==" and not _rows(_with_model(plain, HARD_COST), formulation, "demand-cap")
    for task_id in ("x-demand[1]", "y-demand-cap[2]"):  # names made from the prefix, not by replacing
        odd = _one_period(id=task_id)
        caps = _rows(_with_model(odd, SOFT_COST), formulation, "demand-cap")
        assert [r.name for r in caps] == [f"demand-cap[{task_id}:fighter@1]"]
        (row,) = _rows(_with_model(odd, HARD_COST), formulation, "demand")
        assert row.name == f"demand[{task_id}:fighter@1]" and row.sense == "=="
    (soft,) = _rows(_with_model(plain, SOFT_COST), formulation, "demand")
    assert soft.sense == ">="
    fair = {"objectives": ["shortfall", "fairness"]}  # extra units may even burdens
    assert not _rows(_with_model(plain, fair), formulation, "demand-cap")
    for task in ({"min_nations": 2}, {"lead": {"nations": ["FR"], "term": 1, "contribution": 1}}):
        assert not _rows(_with_model(_one_period(**task), SOFT_COST), formulation, "demand-cap")
    doc = base_instance(horizon={"periods": 2}, model=SOFT_COST)  # two-period tours: extra units forced
    assert not _rows(build(doc), formulation, "demand-cap")
    doc["offers"][0]["max_tour"] = 1
    doc["offers"][1]["max_tour"] = 1
    capped = _rows(build(doc), formulation, "demand-cap")
    assert [r.name for r in capped] == ["demand-cap[air:fighter@1]", "demand-cap[air:fighter@2]"]


@pytest.mark.parametrize(
    ("task", "model", "deployed"),
    [
        ({}, {"objectives": ["shortfall", "fairness"]}, 2),  # FR and GB both deploy: fairness 0
        ({}, {"objectives": ["shortfall", "surplus", "fairness"]}, 1),  # surplus first: one unit
        ({}, {"objectives": ["shortfall", {"surplus": 1, "fairness": 2}]}, 2),  # fairness outweighs surplus
        ({"min_nations": 2}, {"objectives": ["shortfall", "cost"]}, 2),  # two nations, one unit each
        ({"lead": {"nations": ["FR"], "term": 1, "contribution": 2}}, {"objectives": ["cost"]}, 2),
    ],
)
def test_plans_deploy_beyond_demand_where_it_helps(
    task: dict[str, Any], model: dict[str, Any], deployed: int, formulation: str
) -> None:
    instance = build({**base_instance(horizon={"periods": 1}), "model": model})
    instance = _one_period(**task).replace(model=instance.model)
    result = allocator.solve(instance, threads=1, time_limit=10, formulation=formulation)
    assert result.status == "optimal"
    assert len(result.assignments) == deployed


def test_a_unit_started_in_the_first_period_keeps_its_min_tour(formulation: str) -> None:
    """FR's unit needs tours of 2 periods (the task ends before the horizon does); the fairest
    split, 1 : 2 of 3 unit-periods, would give FR the first period alone, which no valid plan can.
    The optimum is the brute force's (found by mutation: a flow window that left out a start in
    period 1 let the unit leave after one period)."""
    doc = base_instance(horizon={"periods": 4}, nations=[{"id": "FR", "share": 1}, {"id": "GB", "share": 2}])
    doc["offers"] = [
        {"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1, "min_tour": 2},
        {"id": "GB-a", "nation": "GB", "capability": "fighter", "units": 1},
    ]
    doc["tasks"][0]["active"] = [1, 3]
    instance = build(doc)
    result = allocator.solve(instance, threads=1, time_limit=10, formulation=formulation)
    optimum = brute_force(instance, 10_000)
    assert result.status == "optimal" and optimum.vector is not None
    assert tuple(round(lv.value or 0, 6) for lv in result.levels) == optimum.vector
    fairness = instance.spec.objective_names.index("fairness")
    assert optimum.vector[fairness] > 0  # the fair split itself is out of reach


def test_units_bound_counts_each_offer_once() -> None:
    structure = Structure.of(build(base_instance()), "tours")
    fr = [i for i, c in enumerate(structure.columns) if c.offer == 0]
    gb = [i for i, c in enumerate(structure.columns) if c.offer == 1]
    assert structure.units_bound(fr[:3]) == 2 and structure.units_bound(fr[:1] + gb[:2]) == 4
    assert structure.units_bound([]) == 0


def test_unknown_formulation_message_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        Structure.of(build(base_instance()), "columns")
    assert str(caught.value) == "unknown formulation 'columns' (available: auto, tours, flow)"
