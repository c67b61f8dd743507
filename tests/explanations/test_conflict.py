"""Every rule family that can make an instance infeasible: an instance it makes infeasible, whose
explanation names that rule in a conflict proven minimal, and whose first relaxation, applied as
the change to the data it says, makes the instance feasible (solved here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given, settings

import allocator
from allocator.explanations import apply_changes, explain_infeasible, read_document
from allocator.explanations.model import RelaxableModel
from allocator.options import Status
from tests.helpers.instances import build
from tests.helpers.strategies import choice_instances

SECONDS = 20.0


def ships(*offers: dict[str, Any], task: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Four months, three nations, one maritime task needing `units` ships; hard shortfall unless
    `extra` says otherwise."""
    doc: dict[str, Any] = {
        "name": "conflict",
        "horizon": {"periods": 4, "unit": "month", "start": "2027-01"},
        "nations": [{"id": "BE", "name": "Belgium"}, {"id": "NL", "name": "Netherlands"}, {"id": "FR"}],
        "capabilities": [{"id": "ship", "domain": "maritime"}],
        "offers": list(offers),
        "tasks": [task or {"id": "mcm", "requirements": [{"capability": "ship", "units": 1}]}],
        "model": {"shortfall": "hard", "objectives": ["shortfall", "cost"]},
    }
    doc.update(extra)
    return doc


def offer(id: str, nation: str, **fields: Any) -> dict[str, Any]:
    return {"id": id, "nation": nation, "capability": "ship", "units": 1, **fields}


def task(**fields: Any) -> dict[str, Any]:
    return {"id": "mcm", "requirements": [{"capability": "ship", "units": 1}], **fields}


LEAD_SOFT = {"shortfall": "soft", "objectives": ["shortfall", "cost"]}

CASES: dict[str, dict[str, Any]] = {
    "demand": ships(offer("BE-1", "BE"), task=task(requirements=[{"capability": "ship", "units": 2}])),
    "min-nations": ships(offer("BE-1", "BE", units=2), task=task(min_nations=2)),
    "max-nations": ships(
        offer("BE-1", "BE"),
        offer("NL-1", "NL"),
        task=task(max_nations=1, requirements=[{"capability": "ship", "units": 2}]),
    ),
    "personnel-cap": ships(
        offer("BE-1", "BE", units=2, personnel=100),
        task=task(requirements=[{"capability": "ship", "units": 2}]),
        nations=[{"id": "BE", "max_personnel": 150}, {"id": "NL"}, {"id": "FR"}],
    ),
    "budget": ships(
        offer("BE-1", "BE", cost=10),
        nations=[{"id": "BE", "budget": 15}, {"id": "NL"}, {"id": "FR"}],
    ),
    "lead-first": ships(
        offer("NL-1", "NL"),
        offer("BE-1", "BE", available=[3, 4]),
        task=task(lead={"nations": ["BE", "NL"], "term": 4, "first": "BE"}),
        model=LEAD_SOFT,
    ),
    "lead-rotate": ships(
        offer("NL-1", "NL", units=2),
        offer("BE-1", "BE", available=[2, 3]),
        task=task(lead={"nations": ["BE", "NL"], "term": 2, "rotate": True}),
        model=LEAD_SOFT,
    ),
    "lead-contribution": ships(
        offer("NL-1", "NL"),
        task=task(lead={"nations": ["NL"], "term": 4, "contribution": 2}),
        model=LEAD_SOFT,
    ),
    "tour-length": ships(offer("BE-1", "BE", min_tour=3, available=[1, 2]), task=task(active=[1, 2])),
    "unit-capacity": ships(offer("BE-1", "BE", max_tour=1, min_rest=1), task=task(active=[1, 2])),
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_a_conflict_names_the_rule_proven_minimal_and_its_relaxation_makes_it_feasible(rule: str) -> None:
    doc = CASES[rule]
    instance = build(doc)
    assert allocator.solve(instance, time_limit=SECONDS, threads=1).status == Status.INFEASIBLE
    why = explain_infeasible(instance, SECONDS, threads=1)
    assert why.status == Status.INFEASIBLE
    names = [item.name for item in why.conflict]
    assert rule in {item.rule for item in why.conflict}, names
    assert why.minimal
    _assert_minimal(instance, names)
    assert why.relaxations, "no relaxation"
    changes = [item.change for item in why.relaxations[0] if item.change is not None]
    assert changes
    relaxed = build(apply_changes(doc, changes))
    assert allocator.solve(relaxed, time_limit=SECONDS, threads=1).has_plan, [c.text for c in changes]


def _assert_minimal(instance: allocator.Instance, names: list[str]) -> None:
    """The conflict cannot hold; without any one of its rule instances, the rest can."""
    model = RelaxableModel(instance)
    assert model.check(names, SECONDS).status == Status.INFEASIBLE
    for name in names:
        rest = [n for n in names if n != name]
        assert model.check(rest, SECONDS).status == Status.FEASIBLE, f"{name} is not needed"


def test_every_item_says_something_about_its_data() -> None:
    why = explain_infeasible(build(CASES["budget"]), SECONDS, threads=1)
    texts = {item.name: item.text for item in why.conflict}
    assert "budget of 15" in texts["budget[BE]"]
    demand = [text for name, text in texts.items() if name.startswith("demand[")]
    assert demand and all("2027-0" in text and "BE-1" in text for text in demand)
    (change,) = {item.change for item in why.relaxations[0]}
    assert change is not None and change.path == "nations[0].budget"
    assert (change.before, change.after) == (15, 40)  # 4 months at 10: the least that will do


def test_leads_that_cannot_be_given_are_explained_on_the_leads_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nation B must lead X and Y with one unit: the conflict comes from the leads' own instance,
    and its relaxation's changes name the whole instance's offers and tasks (the led task and
    its offer are not first there), so that they apply to it and make it feasible."""
    doc: dict[str, Any] = {
        "name": "leads",
        "horizon": {"periods": 4},
        "nations": [{"id": "A"}, {"id": "B"}],
        "capabilities": [{"id": "hq", "domain": "command"}],
        "offers": [
            {"id": "A-hq", "nation": "A", "capability": "hq", "units": 2},
            {"id": "B-hq", "nation": "B", "capability": "hq", "units": 1, "personnel": 100},
        ],
        "tasks": [
            {"id": "W", "requirements": [{"capability": "hq", "units": 1}]},
            {
                "id": "X",
                "requirements": [{"capability": "hq", "units": 1}],
                "lead": {"nations": ["B"], "term": 4},
            },
            {
                "id": "Y",
                "requirements": [{"capability": "hq", "units": 1}],
                "lead": {"nations": ["B"], "term": 4},
            },
        ],
    }
    instance = build(doc)
    with caplog.at_level("INFO"):
        why = explain_infeasible(instance, SECONDS, threads=1)
    assert "the leads alone are infeasible" in caplog.text
    assert why.status == Status.INFEASIBLE and why.instance == "leads"
    assert {item.rule for item in why.conflict} >= {"unit-capacity", "lead-contribution"}
    changes = [item.change for item in why.relaxations[0] if item.change is not None]
    assert changes and all(not c.path.startswith("offers[0]") for c in changes)
    assert any(c.path.startswith(("offers[1]", "tasks[1]", "tasks[2]")) for c in changes), changes
    assert allocator.solve(build(apply_changes(doc, changes)), time_limit=SECONDS, threads=1).has_plan


def test_a_feasible_instance_has_no_conflict() -> None:
    doc = ships(offer("BE-1", "BE"))
    why = explain_infeasible(build(doc), SECONDS, threads=1)
    assert why.status == Status.FEASIBLE
    assert not why.conflict and not why.relaxations


def test_a_conflict_is_in_the_json() -> None:
    why = explain_infeasible(build(CASES["demand"]), SECONDS, threads=1)
    doc = why.to_json()
    assert doc["status"] == "infeasible"
    assert doc["conflict"]["minimal"] is True
    assert {"name", "rule", "text"} <= set(doc["conflict"]["items"][0])
    assert doc["relaxations"][0][0]["change"]["path"] == "model.shortfall"


@settings(max_examples=40, deadline=None)
@given(choice_instances())
def test_the_explanation_model_agrees_with_the_solver_on_random_instances(doc: dict[str, Any]) -> None:
    """All rule instances hold together exactly when the engine finds a plan; an infeasible
    instance gets a conflict that cannot hold and is minimal."""
    doc = {**doc, "model": {"shortfall": "hard", "objectives": ["shortfall"]}}
    instance = build(doc)
    solved = allocator.solve(instance, backend="cpsat", time_limit=SECONDS, threads=1)
    assert solved.status in (Status.OPTIMAL, Status.INFEASIBLE)
    why = explain_infeasible(instance, SECONDS, threads=1)
    event(str(solved.status))
    if solved.has_plan:
        assert why.status == Status.FEASIBLE
        return
    assert why.status == Status.INFEASIBLE and why.minimal
    _assert_minimal(instance, [item.name for item in why.conflict])
    changes = [item.change for item in why.relaxations[0] if item.change is not None]
    assert allocator.solve(build(apply_changes(doc, changes)), time_limit=SECONDS, threads=1).has_plan


def test_changes_apply_from_the_json_and_to_a_named_model(tmp_path: Path) -> None:
    doc = {**CASES["demand"], "model": "min-cost"}  # min-cost: hard demand
    why = explain_infeasible(build(doc), SECONDS, threads=1).to_json()
    changes = [item["change"] for item in why["relaxations"][0]]
    relaxed = apply_changes(doc, changes)
    assert relaxed["model"]["shortfall"] == "soft" and relaxed["model"]["objectives"]
    assert allocator.solve(build(relaxed), time_limit=SECONDS, threads=1).has_plan
    path = tmp_path / "i.yaml"
    path.write_text("name: x\nnations: [{id: NO}]\n")
    assert read_document(path)["nations"][0]["id"] == "NO"  # YAML 1.2: NO stays a string


def test_lead_terms_are_said_from_one_with_their_periods() -> None:
    """B, the only nation that may lead X, is there for the first term only: the relaxation says
    which terms go without a lead as a planner counts them (rule names count from 0: it said
    'term(s) 1, 2' of the second and third)."""
    doc: dict[str, Any] = {
        "name": "late-lead",
        "horizon": {"periods": 6},
        "nations": [{"id": "A"}, {"id": "B"}],
        "capabilities": [{"id": "hq", "domain": "command"}],
        "offers": [
            {"id": "A-hq", "nation": "A", "capability": "hq", "units": 2},
            {"id": "B-hq", "nation": "B", "capability": "hq", "units": 1, "available": [1, 2]},
        ],
        "tasks": [
            {
                "id": "X",
                "requirements": [{"capability": "hq", "units": 1}],
                "lead": {"nations": ["B"], "term": 2},
            }
        ],
    }
    why = explain_infeasible(build(doc), SECONDS, threads=1)
    said = [item.text for relaxation in why.relaxations for item in relaxation if item.rule == "lead-one"]
    assert said and all("term 2 (periods 3..4), term 3 (periods 5..6)" in text for text in said), said
