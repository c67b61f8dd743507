"""Leads solved on their own when the greedy finds no lead for every term: a first plan whenever
leads are possible, a proof when they are not."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import allocator
from allocator.backends.levels import first_tours, first_values
from allocator.backends.skeleton import lead_skeleton
from allocator.formulation.build import formulate
from allocator.instance.index import Index
from allocator.instance.leads import lead_instance
from allocator.options import SolveOptions, Status
from allocator.solution.greedy import first_plan
from allocator.sources.generator import generate
from tests.helpers.instances import build


def _two_led_tasks(c_units: int = 1) -> dict[str, Any]:
    """Tasks X (lead B or C) and Y (lead B only); B has one unit for both, C one for X alone.
    The greedy gives X to B (the first eligible nation that can contribute), then Y has no lead;
    C leading X and B leading Y is a plan."""
    return {
        "name": "two-led",
        "horizon": {"periods": 4},
        "nations": [{"id": "A"}, {"id": "B"}, {"id": "C"}],
        "capabilities": [{"id": "hq", "domain": "command"}],
        "offers": [
            {"id": "A-hq", "nation": "A", "capability": "hq", "units": 1},
            {"id": "B-hq", "nation": "B", "capability": "hq", "units": 1, "tasks": ["X", "Y"]},
            {"id": "C-hq", "nation": "C", "capability": "hq", "units": c_units, "tasks": ["X"]},
        ],
        "tasks": [
            {
                "id": "X",
                "requirements": [{"capability": "hq", "units": 1}],
                "lead": {"nations": ["B", "C"], "term": 4},
            },
            {
                "id": "Y",
                "requirements": [{"capability": "hq", "units": 1}],
                "lead": {"nations": ["B"], "term": 4},
            },
        ],
    }


def test_the_greedy_alone_finds_no_lead_here() -> None:
    """The case the skeleton is for (a guard: if the greedy learns it, the tests below test less)."""
    assert first_plan(Index.of(build(_two_led_tasks())), hard=False) is None


def test_leads_solved_alone_give_the_first_plan(caplog: pytest.LogCaptureFixture) -> None:
    instance = build(_two_led_tasks())
    with caplog.at_level(logging.INFO):
        values = first_values(formulate(instance), None)
    assert values is not None
    assert "greedy around the leads" in caplog.text


def test_a_solve_keeps_the_plan_from_the_leads(backend: str) -> None:
    """Every backend starts from that plan, and with no time for a search still returns it."""
    instance = build(_two_led_tasks())
    result = allocator.solve(instance, backend=backend, threads=1, time_limit=0)
    assert result.has_plan and result.first_plan_time is not None
    assert {(lead.task, lead.nation) for lead in result.leads} == {("X", "C"), ("Y", "B")}


def test_the_skeleton_is_in_the_whole_instances_positions() -> None:
    instance = build(_two_led_tasks())
    index = Index.of(instance)
    skeleton = lead_skeleton(index, SolveOptions(threads=1), None)
    assert skeleton is not None and skeleton.status == Status.FEASIBLE
    assert {(index.tasks[t].id, index.nations[n].id) for (t, _k), n in skeleton.leads.items()} == {
        ("X", "C"),
        ("Y", "B"),
    }
    assert {(index.offers[r.offer].id, index.tasks[r.task].id) for r in skeleton.tours} == {
        ("C-hq", "X"),
        ("B-hq", "Y"),
    }


def test_the_leads_instance_holds_led_tasks_and_their_eligible_offers() -> None:
    sub = lead_instance(build(_two_led_tasks()))
    assert sub is not None
    assert [t.id for t in sub.tasks] == ["X", "Y"]
    assert {o.id: o.tasks for o in sub.offers} == {"B-hq": ("X", "Y"), "C-hq": ("X",)}
    assert sub.model.shortfall == "soft"
    unled = _two_led_tasks()
    for task in unled["tasks"]:
        del task["lead"]
    assert lead_instance(build(unled)) is None


def test_leads_that_cannot_all_be_given_are_infeasible_at_once(backend: str) -> None:
    """Without C's unit, B cannot lead X and Y at once: the skeleton proves it, and the solve says
    infeasible with the exit code of a proven infeasibility (the whole model agrees)."""
    doc = _two_led_tasks()
    doc["offers"] = [o for o in doc["offers"] if o["id"] != "C-hq"]
    doc["tasks"][0]["lead"]["nations"] = ["B"]
    instance = build(doc)
    result = allocator.solve(instance, backend=backend, threads=1, time_limit=20)
    assert result.status == Status.INFEASIBLE and result.exit_code == 3
    assert (
        allocator.solve(instance, backend=backend, threads=1, time_limit=20, first_plan=False).status
        == Status.INFEASIBLE
    )


@pytest.mark.parametrize(("nations", "tasks", "periods"), [(15, 6, 12), (30, 12, 24)])
def test_every_generated_lead_instance_has_a_first_plan(nations: int, tasks: int, periods: int) -> None:
    """Generated instances with rotating leads (their leads possible by construction) always get a
    first plan, whether or not the greedy alone finds their leads."""
    for seed in range(6):
        instance = allocator.build_instance(
            generate(nations, tasks, periods, seed, leads=True), "<generated>"
        )
        assert first_values(formulate(instance), None, options=SolveOptions(threads=1)) is not None, seed


@pytest.mark.slow
@pytest.mark.parametrize(("nations", "tasks", "periods"), [(60, 24, 52), (60, 40, 52), (120, 48, 104)])
def test_every_large_generated_lead_instance_has_a_first_plan(nations: int, tasks: int, periods: int) -> None:
    """The large sizes, three seeds each (a seed whose instance has too many tours is refused by
    validation and skipped; at least two are tried): a first plan, with the leads in it."""
    tried = 0
    for seed in range(3):
        try:
            instance = allocator.build_instance(
                generate(nations, tasks, periods, seed, leads=True), "<generated>"
            )
        except allocator.InputError:
            continue
        tried += 1
        first = first_tours(Index.of(instance), False, 60.0, SolveOptions(threads=2))
        assert first is not None and first.leads, seed
        led = sum(len(Index.of(instance).terms[t]) for t, task in enumerate(instance.tasks) if task.lead)
        assert len(first.leads) == led
    assert tried >= 2
