"""Hypothesis strategies: random small instances that are valid by construction (mostly), and
instances that use every field of the format (:func:`full_instances`)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from allocator.instance.parts import Horizon, Offer, Task
from allocator.instance.spec import OBJECTIVE_NAMES
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


# instances that use every field of the format ----------------------------------------------------
#: Ids that broke (or could break) a format: numbers and booleans as text, formula starts, list
#: separators and quotes, the workbook's "(none)", YAML's specials, non-Latin letters.
TRICKY_IDS = [
    "7",
    "1.0",
    "1e3",
    "TRUE",
    "NO",
    "null",
    "~",
    "-",
    "=cmd|' /C calc'!A0",
    "+1",
    "@x",
    "a, b",
    'say "hi"',
    '"quoted"',
    "(none)",
    "2027-03",
    "Київ",
    "a\u2028b",
    "emoji \U0001f600",
    "x" * 200,
]
#: Characters of free text: anything an XML part, YAML and JSON can all hold (no control
#: characters but tab and newline, no lone surrogates, no U+FFFE or U+FFFF).
TEXT_CHARACTERS = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters="".join(map(chr, [*range(0x09), 0x0B, 0x0C, *range(0x0D, 0x20), *range(0x7F, 0xA0)]))
    + "\ufffe\uffff",
)
ID_CHARACTERS = st.characters(
    blacklist_categories=("Cs", "Cc"),
    blacklist_characters="".join(map(chr, range(0x7F, 0xA0))) + "\ufffe\uffff",
)


def ids() -> st.SearchStrategy[str]:
    """An id: a tricky one, or 1 to 12 characters with no space at either end."""
    drawn = st.text(ID_CHARACTERS, min_size=1, max_size=12).filter(lambda s: s == s.strip())
    return st.one_of(st.sampled_from(TRICKY_IDS), drawn)


def texts() -> st.SearchStrategy[str]:
    """Free text: tricky, blank, with spaces or line breaks at its ends, or anything."""
    return st.one_of(
        st.sampled_from(
            ["", "  ", "Air policing, west", " padded ", "two\nlines\n", "tab\there", "=SUM(A1)"]
        ),
        st.text(TEXT_CHARACTERS, max_size=30),
    )


def amounts(most: float) -> st.SearchStrategy[float]:
    """A number from 0 to `most`: whole, with two decimal places, or any up to 6 decimal places
    below 1,000 (larger ones with 6 places can make sums too large to plan exactly)."""
    return st.one_of(
        st.integers(0, int(most)).map(float),
        st.integers(0, int(most * 100)).map(lambda x: x / 100),
        st.floats(0, min(most, 1000), allow_nan=False, allow_infinity=False).map(lambda x: round(x, 6)),
        st.sampled_from([0.1, 0.5, 2.5, 1e-6, float(most)]),
    )


def weights() -> st.SearchStrategy[float]:
    """A share or a priority: 0.000001 to 1,000,000."""
    return amounts(1e6).filter(lambda x: x >= 1e-6)


def _maybe(draw: st.DrawFn, key: str, strategy: st.SearchStrategy[Any], into: dict[str, Any]) -> None:
    if draw(st.booleans()):
        into[key] = draw(strategy)


@st.composite
def horizons(draw: st.DrawFn) -> dict[str, Any]:
    horizon: dict[str, Any] = {"periods": draw(st.integers(1, 30))}
    _maybe(draw, "unit", st.sampled_from(["month", "week", "quarter", "Monat"]), horizon)
    start = st.one_of(
        st.builds(lambda y, m: f"{y}-{m:02d}", st.integers(1990, 2100), st.integers(1, 12)),
        st.sampled_from(["2027-01", "2027-1", "March 2027", "W12", "2027"]),
        st.integers(1, 3000),
        texts(),
    )
    _maybe(draw, "start", start, horizon)
    return horizon


@st.composite
def _levels(draw: st.DrawFn) -> list[Any]:
    names = draw(st.permutations(OBJECTIVE_NAMES))[: draw(st.integers(1, len(OBJECTIVE_NAMES)))]
    levels: list[Any] = []
    while names:
        size = draw(st.integers(1, len(names)))
        group, names = names[:size], names[size:]
        if size == 1 and draw(st.booleans()):
            levels.append(group[0])
        else:  # weights as people write them (finer ones can be too large to plan exactly together)
            weight = st.one_of(st.integers(1, 1000), st.sampled_from([0.5, 0.25, 1.5, 0.001, 12.75]))
            levels.append({name: float(draw(weight)) for name in group})
    return levels


@st.composite
def model_specs(draw: st.DrawFn) -> Any:
    """A named model, or one written inline with any of its keys (a name that is a named model's
    included)."""
    if draw(st.booleans()):
        return draw(st.sampled_from(["coverage-first", "min-cost", "fair-share"]))
    spec: dict[str, Any] = {}
    _maybe(draw, "name", st.one_of(st.sampled_from(["coverage-first", "min-cost", "mine"]), texts()), spec)
    _maybe(draw, "description", texts(), spec)
    _maybe(draw, "shortfall", st.sampled_from(["soft", "hard"]), spec)
    _maybe(draw, "fairness", st.sampled_from(["units", "personnel", "cost"]), spec)
    _maybe(draw, "objectives", _levels(), spec)
    return spec


@st.composite
def full_instances(draw: st.DrawFn) -> dict[str, Any]:
    """A valid instance (mostly: leads are repaired to be) that switches on every field of the
    format, at random: for round trips through every file format."""
    horizon = draw(horizons())
    periods = horizon["periods"]
    nation_ids = draw(st.lists(ids(), min_size=1, max_size=4, unique=True))
    capability_ids = draw(st.lists(ids(), min_size=1, max_size=3, unique=True))
    task_ids = draw(st.lists(ids(), min_size=1, max_size=3, unique=True))
    offer_ids = draw(st.lists(ids(), min_size=0, max_size=5, unique=True))
    nations = []
    for nation_id in nation_ids:
        nation: dict[str, Any] = {"id": nation_id}
        _maybe(draw, "name", texts(), nation)
        _maybe(draw, "share", weights(), nation)
        _maybe(draw, "max_personnel", amounts(1e9), nation)
        _maybe(draw, "budget", amounts(1e9), nation)
        nations.append(nation)
    capabilities = [{"id": c, "domain": draw(texts().filter(str.strip))} for c in capability_ids]
    offers = []
    for offer_id in offer_ids:
        offer: dict[str, Any] = {
            "id": offer_id,
            "nation": draw(st.sampled_from(nation_ids)),
            "capability": draw(st.sampled_from(capability_ids)),
            "units": draw(st.integers(1, 5)),
        }
        _maybe(draw, "personnel", amounts(1e4), offer)
        _maybe(draw, "cost", amounts(1e6), offer)
        _maybe(draw, "available", windows(1, periods), offer)
        _maybe(draw, "min_tour", st.integers(1, 3), offer)
        if draw(st.booleans()):
            offer["max_tour"] = offer.get("min_tour", 1) + draw(st.integers(0, 3))
        _maybe(draw, "min_rest", st.integers(0, 3), offer)
        _maybe(draw, "tasks", st.lists(st.sampled_from(task_ids), max_size=3, unique=True), offer)
        offers.append(offer)
    tasks = [draw(_full_task(task_id, periods, capability_ids, nation_ids)) for task_id in task_ids]
    doc: dict[str, Any] = {
        "name": draw(st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True)),
        "horizon": horizon,
        "nations": nations,
        "capabilities": capabilities,
        "offers": offers,
        "tasks": tasks,
    }
    _maybe(draw, "model", model_specs(), doc)
    _repair_leads(doc)
    return doc


@st.composite
def _full_task(
    draw: st.DrawFn, task_id: str, periods: int, capabilities: list[str], nations: list[str]
) -> dict[str, Any]:
    task: dict[str, Any] = {"id": task_id}
    _maybe(draw, "name", texts(), task)
    _maybe(draw, "domain", texts(), task)
    lo, hi = draw(windows(1, periods))
    if draw(st.booleans()):
        task["active"] = [lo, hi]
    else:
        lo, hi = 1, periods
    _maybe(draw, "priority", weights(), task)
    requirements = []
    for _ in range(draw(st.integers(1, 4))):
        requirement: dict[str, Any] = {
            "capability": draw(st.sampled_from(capabilities)),
            "units": draw(st.integers(0, 4)),
        }
        _maybe(draw, "periods", windows(lo, hi), requirement)
        requirements.append(requirement)
    task["requirements"] = requirements
    _maybe(draw, "min_nations", st.integers(0, 3), task)
    if draw(st.booleans()):
        task["max_nations"] = max(1, task.get("min_nations", 0)) + draw(st.integers(0, 2))
    if draw(st.booleans()):
        lead = draw(leads(nations, max_size=4, max_term=6))
        if draw(st.booleans()):
            del lead["rotate"]
        task["lead"] = lead
    return task
