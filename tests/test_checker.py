"""The checker rejects plans that break a rule, by mutating valid plans, and reads files safely."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import allocator
from allocator.errors import InputError
from tests.conftest import EXAMPLES

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
