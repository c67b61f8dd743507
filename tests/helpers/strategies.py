"""Hypothesis strategies: random small instances that are valid by construction (mostly)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from allocator.instance.parts import Horizon, Offer, Task
from allocator.instance.validation import could_serve

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
        task["lead"] = draw(leads(NATIONS, max_size=3, max_term=3))
    return task


@st.composite
def leads(draw: st.DrawFn, candidates: list[str], max_size: int, max_term: int) -> dict[str, Any]:
    """A task's lead: some of `candidates` eligible, a term, rotation, contribution, maybe `first`."""
    nations = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=max_size, unique=True))
    lead: dict[str, Any] = {
        "nations": nations,
        "term": draw(st.integers(1, max_term)),
        "rotate": draw(st.booleans()),
        "contribution": draw(st.integers(0, 1)),
    }
    if draw(st.booleans()):
        lead["first"] = nations[0]
    return lead


MODELS = st.sampled_from(
    [
        "coverage-first",
        "min-cost",
        "fair-share",
        {"fairness": "cost", "objectives": [{"shortfall": 2, "cost": 1}, "deployments"]},
        {"shortfall": "hard", "fairness": "personnel", "objectives": ["fairness", "cost"]},
        {"objectives": [{"shortfall": 2, "surplus": 1}, "fairness"]},
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


# instances with real choices ---------------------------------------------------------------------
@st.composite
def choice_instances(draw: st.DrawFn, max_periods: int = 4, max_offers: int = 3) -> dict[str, Any]:
    """Small instances biased towards feasible ones with several valid plans: every task demands
    units, every offer has a capability some task demands and a window that meets its tasks,
    nations' caps are drawn around what their offers need (so that they bind sometimes), and
    tour, rest, caveat, nation-count and lead rules appear often."""
    periods = draw(st.integers(2, max_periods))
    capabilities = CAPABILITIES[: draw(st.integers(1, 2))]
    task_ids = TASKS[: draw(st.integers(1, 2))]
    tasks = [draw(_demanding_task(name, periods, capabilities)) for name in task_ids]
    demanded = sorted({r["capability"] for t in tasks for r in t["requirements"]})
    count = draw(st.integers(1, max_offers))
    offers = [draw(_matching_offer(i, periods, demanded, task_ids)) for i in range(count)]
    nations = [draw(_nation(n, offers, periods)) for n in NATIONS]
    for task in tasks:
        _maybe_lead(draw, task, offers)
    doc = {
        "name": "choices",
        "horizon": {"periods": periods},
        "nations": nations,
        "capabilities": [{"id": c, "domain": "any"} for c in capabilities],
        "offers": offers,
        "tasks": tasks,
        "model": draw(CHOICE_MODELS),
    }
    _repair_leads(doc)
    return doc


#: The models of MODELS, soft demand three times as likely as hard (hard demand is mostly infeasible).
CHOICE_MODELS = st.sampled_from(
    [
        *[
            "coverage-first",
            "fair-share",
            {"fairness": "cost", "objectives": [{"shortfall": 2, "cost": 1}, "deployments"]},
            {"objectives": [{"shortfall": 2, "surplus": 1}, "fairness"]},
        ]
        * 2,
        "min-cost",
        {"shortfall": "hard", "fairness": "personnel", "objectives": ["fairness", "cost"]},
    ]
)


@st.composite
def _demanding_task(draw: st.DrawFn, name: str, periods: int, capabilities: list[str]) -> dict[str, Any]:
    lo, hi = draw(windows(1, periods)) if draw(st.booleans()) else (1, periods)
    task: dict[str, Any] = {"id": name, "active": [lo, hi], "priority": draw(st.sampled_from([1, 2, 0.5]))}
    requirements = [{"capability": draw(st.sampled_from(capabilities)), "units": draw(st.integers(1, 2))}]
    if draw(st.integers(0, 3)) == 0:
        extra: dict[str, Any] = {"capability": draw(st.sampled_from(capabilities)), "units": 1}
        extra["periods"] = draw(windows(lo, hi))
        requirements.append(extra)
    task["requirements"] = requirements
    if draw(st.integers(0, 2)) == 0:
        task["min_nations"] = draw(st.integers(1, 2))
    if draw(st.integers(0, 2)) == 0:
        task["max_nations"] = max(1, task.get("min_nations", 0)) + draw(st.integers(0, 1))
    return task


@st.composite
def _matching_offer(
    draw: st.DrawFn, i: int, periods: int, capabilities: list[str], tasks: list[str]
) -> dict[str, Any]:
    offer: dict[str, Any] = {
        "id": f"o{i}",
        "nation": draw(st.sampled_from(NATIONS)),
        "capability": draw(st.sampled_from(capabilities)),
        "units": draw(st.integers(1, 2)),
        "personnel": draw(st.sampled_from([50, 100])),
        "cost": draw(st.sampled_from([1, 2.5, 4])),
        "min_tour": draw(st.sampled_from([1, 1, 2])),
        "min_rest": draw(st.integers(0, 1)),
    }
    if draw(st.booleans()):
        offer["max_tour"] = offer["min_tour"] + draw(st.integers(0, 1))
    if draw(st.integers(0, 2)) == 0:
        offer["available"] = draw(windows(1, periods))
    if len(tasks) > 1 and draw(st.integers(0, 3)) == 0:
        offer["tasks"] = [draw(st.sampled_from(tasks))]
    return offer


@st.composite
def _nation(draw: st.DrawFn, nation: str, offers: list[dict[str, Any]], periods: int) -> dict[str, Any]:
    """A nation whose caps, when drawn, lie around what its offers could deploy: they bind sometimes."""
    entry: dict[str, Any] = {"id": nation, "share": draw(st.sampled_from([1, 2, 3.5]))}
    own = [o for o in offers if o["nation"] == nation]
    if own and draw(st.integers(0, 2)) == 0:  # at least one unit, at most all of them at once
        one = min(o["personnel"] for o in own)
        most = sum(o["units"] * o["personnel"] for o in own)
        entry["max_personnel"] = draw(st.sampled_from(sorted({one, max(one, most // 2), most - 1})))
    if own and draw(st.integers(0, 2)) == 0:  # from one unit-period to nearly everything
        one = min(o["cost"] for o in own)
        most = sum(o["units"] * o["cost"] * periods for o in own)
        entry["budget"] = draw(st.sampled_from(sorted({one, max(one, most / 2), most - 0.5})))
    return entry


def _maybe_lead(draw: st.DrawFn, task: dict[str, Any], offers: list[dict[str, Any]]) -> None:
    candidates = sorted({o["nation"] for o in offers})
    if candidates and draw(st.integers(0, 2)) == 0:
        task["lead"] = draw(leads(candidates, max_size=2, max_term=2))
