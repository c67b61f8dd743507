"""Plans shared by the report tests: a small hand-made plan and the reassurance scenario's path."""

from __future__ import annotations

from typing import Any

import allocator
from allocator.checker.solution import parse_solution
from allocator.report.tables import PlanTables, plan_tables
from tests.helpers.instances import ROOT, base_instance, build

REASSURANCE = ROOT / "instances" / "reassurance.yaml"


def small_instance(min_nations: int = 0, **model: Any) -> allocator.Instance:
    """Three nations with equal shares; `air` needs 2 fighters in periods 1-4 (and `min_nations`
    nations, when given) and has a lead; `cap` is active in periods 2-4 and needs 1 fighter in
    periods 3-4 only."""
    doc = base_instance()
    doc["nations"] = [
        {"id": "GB", "name": "United Kingdom"},
        {"id": "FR", "name": "France"},
        {"id": "IT", "name": "Italy"},
    ]
    doc["offers"].append({"id": "IT-a", "nation": "IT", "capability": "fighter", "units": 1, "cost": 1})
    doc["tasks"][0]["requirements"][0]["units"] = 2
    doc["tasks"][0]["lead"] = {"nations": ["FR", "GB"], "term": 2}
    if min_nations:
        doc["tasks"][0]["min_nations"] = min_nations
    doc["tasks"].append(
        {
            "id": "cap",
            "active": [2, 4],
            "requirements": [{"capability": "fighter", "units": 1, "periods": [3, 4]}],
        }
    )
    if model:
        doc["model"] = model
    return build(doc)


#: A plan for `small_instance`: `air` is one unit short in periods 1-2, `cap` in period 4; `air` has
#: one nation (FR) in periods 1-2 and two (FR, GB) in periods 3-4.
SMALL_PLAN: dict[str, Any] = {
    "instance": "tiny",
    "status": "feasible",
    "assignments": [
        {"offer": "FR-a", "unit": 1, "task": "air", "start": 1, "end": 4},
        {"offer": "GB-a", "unit": 1, "task": "air", "start": 3, "end": 4},
        {"offer": "IT-a", "unit": 1, "task": "cap", "start": 3, "end": 3},
    ],
    "leads": [
        {"task": "air", "nation": "FR", "start": 1, "end": 2},
        {"task": "air", "nation": "GB", "start": 3, "end": 4},
    ],
    "shortfalls": [],
}


def small_tables(min_nations: int = 0) -> tuple[allocator.Instance, PlanTables]:
    instance = small_instance(min_nations)
    return instance, plan_tables(instance, parse_solution(SMALL_PLAN, "<plan>"))
