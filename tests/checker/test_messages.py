"""The checker's words, exactly: every violation message, every problem of a malformed solution,
the boundaries of each rule (at a cap is allowed, past it is not), and the plumbing around it
(labels, statuses, the instance check). Plans are written by hand, so that each case breaks one
thing the tests name; these cases are what mutation testing of the checker measures (TESTING.md).
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import pytest

import allocator
from allocator.checker import check, check_file, require_same_instance
from allocator.checker.rules import _close
from allocator.errors import InputError, InputWarning
from allocator.instance.formats import instance_digest
from tests.helpers.instances import base_instance, build

Plan = dict[str, Any]


def _plan(*tours: tuple[str, int, str, int, int], leads: list[Plan] | None = None, **extra: Any) -> Plan:
    doc: Plan = {
        "instance": "tiny",
        "status": "feasible",
        "assignments": [{"offer": o, "unit": u, "task": t, "start": s, "end": e} for o, u, t, s, e in tours],
        "leads": leads or [],
    }
    doc.update(extra)
    return doc


def _messages(instance: allocator.Instance, plan: Plan, skip: tuple[str, ...] = ("report",)) -> list[str]:
    return [str(v) for v in check(instance, plan).violations if v.rule not in skip]


def _tiny(**overrides: Any) -> allocator.Instance:
    return build(base_instance(**overrides))


# every rule's message ------------------------------------------------------------------------------
def test_reference_messages_for_every_bad_tour_and_term() -> None:
    instance = _tiny()
    plan = _plan(
        ("nope", 1, "air", 1, 1),
        ("gone", 1, "air", 2, 2),
        ("FR-a", 3, "sea", 1, 1),
        ("GB-a", 1, "air", 3, 2),
        leads=[{"task": "sea", "nation": "XX", "start": 1, "end": 1}],
    )
    assert _messages(instance, plan) == [
        "reference: assignments[0]: unknown offer 'nope'",
        "reference: assignments[1]: unknown offer 'gone'",
        "reference: assignments[2]: unknown task 'sea'",
        "reference: assignments[2]: unit 3 outside 1..2 of offer 'FR-a'",
        "reference: assignments[3]: start 3 after end 2",
        "reference: leads[0]: unknown task 'sea'",
        "reference: leads[0]: unknown nation 'XX'",
    ]


def test_placement_messages() -> None:
    doc = base_instance(horizon={"periods": 6})
    doc["offers"][0]["available"] = [2, 6]
    doc["tasks"] = [
        {
            "id": "air",
            "active": [2, 5],
            "requirements": [
                {"capability": "fighter", "units": 1, "periods": [2, 3]},
                {"capability": "fighter", "units": 0, "periods": [4, 5]},
            ],
        }
    ]
    plan = _plan(("FR-a", 1, "air", 1, 2), ("GB-a", 1, "air", 3, 5))
    assert _messages(build(doc), plan) == [
        "placement: assignments[0]: FR-a unit 1 deployed 1-2, outside its availability 2-6",
        "placement: assignments[0]: task 'air' is active 2-5, tour is 1-2",
        "placement: assignments[1]: task 'air' requires no 'fighter' in period(s) 4, 5",
    ]


def test_caveat_message() -> None:
    doc = base_instance()
    for task in ("sea", "land"):
        doc["tasks"].append({"id": task, "requirements": [{"capability": "fighter", "units": 1}]})
    doc["offers"][0]["tasks"] = ["sea", "air"]
    doc["offers"][1]["tasks"] = ["sea", "land"]
    assert _messages(build(doc), _plan(("FR-a", 1, "air", 1, 1), ("GB-a", 1, "air", 1, 1))) == [
        "caveat: assignments[1]: offer 'GB-a' may serve only sea, land, not 'air'"
    ]


def test_tour_length_messages() -> None:
    doc = base_instance(horizon={"periods": 6})
    doc["offers"][0].update(min_tour=2, max_tour=3)
    plan = _plan(("FR-a", 1, "air", 1, 4), ("FR-a", 2, "air", 3, 3), ("FR-a", 2, "air", 6, 6))
    assert _messages(build(doc), plan) == [
        "tour-length[FR-a>air@1]: assignments[0]: FR-a unit 1 tour of 4 periods exceeds max_tour 3",
        "tour-length[FR-a>air@3]: assignments[1]: FR-a unit 2 tour of 1 periods is shorter than "
        "min_tour 2 and does not end in the last period",
    ]


def test_unit_capacity_tells_overlap_from_missing_rest() -> None:
    doc = base_instance(horizon={"periods": 8})
    doc["offers"][0]["min_rest"] = 2
    plan = _plan(
        ("FR-a", 1, "air", 1, 2),
        ("FR-a", 1, "air", 2, 3),  # overlaps the first
        ("FR-a", 2, "air", 1, 1),
        ("FR-a", 2, "air", 2, 2),  # touches: 0 idle periods
        ("GB-a", 1, "air", 1, 1),
        ("GB-a", 1, "air", 3, 3),  # 1 idle period: enough without min_rest
    )
    assert _messages(build(doc), plan) == [
        "unit-capacity[FR-a@2]: FR-a unit 1: assignments[0] (1-2) and assignments[1] (2-3) overlap",
        "unit-capacity[FR-a@2]: FR-a unit 2: 0 idle period(s) between assignments[2] and "
        "assignments[3], needs 2",
    ]


def test_personnel_cap_and_budget_allow_exactly_the_cap() -> None:
    doc = base_instance()
    doc["nations"][0].update(max_personnel=200, budget=4)
    doc["offers"][0].update(personnel=100, cost=1)
    at_the_cap = _plan(("FR-a", 1, "air", 1, 2), ("FR-a", 2, "air", 1, 2))
    assert _messages(build(doc), at_the_cap) == []
    doc["nations"][0].update(max_personnel=199.5, budget=3.5)
    assert _messages(build(doc), at_the_cap) == [
        "personnel-cap[FR@1]: nation 'FR' deploys 200 personnel in period 1, cap 199.5",
        "personnel-cap[FR@2]: nation 'FR' deploys 200 personnel in period 2, cap 199.5",
        "budget[FR]: nation 'FR' costs 4 over the horizon, budget 3.5",
    ]


def test_nation_counts_are_checked_on_every_task() -> None:
    """The first task has no bounds; the second has both: it is checked all the same."""
    doc = base_instance(model={"shortfall": "hard", "objectives": ["cost"]})
    doc["nations"].append({"id": "IT"})
    doc["offers"].append({"id": "IT-a", "nation": "IT", "capability": "fighter", "units": 1})
    doc["tasks"] = [
        {"id": "air", "active": [1, 1], "requirements": [{"capability": "fighter", "units": 1}]},
        {
            "id": "sea",
            "active": [2, 3],
            "requirements": [{"capability": "fighter", "units": 1}],
            "min_nations": 2,
            "max_nations": 2,
        },
    ]
    plan = _plan(
        ("FR-a", 1, "air", 1, 1),
        ("FR-a", 2, "sea", 2, 2),
        ("GB-a", 1, "sea", 2, 2),
        ("IT-a", 1, "sea", 2, 3),
    )
    assert _messages(build(doc), plan) == [
        "max-nations[sea@2]: task 'sea' period 2: 3 nations, max_nations 2",
        "min-nations[sea@3]: task 'sea' period 3: 1 nations, min_nations 2",
    ]
    soft = build({**doc, "model": "coverage-first"})
    assert _messages(soft, plan) == ["max-nations[sea@2]: task 'sea' period 2: 3 nations, max_nations 2"]


def test_min_nations_is_not_a_rule_for_a_task_without_it() -> None:
    doc = base_instance(model={"shortfall": "hard", "objectives": ["cost"]})
    assert _messages(build(doc), _plan(("FR-a", 1, "air", 1, 4))) == []


def test_hard_demand_message() -> None:
    doc = base_instance(horizon={"periods": 2}, model="min-cost")
    assert _messages(build(doc), _plan(("FR-a", 1, "air", 1, 1))) == [
        "demand[air:fighter@2]: task 'air' period 2: 1 'fighter' unit(s) uncovered"
    ]


def _led(**lead: Any) -> allocator.Instance:
    """Two tasks over 6 periods: 'air' without a lead, 'sea' led in terms of 2 by FR or GB."""
    doc = base_instance(horizon={"periods": 6})
    doc["tasks"] = [
        {"id": "air", "requirements": [{"capability": "fighter", "units": 1}]},
        {
            "id": "sea",
            "requirements": [{"capability": "fighter", "units": 1}],
            "lead": {"nations": ["FR", "GB"], "term": 2, "contribution": 0, **lead},
        },
    ]
    return build(doc)


def _terms(*nations: str, task: str = "sea", term: int = 2) -> list[Plan]:
    return [
        {"task": task, "nation": n, "start": 1 + k * term, "end": (k + 1) * term}
        for k, n in enumerate(nations)
    ]


def test_a_led_task_without_any_lead_term() -> None:
    assert _messages(_led(first="FR"), _plan()) == [
        f"lead-one[sea#{(p - 1) // 2}]: task 'sea' period {p}: 0 leads, needs exactly one"
        for p in range(1, 7)
    ]


def test_a_lead_term_on_a_task_without_a_lead() -> None:
    leads = [*_terms("FR", "GB", "FR"), {"task": "air", "nation": "FR", "start": 1, "end": 1}]
    assert _messages(_led(), _plan(leads=leads)) == ["lead-one: leads[3]: task 'air' has no lead"]


def test_a_lead_changing_inside_a_term() -> None:
    leads = [
        {"task": "sea", "nation": "FR", "start": 1, "end": 2},
        {"task": "sea", "nation": "FR", "start": 3, "end": 3},
        {"task": "sea", "nation": "GB", "start": 4, "end": 6},
    ]
    assert _messages(_led(rotate=False), _plan(leads=leads)) == [
        "lead-one[sea#1]: task 'sea' term 2 (3-4): lead changes inside the term (FR, GB)"
    ]
    leads = [
        {"task": "sea", "nation": "GB", "start": 1, "end": 2},
        {"task": "sea", "nation": "FR", "start": 3, "end": 6},
    ]
    assert _messages(_led(rotate=False, term=3), _plan(leads=leads)) == [
        "lead-one[sea#0]: task 'sea' term 1 (1-3): lead changes inside the term (FR, GB)"
    ]


def test_lead_first_and_rotate_messages() -> None:
    assert _messages(_led(first="FR"), _plan(leads=_terms("GB", "FR", "FR"))) == [
        "lead-first[sea]: task 'sea': first term led by 'GB', must be 'FR'",
        "lead-rotate[sea#1]: task 'sea': terms 2 and 3 both led by 'FR'",
    ]
    assert _messages(_led(rotate=False), _plan(leads=_terms("GB", "FR", "FR"))) == []


def test_rotation_is_checked_on_every_led_task() -> None:
    """The first led task does not rotate; the second does and is checked all the same."""
    doc = base_instance(horizon={"periods": 4})
    doc["tasks"] = [
        {
            "id": t,
            "requirements": [{"capability": "fighter", "units": 1}],
            "lead": {"nations": ["FR", "GB"], "term": 2, "rotate": t == "sea", "contribution": 0},
        }
        for t in ("air", "sea")
    ]
    plan = _plan(leads=[*_terms("FR", "FR", task="air"), *_terms("GB", "GB", task="sea")])
    assert _messages(build(doc), plan) == ["lead-rotate[sea#0]: task 'sea': terms 1 and 2 both led by 'GB'"]


def test_lead_contribution_counts_every_offer_of_the_lead() -> None:
    doc = base_instance(horizon={"periods": 2})
    doc["offers"].append({"id": "FR-b", "nation": "FR", "capability": "fighter", "units": 1})
    doc["tasks"][0]["lead"] = {"nations": ["FR"], "term": 2, "contribution": 2}
    doc["tasks"][0]["requirements"][0]["units"] = 2
    leads = [{"task": "air", "nation": "FR", "start": 1, "end": 2}]
    two_offers = _plan(("FR-a", 1, "air", 1, 2), ("FR-b", 1, "air", 1, 2), leads=leads)
    assert _messages(build(doc), two_offers) == []
    one = _plan(("FR-a", 1, "air", 1, 2), ("GB-a", 1, "air", 2, 2), leads=leads)
    assert _messages(build(doc), one) == [
        "lead-contribution[air>FR@1]: task 'air' period 1: lead 'FR' deploys 1 unit(s), contribution 2",
        "lead-contribution[air>FR@2]: task 'air' period 2: lead 'FR' deploys 1 unit(s), contribution 2",
    ]


# the report rule: objectives and the shortfall list -------------------------------------------------
def _reported(instance: allocator.Instance, plan: Plan) -> list[str]:
    return [v.message for v in check(instance, plan).violations if v.rule == "report"]


def test_objectives_missing_or_wrong() -> None:
    instance = _tiny()
    plan = _plan(("FR-a", 1, "air", 1, 4))
    true = check(instance, plan).objectives
    assert true == {"shortfall": 0.0, "surplus": 0.0, "fairness": 4.0, "deployments": 1.0, "cost": 4.0}
    plan["shortfalls"] = []
    plan["objectives"] = {**true, "cost": 5.0}
    del plan["objectives"]["fairness"]
    assert _reported(instance, plan) == [
        "objectives.fairness missing (the model optimises it)",
        "objectives.cost is 5 but the plan gives 4",
    ]


def test_a_close_objective_passes_and_a_far_one_does_not() -> None:
    assert _close(1e6, 1e6 + 0.5) and not _close(1e6, 1e6 + 2)
    assert _close(0.0, 5e-7) and not _close(0.0, 1.5e-6)
    assert _close(0.0, 1e-6) and not _close(3.0, 3.0 + 4e-6)
    # the tolerance scales with the larger of the two, whichever comes first
    assert _close(1e7, 1e7 - 9.9999999) and _close(1e7 - 9.9999999, 1e7)


def test_shortfall_list_in_words_and_in_order() -> None:
    doc = base_instance(horizon={"periods": 2})
    doc["tasks"][0]["min_nations"] = 2
    instance = build(doc)
    plan = _plan(("FR-a", 1, "air", 1, 2))
    plan["objectives"] = check(instance, plan).objectives
    plan["shortfalls"] = [  # period 1 correct, period 2 with a wrong nation count, two invented
        {"task": "air", "period": 1, "nations": 1},
        {"task": "air", "period": 2, "nations": 2},
        {"task": "zz", "capability": "fighter", "period": 1, "units": 1},
        {"task": "air", "capability": "fighter", "period": 2, "units": 3},
    ]
    assert _reported(instance, plan) == [
        "shortfalls: not listed: task 'air' period 2: 1 nation(s) short",
        "shortfalls: listed, but not in the plan: task 'air' period 2: 2 nation(s) short",
        "shortfalls: listed, but not in the plan: task 'air' period 2: 3 'fighter' unit(s) short",
        "shortfalls: listed, but not in the plan: task 'zz' period 1: 1 'fighter' unit(s) short",
    ]


def test_listed_shortfalls_sort_by_capability_name_with_missing_nations_first() -> None:
    instance = _tiny()
    plan = _plan(("FR-a", 1, "air", 1, 4))
    plan["objectives"] = check(instance, plan).objectives
    plan["shortfalls"] = [
        {"task": "air", "capability": "c'", "period": 2, "units": 1},
        {"task": "air", "capability": "b", "period": 2, "units": 1},
        {"task": "air", "capability": "Alpha", "period": 2, "units": 1},
        {"task": "air", "period": 2, "nations": 1},
    ]
    assert [m.split(": ", 2)[2] for m in _reported(instance, plan)] == [
        "task 'air' period 2: 1 nation(s) short",
        "task 'air' period 2: 1 'Alpha' unit(s) short",
        "task 'air' period 2: 1 'b' unit(s) short",
        "task 'air' period 2: 1 'c'' unit(s) short",
    ]


def test_listed_shortfalls_of_odd_periods_sort_first() -> None:
    instance = _tiny()
    plan = _plan(("FR-a", 1, "air", 1, 4))
    plan["objectives"] = check(instance, plan).objectives
    plan["shortfalls"] = [
        {"task": "air", "capability": "c", "period": 1, "units": 1},
        {"task": "air", "capability": "z", "period": "x", "units": 1},
        {"task": "air", "capability": "a", "period": -1, "units": 1},
        {"task": "air", "capability": "a", "period": -1, "units": 2},
    ]
    assert [m.split(": ", 2)[2] for m in _reported(instance, plan)] == [
        "task 'air' period -1: 1 'a' unit(s) short",
        "task 'air' period -1: 2 'a' unit(s) short",
        "task 'air' period x: 1 'z' unit(s) short",
        "task 'air' period 1: 1 'c' unit(s) short",
    ]


# the report and its plumbing ----------------------------------------------------------------------
def test_report_fields_and_text() -> None:
    instance = _tiny()
    good = _plan(("FR-a", 1, "air", 1, 4))
    good["objectives"], good["shortfalls"] = check(instance, good).objectives, []
    report = check(instance, good)
    assert (report.ok, str(report), report.status) == (True, "ok", "feasible")
    assert report.objectives["cost"] == 4.0
    bad = copy.deepcopy(good)
    bad["assignments"].append({"offer": "nope", "unit": 1, "task": "air", "start": 1, "end": 1})
    bad["objectives"]["cost"] = 9
    report = check(instance, bad)
    assert str(report).splitlines() == [
        "reference: assignments[1]: unknown offer 'nope'",
        "report: objectives.cost is 9 but the plan gives 4",
    ]


def test_a_plan_of_another_instance_is_one_violation() -> None:
    report = check(_tiny(), {**_plan(("nope", 1, "air", 1, 1)), "instance": "other"})
    assert [str(v) for v in report.violations] == [
        "reference: the solution is for instance 'other', not 'tiny'"
    ]
    assert (report.objectives, report.status) == ({}, "feasible")


def test_a_status_without_a_plan_and_a_plan_behind_it() -> None:
    instance = _tiny()
    empty = check(instance, {"instance": "tiny", "status": "unknown", "solver": {}})
    assert (empty.ok, empty.objectives, empty.status) == (True, {}, "unknown")
    hidden = check(instance, {**_plan(("FR-a", 1, "air", 1, 1)), "status": "infeasible"})
    assert [str(v) for v in hidden.violations] == ["report: status 'infeasible' but the file holds a plan"]
    assert (hidden.objectives, hidden.status) == ({}, "infeasible")


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        ([], [("", "a solution must be a JSON object")]),
        (
            {"status": "great", "objectives": {"cost": "4"}},
            [
                ("status", "must be one of optimal, feasible, infeasible, unknown, got 'great'"),
                ("objectives", "must map objective names to numbers"),
            ],
        ),
        ({"status": "optimal", "objectives": [1]}, [("objectives", "must map objective names to numbers")]),
        (
            {"status": "optimal", "objectives": {"cost": True}},
            [("objectives", "must map objective names to numbers")],
        ),
        (
            {"status": "optimal", "assignments": "none", "leads": [3], "shortfalls": {}},
            [
                ("assignments", "must be a list"),
                ("leads[0]", "must be a mapping"),
                ("shortfalls", "must be a list"),
            ],
        ),
        (
            {
                "status": "optimal",
                "assignments": [{"offer": 1, "unit": "1", "task": None, "start": 1.5, "end": True}],
            },
            [
                ("assignments[0].offer", "must be a string, got 1"),
                ("assignments[0].unit", "must be an integer, got '1'"),
                ("assignments[0].task", "must be a string, got None"),
                ("assignments[0].start", "must be an integer, got 1.5"),
                ("assignments[0].end", "must be an integer, got True"),
            ],
        ),
        (
            {"status": "optimal", "leads": [{"task": 3, "nation": [], "start": "1", "end": None}]},
            [
                ("leads[0].task", "must be a string, got 3"),
                ("leads[0].nation", "must be a string, got []"),
                ("leads[0].start", "must be an integer, got '1'"),
                ("leads[0].end", "must be an integer, got None"),
            ],
        ),
    ],
)
def test_every_problem_of_a_malformed_solution(document: Any, problems: list[tuple[str, str]]) -> None:
    with pytest.raises(InputError) as caught:
        check(_tiny(), document, "sol.json")
    assert caught.value.source == "sol.json"
    assert [(p.path, p.message) for p in caught.value.problems] == problems
    with pytest.raises(InputError) as unnamed:
        check(_tiny(), document)
    assert unnamed.value.source == "<solution>"


def test_a_well_formed_solution_keeps_what_it_says() -> None:
    from allocator.checker.solution import parse_solution

    parsed = parse_solution({"status": "optimal", "objectives": {"cost": 2}}, "s.json")
    assert (parsed.instance, parsed.status, parsed.objectives, parsed.tours, parsed.terms) == (
        "",
        "optimal",
        {"cost": 2},
        (),
        (),
    )


def test_require_same_instance_names_the_file_and_warns_on_other_data() -> None:
    instance = _tiny()
    plan = _plan(("FR-a", 1, "air", 1, 1), solver={"instance_digest": instance_digest(instance)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for the same data, nor without a digest
        assert require_same_instance(instance, plan, "p.json").tours[0].offer == "FR-a"
        assert require_same_instance(instance, {**plan, "solver": {}}, "p.json").status == "feasible"
        assert require_same_instance(instance, {**plan, "solver": {"instance_digest": 7}}, "p.json")
        other_model = instance.replace(model="min-cost")  # as `solve --model min-cost` solves it
        assert require_same_instance(other_model, plan, "p.json")
    with pytest.raises(InputError) as caught:
        require_same_instance(instance, {**plan, "instance": "other"}, "p.json")
    assert caught.value.render() == "p.json: instance: the solution is for instance 'other', not 'tiny'"
    edited = build(base_instance(nations=[{"id": "FR", "share": 2}, {"id": "GB"}]))
    with pytest.warns(InputWarning) as caught_warnings:
        require_same_instance(edited, plan, "p.json")
    (warning,) = caught_warnings
    assert str(warning.message) == (
        "p.json: solver.instance_digest: the plan was made for other data of instance 'tiny' (edited "
        "since, or another file of the same name): it is judged against the data given"
    )


def test_check_file_names_the_file(tmp_path: Path) -> None:
    instance = _tiny()
    path = tmp_path / "p.json"
    path.write_text('{"instance": "other", "status": "unknown"}')
    with pytest.raises(InputError) as caught:
        check_file(instance, path)
    assert caught.value.source == str(path)
    path.write_text('{"instance": "tiny", "status": "optimal", "assignments": 1}')
    with pytest.raises(InputError) as malformed:
        check_file(instance, path)
    assert malformed.value.render() == f"{path}: assignments: must be a list"
    path.write_text('{"instance": "tiny", "status": "feasible", "assignments": []}')
    assert check_file(instance, path).status == "feasible"
