"""Regenerate instances/reassurance.yaml (seeded; run from the repository root).

The scenario of the domain brief: 30 nations, 24 months from 2027-01, a ceasefire in month 4,
air, maritime, training and command tasks; the Paris HQ led by France for 12 months, then the
United Kingdom; a Kyiv coordination cell led by the United Kingdom.  Shares follow a GNI-like key.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

SEED = 2027
# id, name, share (GNI-like key), size class (3 large, 2 medium, 1 small)
NATIONS = [
    ("GB", "United Kingdom", 14.0, 3),
    ("FR", "France", 14.0, 3),
    ("DE", "Germany", 18.0, 3),
    ("IT", "Italy", 9.5, 3),
    ("CA", "Canada", 9.0, 2),
    ("ES", "Spain", 6.5, 2),
    ("AU", "Australia", 7.0, 2),
    ("NL", "Netherlands", 4.5, 2),
    ("PL", "Poland", 3.5, 2),
    ("TR", "Türkiye", 4.0, 2),
    ("SE", "Sweden", 2.6, 2),
    ("NO", "Norway", 2.5, 2),
    ("BE", "Belgium", 2.6, 1),
    ("DK", "Denmark", 1.8, 1),
    ("FI", "Finland", 1.3, 1),
    ("RO", "Romania", 1.3, 1),
    ("CZ", "Czechia", 1.3, 1),
    ("PT", "Portugal", 1.1, 1),
    ("GR", "Greece", 1.0, 1),
    ("IE", "Ireland", 2.0, 1),
    ("NZ", "New Zealand", 1.1, 1),
    ("BG", "Bulgaria", 0.5, 1),
    ("HR", "Croatia", 0.4, 1),
    ("SK", "Slovakia", 0.5, 1),
    ("SI", "Slovenia", 0.3, 1),
    ("LT", "Lithuania", 0.35, 1),
    ("LV", "Latvia", 0.2, 1),
    ("EE", "Estonia", 0.2, 1),
    ("LU", "Luxembourg", 0.4, 1),
    ("IS", "Iceland", 0.15, 1),
]
# id, domain, personnel, cost per unit-month, (min_tour, max_tour), rest
CAPABILITIES = {
    "fighter": ("air", 150, 4.0, (3, 4), 8),
    "gbad": ("air", 120, 3.0, (4, 6), 6),
    "aew": ("air", 60, 5.0, (2, 3), 4),
    "minehunter": ("maritime", 45, 1.0, (4, 6), 6),
    "frigate": ("maritime", 200, 3.5, (3, 6), 6),
    "patrol-aircraft": ("maritime", 60, 2.0, (2, 3), 3),
    "training-team": ("training", 200, 1.5, (4, 6), 8),
    "medical-team": ("training", 40, 0.8, (3, 6), 6),
    "demining-team": ("training", 30, 0.6, (3, 6), 6),
    "hq-staff": ("command", 300, 2.5, (6, 12), 6),
    "liaison-cell": ("command", 20, 0.5, (6, 12), 6),
}
# which capabilities each size class tends to offer, with unit counts
OFFER_PLAN = {
    3: [
        ("fighter", 3),
        ("gbad", 2),
        ("frigate", 2),
        ("training-team", 3),
        ("hq-staff", 2),
        ("aew", 1),
        ("minehunter", 2),
        ("medical-team", 1),
        ("patrol-aircraft", 1),
    ],
    2: [
        ("fighter", 2),
        ("gbad", 1),
        ("frigate", 1),
        ("training-team", 2),
        ("minehunter", 1),
        ("patrol-aircraft", 1),
        ("demining-team", 1),
    ],
    1: [
        ("training-team", 1),
        ("medical-team", 1),
        ("demining-team", 1),
        ("minehunter", 1),
        ("fighter", 1),
        ("frigate", 1),
    ],
}
TRAIN_OUTSIDE_ONLY = {"IE", "NZ", "AU", "LU", "IS", "SI"}
LITTORAL_ONLY = {"BE", "NL", "EE", "LV", "LT", "IE"}


def tasks() -> list[dict]:
    return [
        {
            "id": "air-west",
            "name": "Air policing, western Ukraine",
            "domain": "air",
            "active": [4, 24],
            "priority": 10,
            "min_nations": 2,
            "requirements": [{"capability": "fighter", "units": 3}],
        },
        {
            "id": "air-south",
            "name": "Air policing, southern Ukraine",
            "domain": "air",
            "active": [6, 24],
            "priority": 8,
            "requirements": [{"capability": "fighter", "units": 2}],
        },
        {
            "id": "gbad-kyiv",
            "name": "Ground-based air defence, Kyiv",
            "domain": "air",
            "active": [4, 24],
            "priority": 10,
            "min_nations": 2,
            "requirements": [{"capability": "gbad", "units": 3}],
        },
        {
            "id": "aew",
            "name": "Airborne early warning",
            "domain": "air",
            "active": [4, 24],
            "priority": 6,
            "requirements": [{"capability": "aew", "units": 1}],
        },
        {
            "id": "mcm-odesa",
            "name": "Mine countermeasures, Odesa approaches",
            "domain": "maritime",
            "active": [4, 24],
            "priority": 9,
            "min_nations": 2,
            "max_nations": 4,
            "requirements": [{"capability": "minehunter", "units": 4}],
            "lead": {"nations": ["TR", "RO", "BG"], "term": 6, "first": "TR", "rotate": True},
        },
        {
            "id": "escort",
            "name": "Escort of the grain corridor",
            "domain": "maritime",
            "active": [5, 24],
            "priority": 7,
            "requirements": [{"capability": "frigate", "units": 2}],
        },
        {
            "id": "patrol-black-sea",
            "name": "Maritime patrol, Black Sea",
            "domain": "maritime",
            "active": [4, 24],
            "priority": 5,
            "requirements": [{"capability": "patrol-aircraft", "units": 1}],
        },
        {
            "id": "train-west",
            "name": "Training in western Europe",
            "domain": "training",
            "active": [4, 24],
            "priority": 6,
            "min_nations": 3,
            "requirements": [
                {"capability": "training-team", "units": 5},
                {"capability": "medical-team", "units": 1},
            ],
        },
        {
            "id": "train-ua",
            "name": "Training inside Ukraine",
            "domain": "training",
            "active": [7, 24],
            "priority": 7,
            "min_nations": 2,
            "requirements": [
                {"capability": "training-team", "units": 3},
                {"capability": "demining-team", "units": 2},
                {"capability": "medical-team", "units": 1, "periods": [7, 18]},
            ],
        },
        {
            "id": "mnhq",
            "name": "Multinational HQ (Paris, then London)",
            "domain": "command",
            "active": [1, 24],
            "priority": 20,
            "min_nations": 3,
            "requirements": [{"capability": "hq-staff", "units": 3}],
            "lead": {"nations": ["FR", "GB"], "term": 12, "first": "FR", "rotate": True},
        },
        {
            "id": "kyiv-cell",
            "name": "Coordination cell, Kyiv",
            "domain": "command",
            "active": [4, 24],
            "priority": 15,
            "requirements": [{"capability": "liaison-cell", "units": 1}],
            "lead": {"nations": ["GB"], "term": 21, "first": "GB"},
        },
    ]


def offers(rng: random.Random) -> list[dict]:
    out = []
    for nid, _name, _share, size in NATIONS:
        plan = list(OFFER_PLAN[size])
        if size == 1:
            plan = rng.sample(plan, k=rng.randint(2, 3))
        # lead nations hold enough units to lead a whole term and rotate them
        if nid in ("FR", "GB"):
            plan.append(("liaison-cell", 3) if nid == "GB" else ("hq-staff", 1))
        if nid in ("TR", "RO", "BG"):
            plan = [(c, u) for c, u in plan if c != "minehunter"] + [("minehunter", 2)]
        if nid in ("DE", "IT", "CA", "PL", "ES", "NL") and size >= 2:
            plan.append(("hq-staff", 1))
        merged: dict[str, int] = {}
        for cap, units in plan:
            merged[cap] = merged.get(cap, 0) + units
        for cap, units in sorted(merged.items()):
            _domain, personnel, cost, (lo, hi), rest = CAPABILITIES[cap]
            offer = {
                "id": f"{nid}-{cap}",
                "nation": nid,
                "capability": cap,
                "units": units,
                "personnel": personnel + rng.choice([-20, -10, 0, 0, 10, 20])
                if personnel > 50
                else personnel,
                "cost": round(cost * rng.uniform(0.8, 1.25), 1),
                "min_tour": lo,
                "max_tour": hi,
                "min_rest": rest,
            }
            leads_with_it = (
                (cap == "hq-staff" and nid in ("FR", "GB"))
                or (cap == "minehunter" and nid in ("TR", "RO", "BG"))
                or cap == "liaison-cell"
            )
            if rng.random() < 0.25 and not leads_with_it:
                first = rng.choice([1, 4, 6, 9])
                offer["available"] = [first, rng.choice([18, 21, 24]) if first < 12 else 24]
            if cap in ("training-team", "medical-team") and nid in TRAIN_OUTSIDE_ONLY:
                offer["tasks"] = ["train-west"]
            if cap in ("minehunter", "frigate") and nid in LITTORAL_ONLY:
                offer["tasks"] = ["mcm-odesa"] if cap == "minehunter" else ["escort"]
            out.append(offer)
    return out


def instance() -> dict:
    rng = random.Random(SEED)
    nations = []
    for nid, name, share, size in NATIONS:
        nation: dict = {"id": nid, "name": name, "share": share}
        nation["max_personnel"] = {3: 1500, 2: 700, 1: 300}[size]
        if size == 1:
            nation["budget"] = 60
        nations.append(nation)
    return {
        "name": "reassurance-2027",
        "horizon": {"periods": 24, "unit": "month", "start": "2027-01"},
        "nations": nations,
        "capabilities": [{"id": c, "domain": d[0]} for c, d in CAPABILITIES.items()],
        "offers": offers(rng),
        "tasks": tasks(),
        "model": "coverage-first",
    }


HEADER = """\
# The reassurance force of the domain brief at realistic scale (generated by
# instances/tools/make_reassurance.py, seed 2027; edit the script, not this file).
# 30 nations, 24 months from 2027-01, ceasefire in month 4; air, maritime, training and command
# tasks; the Paris HQ led by France for 12 months, then the United Kingdom; a Kyiv coordination
# cell led by the United Kingdom; training-only-outside-Ukraine and littoral-only caveats.
"""

if __name__ == "__main__":
    text = yaml.safe_dump(instance(), sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)
    Path("instances/reassurance.yaml").write_text(HEADER + text, encoding="utf-8")
