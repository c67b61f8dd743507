"""Hypothesis strategies: random small instances that are valid by construction (mostly)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from allocator.instance import Horizon, Offer, Task
from allocator.validation import could_serve

NATIONS = ["FR", "GB", "IT"]
CAPABILITIES = ["fighter", "frigate"]
TASKS = ["t1", "t2"]


@st.composite
def windows(draw: st.DrawFn, lo: int, hi: int) -> list[int]:
    first = draw(st.integers(lo, hi))
    return [first, draw(st.integers(first, hi))]


@st.composite
def offers(draw: st.DrawFn, i: int, periods: int, tasks: list[str]) -> dict[str, Any]:
    offer: dict[str, Any] = {
        "id": f"o{i}",
        "nation": draw(st.sampled_from(NATIONS)),
        "capability": draw(st.sampled_from(CAPABILITIES)),
        "units": draw(st.integers(1, 3)),
        "personnel": draw(st.sampled_from([0, 50, 100])),
        "cost": draw(st.sampled_from([0, 1, 2.5, 4])),
        "min_tour": draw(st.integers(1, 3)),
        "min_rest": draw(st.integers(0, 2)),
    }
    if draw(st.booleans()):
        offer["max_tour"] = offer["min_tour"] + draw(st.integers(0, 2))
    if draw(st.booleans()):
        offer["available"] = draw(windows(1, periods))
    if draw(st.integers(0, 3)) == 0:
        offer["tasks"] = [draw(st.sampled_from(tasks))]
    return offer


@st.composite
def tasks(draw: st.DrawFn, name: str, periods: int) -> dict[str, Any]:
    lo, hi = draw(windows(1, periods))
    task: dict[str, Any] = {
        "id": name,
        "active": [lo, hi],
        "priority": draw(st.sampled_from([1, 2, 0.5])),
    }
    requirements = []
    for _ in range(draw(st.integers(1, 2))):
        req: dict[str, Any] = {
            "capability": draw(st.sampled_from(CAPABILITIES)),
            "units": draw(st.sampled_from([0, 1, 1, 2])),
        }
        if draw(st.booleans()):
            req["periods"] = draw(windows(lo, hi))
        requirements.append(req)
    task["requirements"] = requirements
    task["min_nations"] = draw(st.integers(0, 2))
    if draw(st.booleans()):
        task["max_nations"] = max(1, task["min_nations"]) + draw(st.integers(0, 1))
    if draw(st.integers(0, 2)) == 0:
        nations = draw(st.lists(st.sampled_from(NATIONS), min_size=1, max_size=3, unique=True))
        lead: dict[str, Any] = {
            "nations": nations,
            "term": draw(st.integers(1, 3)),
            "rotate": draw(st.booleans()),
            "contribution": draw(st.integers(0, 1)),
        }
        if draw(st.booleans()):
            lead["first"] = nations[0]
        task["lead"] = lead
    return task


MODELS = st.sampled_from(
    [
        "coverage-first",
        "min-cost",
        "fair-share",
        {"fairness": "cost", "objectives": [{"shortfall": 2, "cost": 1}, "deployments"]},
        {"shortfall": "hard", "fairness": "personnel", "objectives": ["fairness", "cost"]},
    ]
)


@st.composite
def instances(draw: st.DrawFn) -> dict[str, Any]:
    periods = draw(st.integers(2, 6))
    task_ids = TASKS[: draw(st.integers(1, 2))]
    nations = []
    for nation in NATIONS:
        entry: dict[str, Any] = {"id": nation, "share": draw(st.sampled_from([1, 2, 3.5]))}
        if draw(st.integers(0, 3)) == 0:
            entry["max_personnel"] = draw(st.sampled_from([0, 100, 200]))
        if draw(st.integers(0, 3)) == 0:
            entry["budget"] = draw(st.sampled_from([0, 5, 12.5]))
        nations.append(entry)
    doc = {
        "name": "random",
        "horizon": {"periods": periods},
        "nations": nations,
        "capabilities": [{"id": c, "domain": "any"} for c in CAPABILITIES],
        "offers": [draw(offers(i, periods, task_ids)) for i in range(draw(st.integers(1, 4)))],
        "tasks": [draw(tasks(name, periods)) for name in task_ids],
        "model": draw(MODELS),
    }
    _repair_leads(doc)
    return doc


def _repair_leads(doc: dict[str, Any]) -> None:
    """Keep only lead nations with an offer that could serve the task; drop leads left empty."""
    horizon = Horizon(periods=doc["horizon"]["periods"])
    offers = [Offer.model_validate(o) for o in doc["offers"]]
    for task in doc["tasks"]:
        lead = task.get("lead")
        if not lead or not lead["contribution"]:
            continue
        parsed = Task.model_validate(task)
        lead["nations"] = [
            n
            for n in lead["nations"]
            if any(o.nation == n and could_serve(o, parsed, horizon) for o in offers)
        ]
        if not lead["nations"]:
            del task["lead"]
        elif lead.get("first") not in lead["nations"]:
            lead.pop("first", None)
