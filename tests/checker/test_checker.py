"""The checker rejects plans that break a rule, by mutating valid plans, and reads files safely."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import allocator
from allocator.errors import InputError
from tests.helpers.instances import EXAMPLES, ROOT, base_instance, build

Plan = dict[str, Any]


@pytest.fixture(scope="module")
def lead_plan() -> tuple[allocator.Instance, Plan]:
    instance = allocator.load_instance(EXAMPLES / "lead-rotation.yaml")
    result = allocator.solve(instance, threads=1, time_limit=20)
    assert result.status == "optimal"
    return instance, result.to_json()


def rules_broken(instance: allocator.Instance, plan: Plan) -> set[str]:
    return {v.rule for v in allocator.check(instance, plan).violations}


def test_valid_plan_passes(lead_plan: tuple[allocator.Instance, Plan]) -> None:
    instance, plan = lead_plan
    report = allocator.check(instance, plan)
    assert report.ok, str(report)
    assert report.objectives == pytest.approx(plan["objectives"])


def _mutations() -> list[tuple[str, Any]]:
    def unknown_offer(p: Plan) -> None:
        p["assignments"][0]["offer"] = "nope"

    def unit_out_of_range(p: Plan) -> None:
        p["assignments"][0]["unit"] = 99

    def outside_horizon(p: Plan) -> None:
        p["assignments"][-1]["end"] = 13

    def duplicate_tour(p: Plan) -> None:
        p["assignments"].append(dict(p["assignments"][0]))

    def touching_tour(p: Plan) -> None:
        first = p["assignments"][0]
        p["assignments"].append({**first, "start": first["end"] + 1, "end": first["end"] + 1})

    def wrong_objective(p: Plan) -> None:
        p["objectives"]["cost"] += 1

    def missing_objective(p: Plan) -> None:
        del p["objectives"]["fairness"]

    def wrong_surplus(p: Plan) -> None:
        p["objectives"]["surplus"] += 1

    def missing_surplus(p: Plan) -> None:  # reported by every solution, optimised or not
        del p["objectives"]["surplus"]

    def invented_shortfall(p: Plan) -> None:
        p["shortfalls"].append({"task": "mnhq", "capability": "hq-staff", "period": 1, "units": 1})

    def lead_swapped_mid_term(p: Plan) -> None:
        term = p["leads"][0]
        other = next(n for n in ("FR", "GB", "IT") if n != term["nation"])
        p["leads"][0] = {**term, "end": term["start"]}
        p["leads"].insert(1, {**term, "nation": other, "start": term["start"] + 1})

    def lead_missing(p: Plan) -> None:
        p["leads"].pop()

    def first_changed(p: Plan) -> None:
        p["leads"][0]["nation"] = "GB"

    def no_rotation(p: Plan) -> None:
        p["leads"][1]["nation"] = p["leads"][0]["nation"]

    def lead_without_units(p: Plan) -> None:
        term = p["leads"][0]
        p["assignments"] = [
            a
            for a in p["assignments"]
            if not (a["offer"].startswith(term["nation"]) and a["start"] <= term["end"])
        ]

    return [
        ("reference", unknown_offer),
        ("reference", unit_out_of_range),
        ("placement", outside_horizon),
        ("unit-capacity", duplicate_tour),
        ("unit-capacity", touching_tour),
        ("report", wrong_objective),
        ("report", missing_objective),
        ("report", wrong_surplus),
        ("report", missing_surplus),
        ("report", invented_shortfall),
        ("lead-one", lead_swapped_mid_term),
        ("lead-one", lead_missing),
        ("lead-first", first_changed),
        ("lead-rotate", no_rotation),
        ("lead-contribution", lead_without_units),
    ]


@pytest.mark.parametrize(("rule", "mutate"), _mutations(), ids=lambda x: getattr(x, "__name__", x))
def test_checker_catches_mutation(lead_plan: tuple[allocator.Instance, Plan], rule: str, mutate: Any) -> None:
    instance, plan = lead_plan
    broken = copy.deepcopy(plan)
    mutate(broken)
    assert rule in rules_broken(instance, broken)


def test_infeasible_status_needs_no_plan(lead_plan: tuple[allocator.Instance, Plan]) -> None:
    instance, _ = lead_plan
    assert allocator.check(instance, {"instance": instance.name, "status": "infeasible", "solver": {}}).ok


def test_solution_for_another_instance(lead_plan: tuple[allocator.Instance, Plan]) -> None:
    instance, plan = lead_plan
    assert "reference" in rules_broken(instance, {**plan, "instance": "other"})


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ([], ""),
        ({"status": "great"}, "status"),
        (
            {
                "status": "optimal",
                "assignments": [{"offer": "x", "unit": "one", "task": "t", "start": 1, "end": 2}],
            },
            "assignments[0].unit",
        ),
        ({"status": "optimal", "assignments": "none"}, "assignments"),
        (
            {"status": "optimal", "leads": [{"task": "t", "nation": 3, "start": 1, "end": 2}]},
            "leads[0].nation",
        ),
    ],
)
def test_malformed_solution_is_input_error(
    lead_plan: tuple[allocator.Instance, Plan], document: Any, path: str
) -> None:
    instance, _ = lead_plan
    with pytest.raises(InputError) as info:
        allocator.check(instance, document, "sol.json")
    assert any(p.path == path for p in info.value.problems), info.value.render()


def test_check_file(tmp_path: Path, lead_plan: tuple[allocator.Instance, Plan]) -> None:
    instance, plan = lead_plan
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert allocator.check_file(instance, path).ok


def test_shortfall_list_problems_are_said_in_words(lead_plan: tuple[allocator.Instance, Plan]) -> None:
    instance, plan = lead_plan
    broken = copy.deepcopy(plan)
    broken["shortfalls"] = [
        {"task": "mnhq", "capability": "hq-staff", "period": p, "units": 1} for p in (10, 2, 1)
    ]
    messages = [v.message for v in allocator.check(instance, broken).violations if v.rule == "report"]
    assert messages == [
        f"shortfalls: listed, but not in the plan: task 'mnhq' period {p}: 1 'hq-staff' unit(s) short"
        for p in (1, 2, 10)
    ]


# branches of the checker that a solver's plan never reaches: plans written by hand ---------------------
def _terms_instance() -> allocator.Instance:
    """Three nations, one task active in 1-3 of 4 periods, led by FR or GB in terms of 2 periods."""
    doc = base_instance(
        horizon={"periods": 4},
        nations=[{"id": "FR"}, {"id": "GB"}, {"id": "IT"}],
        offers=[
            {"id": f"{n}-a", "nation": n, "capability": "fighter", "units": 1} for n in ("FR", "GB", "IT")
        ],
        tasks=[
            {
                "id": "air",
                "active": [1, 3],
                "requirements": [{"capability": "fighter", "units": 1}],
                "lead": {"nations": ["FR", "GB"], "term": 2, "contribution": 0},
            }
        ],
    )
    return build(doc)


def _valid_terms_plan() -> Plan:
    return {
        "instance": "tiny",
        "status": "feasible",
        "assignments": [{"offer": "FR-a", "unit": 1, "task": "air", "start": 1, "end": 3}],
        "leads": [
            {"task": "air", "nation": "FR", "start": 1, "end": 2},
            {"task": "air", "nation": "GB", "start": 3, "end": 3},
        ],
    }


def _hand_mutations() -> list[tuple[str, str, Any]]:
    def two_leads_in_a_period(p: Plan) -> None:
        p["leads"].append({"task": "air", "nation": "GB", "start": 1, "end": 1})

    def ineligible_lead(p: Plan) -> None:
        p["leads"][1]["nation"] = "IT"

    def lead_outside_active_window(p: Plan) -> None:
        p["leads"][1]["end"] = 4

    def start_after_end(p: Plan) -> None:
        p["assignments"].append({"offer": "GB-a", "unit": 1, "task": "air", "start": 3, "end": 2})

    def unknown_task(p: Plan) -> None:
        p["assignments"].append({"offer": "GB-a", "unit": 1, "task": "sea", "start": 1, "end": 1})

    def lead_of_unknown_nation(p: Plan) -> None:
        p["leads"][1]["nation"] = "XX"

    return [
        ("lead-one", "period 1: 2 leads, needs exactly one", two_leads_in_a_period),
        ("lead-one", "period 3: lead 'IT' is not eligible", ineligible_lead),
        ("lead-one", "lead given for period 4, outside its active window", lead_outside_active_window),
        ("reference", "assignments[1]: start 3 after end 2", start_after_end),
        ("reference", "assignments[1]: unknown task 'sea'", unknown_task),
        ("reference", "leads[1]: unknown nation 'XX'", lead_of_unknown_nation),
    ]


def test_the_hand_written_plan_is_valid() -> None:
    report = allocator.check(_terms_instance(), _valid_terms_plan())
    assert {v.rule for v in report.violations} <= {"report"}, str(report)


@pytest.mark.parametrize(
    ("rule", "message", "mutate"), _hand_mutations(), ids=lambda x: getattr(x, "__name__", None)
)
def test_checker_catches_hand_written_violation(rule: str, message: str, mutate: Any) -> None:
    plan = _valid_terms_plan()
    mutate(plan)
    found = [v for v in allocator.check(_terms_instance(), plan).violations if v.rule == rule]
    assert any(message in v.message for v in found), found


@pytest.mark.parametrize(("end", "broken"), [(4, False), (3, True)])
def test_a_short_tour_is_allowed_only_when_it_ends_in_the_last_period(end: int, broken: bool) -> None:
    """min_tour 3 over 4 periods: a 2-period tour ending at T passes, one ending at T - 1 fails."""
    doc = base_instance(
        horizon={"periods": 4},
        offers=[{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1, "min_tour": 3}],
    )
    plan = {
        "instance": "tiny",
        "status": "feasible",
        "assignments": [{"offer": "FR-a", "unit": 1, "task": "air", "start": end - 1, "end": end}],
    }
    rules = {v.rule for v in allocator.check(build(doc), plan).violations}
    assert ("tour-length" in rules) is broken, rules
    assert rules - {"tour-length", "report"} == set()


def test_the_checker_imports_nothing_from_model_building() -> None:
    """The checker shares no code with model building: no import, anywhere in its files (inside
    functions too), of the backends, the formulation's structure, the index, the plan or the API."""
    import ast

    forbidden = (
        "allocator.backends",
        "allocator.indices",
        "allocator.plan",
        "allocator.api",
        "allocator.rules",
    )
    package = ROOT / "allocator" / "checker"
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            found += [f"{path.name}: {n}" for n in names if n.startswith(forbidden)]
    assert not found, found
    assert list(package.rglob("*.py")), "the checker package was not found"
