"""Plausible coalition instances (domain brief): a few large nations, many small; realistic
capabilities, tours, rests, caveats, availability windows, leads and multinational minimums.

The same arguments give the same instance (one seeded random generator, stable iteration order).
`tightness` scales demand: about 1 is a coalition that can roughly cover its tasks; larger values
leave shortfalls.  Horizons longer than 36 periods are read as weeks and tours scaled to weeks.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

# id, name: real coalition partners first, then generic ones
COUNTRIES = [
    ("DE", "Germany"),
    ("GB", "United Kingdom"),
    ("FR", "France"),
    ("IT", "Italy"),
    ("CA", "Canada"),
    ("ES", "Spain"),
    ("AU", "Australia"),
    ("NL", "Netherlands"),
    ("TR", "Türkiye"),
    ("PL", "Poland"),
    ("SE", "Sweden"),
    ("BE", "Belgium"),
    ("NO", "Norway"),
    ("DK", "Denmark"),
    ("IE", "Ireland"),
    ("FI", "Finland"),
    ("RO", "Romania"),
    ("CZ", "Czechia"),
    ("PT", "Portugal"),
    ("GR", "Greece"),
    ("NZ", "New Zealand"),
    ("BG", "Bulgaria"),
    ("SK", "Slovakia"),
    ("HR", "Croatia"),
    ("LU", "Luxembourg"),
    ("LT", "Lithuania"),
    ("SI", "Slovenia"),
    ("LV", "Latvia"),
    ("EE", "Estonia"),
    ("IS", "Iceland"),
    ("JP", "Japan"),
    ("KR", "South Korea"),
    ("AT", "Austria"),
    ("CH", "Switzerland"),
    ("HU", "Hungary"),
    ("AL", "Albania"),
    ("MK", "North Macedonia"),
    ("ME", "Montenegro"),
    ("MT", "Malta"),
    ("CY", "Cyprus"),
]


@dataclass(frozen=True)
class CapabilitySpec:
    domain: str
    personnel: int
    cost: float
    tour: tuple[int, int]  # months
    rest_factor: float  # rest = factor x max tour (deploy-to-dwell)


CAPABILITIES = {
    "fighter": CapabilitySpec("air", 150, 4.0, (3, 4), 2.0),
    "gbad": CapabilitySpec("air", 120, 3.0, (4, 6), 1.0),
    "aew": CapabilitySpec("air", 60, 5.0, (2, 3), 1.5),
    "minehunter": CapabilitySpec("maritime", 45, 1.0, (4, 6), 1.0),
    "frigate": CapabilitySpec("maritime", 200, 3.5, (3, 6), 1.0),
    "patrol-aircraft": CapabilitySpec("maritime", 60, 2.0, (2, 3), 1.0),
    "training-team": CapabilitySpec("training", 200, 1.5, (4, 6), 1.5),
    "medical-team": CapabilitySpec("training", 40, 0.8, (3, 6), 1.0),
    "demining-team": CapabilitySpec("training", 30, 0.6, (3, 6), 1.0),
    "hq-staff": CapabilitySpec("command", 300, 2.5, (6, 12), 0.5),
    "liaison-cell": CapabilitySpec("command", 20, 0.5, (6, 12), 0.5),
}
TASK_KINDS = {
    "air": ["fighter", "gbad", "aew"],
    "maritime": ["minehunter", "frigate", "patrol-aircraft"],
    "training": ["training-team", "medical-team", "demining-team"],
    "command": ["hq-staff", "liaison-cell"],
}


def _nations(rng: random.Random, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        code, name = COUNTRIES[i] if i < len(COUNTRIES) else (f"X{i + 1:02d}", f"Partner {i + 1}")
        size = 3 if i < max(1, count // 10) else 2 if i < max(2, count * 3 // 10) else 1
        share = round({3: rng.uniform(8, 18), 2: rng.uniform(2, 7), 1: rng.uniform(0.2, 2)}[size], 2)
        nation: dict[str, Any] = {
            "id": code,
            "name": name,
            "share": share,
            "max_personnel": {3: 2000, 2: 800, 1: 300}[size],
        }
        if size == 1 and rng.random() < 0.5:
            nation["budget"] = round(rng.uniform(30, 90))
        out.append((nation, size))
    return [dict(n, _size=s) for n, s in out]


def _scale(periods: int) -> int:
    """Periods per month: 1 for monthly horizons, 4 for weekly ones (more than 36 periods)."""
    return 4 if periods > 36 else 1


def _tasks(rng: random.Random, count: int, periods: int, tightness: float) -> list[dict[str, Any]]:
    domains = ["command", "air", "maritime", "training"]
    start = max(1, periods // 6)  # a ceasefire some way into the horizon
    out = []
    for k in range(count):
        domain = domains[k % len(domains)] if k < len(domains) else rng.choice(domains[1:])
        caps = rng.sample(TASK_KINDS[domain], k=1 if domain == "command" else rng.randint(1, 2))
        first = 1 if domain == "command" and k == 0 else rng.randint(start, max(start, periods // 3))
        requirements = []
        for cap in sorted(caps):
            units = max(1, round(rng.choice([1, 1, 2, 2, 3]) * tightness))
            requirements.append({"capability": cap, "units": units})
        task: dict[str, Any] = {
            "id": f"{domain}-{k + 1}",
            "name": f"{domain.title()} task {k + 1}",
            "domain": domain,
            "active": [first, periods],
            "priority": {"command": 20, "air": 10, "maritime": 8, "training": 6}[domain],
            "requirements": requirements,
        }
        if domain != "command" and rng.random() < 0.6:
            task["min_nations"] = rng.randint(2, 3)
            if rng.random() < 0.3:
                task["max_nations"] = task["min_nations"] + rng.randint(1, 3)
        out.append(task)
    return out


def _offer(
    rng: random.Random, nation: dict[str, Any], cap: str, units: int, scale: int, periods: int
) -> dict[str, Any]:
    spec = CAPABILITIES[cap]
    lo, hi = spec.tour
    return {
        "id": f"{nation['id']}-{cap}",
        "nation": nation["id"],
        "capability": cap,
        "units": units,
        "personnel": max(0, spec.personnel + rng.choice([-20, -10, 0, 0, 10, 20])),
        "cost": round(spec.cost * rng.uniform(0.8, 1.25), 1),
        "min_tour": min(lo * scale, periods),
        "max_tour": min(hi * scale, periods),
        "min_rest": math.ceil(hi * scale * spec.rest_factor),
    }


def _offers(
    rng: random.Random, nations: list[dict[str, Any]], tasks: list[dict[str, Any]], periods: int
) -> list[dict[str, Any]]:
    scale = _scale(periods)
    needed = sorted({r["capability"] for t in tasks for r in t["requirements"]})
    by_domain = {d: [t["id"] for t in tasks if t["domain"] == d] for d in TASK_KINDS}
    out = []
    for nation in nations:
        size = nation["_size"]
        count = {3: rng.randint(5, 8), 2: rng.randint(3, 5), 1: rng.randint(1, 3)}[size]
        for cap in sorted(rng.sample(needed, k=min(count, len(needed)))):
            offer = _offer(
                rng,
                nation,
                cap,
                {3: rng.randint(2, 4), 2: rng.randint(1, 3), 1: rng.randint(1, 2)}[size],
                scale,
                periods,
            )
            if rng.random() < 0.25:
                first = rng.randint(1, max(1, periods // 3))
                offer["available"] = [first, rng.randint(max(first, periods * 2 // 3), periods)]
            domain = CAPABILITIES[cap].domain
            if len(by_domain[domain]) > 1 and rng.random() < 0.2:  # a national caveat
                offer["tasks"] = sorted(rng.sample(by_domain[domain], k=max(1, len(by_domain[domain]) // 2)))
            out.append(offer)
    return out


def _leads(
    rng: random.Random,
    nations: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    offers: list[dict[str, Any]],
    periods: int,
) -> None:
    """Command tasks (and some maritime ones) get a rotating lead among large nations, each given an
    offer able to lead a whole term without a window or caveat."""
    scale = _scale(periods)
    large = [n for n in nations if n["_size"] >= 2][:4]
    by_id = {o["id"]: o for o in offers}
    for task in tasks:
        if task["domain"] not in ("command", "maritime") or (
            task["domain"] == "maritime" and rng.random() < 0.6
        ):
            continue
        cap = task["requirements"][0]["capability"]
        leaders = rng.sample(large, k=min(len(large), rng.randint(1, 3)))
        term = 12 * scale if task["domain"] == "command" else 6 * scale
        for nation in leaders:
            spec = _offer(rng, nation, cap, 1, scale, periods)
            span = min(term, periods)
            units = 1 + math.ceil(span / spec["max_tour"]) + math.ceil(spec["min_rest"] / spec["max_tour"])
            spec["units"] = units
            spec.pop("available", None)
            existing = by_id.get(spec["id"])
            if existing is None:
                offers.append(spec)
                by_id[spec["id"]] = spec
            else:
                existing.update(units=max(existing["units"], units))
                existing.pop("available", None)
                existing.pop("tasks", None)
        lead: dict[str, Any] = {
            "nations": sorted(n["id"] for n in leaders),
            "term": term,
            "rotate": len(leaders) > 1,
        }
        lead["first"] = leaders[0]["id"]
        task["lead"] = lead


#: With `leads`: the share of the tasks other than headquarters that get a rotating lead, and
#: the range of the terms (in periods).
LED_SHARE = 0.2
TERMS = (4, 12)


def _rotating_leads(
    rng: random.Random,
    nations: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    offers: list[dict[str, Any]],
    periods: int,
) -> None:
    """Every command task and a fifth of the others get a rotating lead among two or three
    framework nations, terms of 4 to 12 periods, and `min_nations` 0 to 2 everywhere.

    Each framework nation gets an offer of its own per capability it leads in (shared by the
    tasks it leads in), sized to exactly what one lead plan needs, the *witness*: the leaders take
    the terms in turn, each term's contribution carried by tours as short as the offer allows,
    the tours given to units first come, first served after their rest.  The witness proves that
    leads are possible; a planner (or a greedy) that rotates in another order or shapes tours
    otherwise may run short of units, personnel or rest."""
    framework = [n for n in nations if n["_size"] >= 2 and "budget" not in n] or nations[:2]
    others = [t for t in tasks if t["domain"] != "command"]
    led = [t for t in tasks if t["domain"] == "command"]
    led += rng.sample(others, k=min(len(others), max(1, round(LED_SHARE * len(others)))))
    for task in tasks:
        task["min_nations"] = rng.randint(0, 2)
        if task.get("max_nations", 0) < task["min_nations"]:
            task.pop("max_nations", None)
        task.pop("lead", None)
    scale = _scale(periods)
    # (nation, capability) -> the framework offer and the tours the witness gives it
    witness: dict[tuple[str, str], tuple[dict[str, Any], list[tuple[int, int]]]] = {}
    for task in sorted(led, key=lambda t: t["id"]):
        cap = task["requirements"][0]["capability"]
        leaders = rng.sample(framework, k=min(len(framework), rng.randint(2, 3)))
        term = rng.randint(*TERMS)
        first, last = task["active"]
        task["lead"] = {
            "nations": sorted(n["id"] for n in leaders),
            "term": term,
            "first": leaders[0]["id"],
            "rotate": True,
            "contribution": 1,
        }
        turns: dict[str, list[tuple[int, int]]] = {}
        nation = leaders[0]
        for start in range(first, last + 1, term):
            turns.setdefault(nation["id"], []).append((start, min(start + term - 1, last)))
            nation = rng.choice([n for n in leaders if n is not nation])
        for nation in leaders:
            key = (nation["id"], cap)
            if key not in witness:
                spec = _offer(rng, nation, cap, 1, scale, periods)
                spec["id"] = f"{nation['id']}-{cap}-framework"
                spec["tasks"] = []
                witness[key] = (spec, [])
            spec, tours = witness[key]
            spec["tasks"].append(task["id"])
            tours.extend(_witness_tours(turns.get(nation["id"], []), spec, last))
    personnel: dict[str, list[float]] = {}  # nation -> personnel the witness deploys per period
    for (nation_id, _cap), (spec, tours) in sorted(witness.items()):
        spec["units"], deployed = _units_for(sorted(tours), max(1, spec["min_rest"]), periods)
        load = personnel.setdefault(nation_id, [0.0] * (periods + 2))
        for p, units in enumerate(deployed):
            load[p] += units * spec["personnel"]
        offers.append(spec)
    for nation in nations:  # a framework nation's cap leaves room for its leads and a little more
        need = max(personnel.get(nation["id"], [0.0]))
        if need and nation.get("max_personnel") is not None:
            nation["max_personnel"] = round(need + rng.uniform(0.2, 0.6) * nation["max_personnel"])


def _witness_tours(turns: list[tuple[int, int]], offer: dict[str, Any], last: int) -> list[tuple[int, int]]:
    """Tours (first, last period) deploying one unit in every period of `turns` (the terms a nation
    leads), each between the offer's min_tour and max_tour periods, or cut by the task's `last`."""
    led = sorted({p for a, b in turns for p in range(a, b + 1)})
    tours: list[tuple[int, int]] = []
    covered = 0
    for p in led:
        if p <= covered:
            continue
        run_end = p
        while run_end + 1 in led and run_end + 1 - p < offer["max_tour"]:
            run_end += 1
        end = min(last, max(run_end, p + offer["min_tour"] - 1))
        tours.append((p, end))
        covered = end
    return tours


def _units_for(tours: list[tuple[int, int]], gap: int, periods: int) -> tuple[int, list[int]]:
    """(units needed, units deployed per period) to fly `tours`, a unit free again `gap` periods
    after its tour (first come, first served)."""
    free: list[int] = []  # per unit, the first period it may start again
    deployed = [0] * (periods + 2)
    for first, last in tours:
        unit = next((u for u, ready in enumerate(free) if ready <= first), None)
        if unit is None:
            free.append(0)
            unit = len(free) - 1
        free[unit] = last + gap + 1
        for p in range(first, last + 1):
            deployed[p] += 1
    return max(1, len(free)), deployed


def generate(
    nations: int,
    tasks: int,
    periods: int,
    seed: int,
    tightness: float = 1.0,
    name: str | None = None,
    leads: bool = False,
) -> dict[str, Any]:
    """A plausible coalition instance as a document (validate with :func:`allocator.build_instance`).

    With `leads`, every headquarters and a fifth of the other tasks have a rotating lead with short
    terms whose framework offers are sized to one lead plan exactly (:func:`_rotating_leads`);
    everything else is the instance without `leads`."""
    if nations < 2 or tasks < 1 or periods < 2:
        raise ValueError("need at least 2 nations, 1 task and 2 periods")
    rng = random.Random(f"allocator-generator:{seed}")
    nation_list = _nations(rng, nations)
    task_list = _tasks(rng, tasks, periods, tightness)
    offers = _offers(rng, nation_list, task_list, periods)
    _leads(rng, nation_list, task_list, offers, periods)
    if leads:
        _rotating_leads(
            random.Random(f"allocator-generator:{seed}:leads"), nation_list, task_list, offers, periods
        )
    for nation in nation_list:
        nation.pop("_size")
    used = sorted(
        {r["capability"] for t in task_list for r in t["requirements"]} | {o["capability"] for o in offers}
    )
    return {
        "name": name or f"coalition-n{nations}-k{tasks}-t{periods}-s{seed}{'-leads' if leads else ''}",
        "horizon": {"periods": periods, "unit": "week" if _scale(periods) > 1 else "month"},
        "nations": nation_list,
        "capabilities": [{"id": c, "domain": CAPABILITIES[c].domain} for c in used],
        "offers": sorted(offers, key=lambda o: o["id"]),
        "tasks": task_list,
        "model": "coverage-first",
    }
