"""Every rule of SPEC section 3: an instance where it binds, the plan respects it, and the checker
rejects the plan made without it.

A case is (rule, instance, relax): `relax` removes the rule from the instance.  Solving the relaxed
instance must give a plan the checker rejects under the original instance, naming the rule; this
shows the rule binds.  Solving the original must give a plan the checker accepts.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

import allocator
from allocator.formulation.build import formulate
from tests.helpers.instances import base_instance, build

Doc = dict[str, Any]


def _set(path: list[str | int], value: Any) -> Callable[[Doc], None]:
    def relax(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        if value is None:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value

    return relax


def _one_offer(**offer: Any) -> Doc:
    base = {"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1, "cost": 1}
    base.update(offer)
    return base_instance(offers=[base])


def _lead_case(**lead: Any) -> Doc:
    """FR is dear, GB cheap; the lead must contribute."""
    rule = {"nations": ["FR", "GB"], "term": 2}
    rule.update(lead)
    return base_instance(
        offers=[
            {"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 2, "cost": 5},
            {"id": "GB-a", "nation": "GB", "capability": "fighter", "units": 2, "cost": 1},
        ],
        tasks=[{"id": "air", "requirements": [{"capability": "fighter", "units": 1}], "lead": rule}],
        model={"objectives": ["shortfall", "cost"]},
    )


CASES: list[tuple[str, str, Doc, Callable[[Doc], None]]] = [
    (
        "placement",
        "availability",
        _one_offer(available=[3, 4]),
        _set(["offers", 0, "available"], None),
    ),
    (
        "placement",
        "requirement profile",
        base_instance(
            tasks=[
                {
                    "id": "air",
                    "requirements": [{"capability": "fighter", "units": 1, "periods": [1, 2]}],
                }
            ],
            model={"objectives": ["shortfall", "deployments"]},
            offers=[{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1, "min_tour": 4}],
        ),
        _set(["tasks", 0, "requirements", 0, "periods"], None),
    ),
    (
        "placement",
        "task window",
        base_instance(
            tasks=[
                {
                    "id": "air",
                    "active": [2, 4],
                    "requirements": [{"capability": "fighter", "units": 1}],
                }
            ],
            offers=[{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1, "min_tour": 4}],
            model={"objectives": ["shortfall", "deployments"]},
        ),
        _set(["tasks", 0, "active"], None),
    ),
    (
        "caveat",
        "offer limited to another task",
        base_instance(
            offers=[
                {
                    "id": "FR-a",
                    "nation": "FR",
                    "capability": "fighter",
                    "units": 1,
                    "tasks": ["other"],
                }
            ],
            tasks=[
                {"id": "air", "requirements": [{"capability": "fighter", "units": 1}]},
                {
                    "id": "other",
                    "priority": 0.5,
                    "requirements": [{"capability": "fighter", "units": 1}],
                },
            ],
        ),
        _set(["offers", 0, "tasks"], None),
    ),
    (
        "tour-length",
        "max_tour",
        _one_offer(units=2, max_tour=2),
        _set(["offers", 0, "max_tour"], None),
    ),
    (
        "tour-length",
        "min_tour",
        base_instance(
            horizon={"periods": 5},
            offers=[{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1, "min_tour": 3}],
            tasks=[
                {
                    "id": "air",
                    "requirements": [{"capability": "fighter", "units": 1, "periods": [1, 2]}],
                }
            ],
        ),
        _set(["offers", 0, "min_tour"], None),
    ),
    (
        "unit-capacity",
        "min_rest",
        base_instance(
            horizon={"periods": 5},
            offers=[
                {
                    "id": "FR-a",
                    "nation": "FR",
                    "capability": "fighter",
                    "units": 1,
                    "max_tour": 2,
                    "min_rest": 2,
                }
            ],
        ),
        _set(["offers", 0, "min_rest"], None),
    ),
    (
        "personnel-cap",
        "max_personnel",
        base_instance(
            nations=[{"id": "FR", "max_personnel": 250}, {"id": "GB"}],
            offers=[
                {
                    "id": "FR-a",
                    "nation": "FR",
                    "capability": "fighter",
                    "units": 3,
                    "personnel": 100,
                }
            ],
            tasks=[{"id": "air", "requirements": [{"capability": "fighter", "units": 3}]}],
        ),
        _set(["nations", 0, "max_personnel"], None),
    ),
    (
        "budget",
        "budget",
        base_instance(
            nations=[{"id": "FR", "budget": 5.5}, {"id": "GB"}],
            offers=[{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 2, "cost": 1.5}],
            tasks=[{"id": "air", "requirements": [{"capability": "fighter", "units": 2}]}],
        ),
        _set(["nations", 0, "budget"], None),
    ),
    (
        "max-nations",
        "max_nations",
        base_instance(
            nations=[{"id": "FR"}, {"id": "GB"}, {"id": "IT"}],
            offers=[
                {"id": f"{n}-a", "nation": n, "capability": "fighter", "units": 1} for n in ("FR", "GB", "IT")
            ],
            tasks=[
                {
                    "id": "air",
                    "max_nations": 2,
                    "requirements": [{"capability": "fighter", "units": 3}],
                }
            ],
        ),
        _set(["tasks", 0, "max_nations"], None),
    ),
    (
        "min-nations",
        "min_nations (hard)",
        base_instance(
            offers=[
                {"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 2, "cost": 1},
                {"id": "GB-a", "nation": "GB", "capability": "fighter", "units": 2, "cost": 5},
            ],
            tasks=[
                {
                    "id": "air",
                    "min_nations": 2,
                    "requirements": [{"capability": "fighter", "units": 2}],
                }
            ],
            model="min-cost",
        ),
        _set(["tasks", 0, "min_nations"], None),
    ),
    (
        "demand",
        "shortfall hard",
        base_instance(model="min-cost"),
        _set(["model"], {"shortfall": "soft", "objectives": ["cost"]}),
    ),
    ("lead-one", "a lead every period", _lead_case(), _set(["tasks", 0, "lead"], None)),
    (
        "lead-first",
        "first",
        _lead_case(first="FR", rotate=False),
        _set(["tasks", 0, "lead", "first"], None),
    ),
    ("lead-rotate", "rotate", _lead_case(rotate=True), _set(["tasks", 0, "lead", "rotate"], False)),
    (
        "lead-contribution",
        "contribution",
        _lead_case(nations=["FR"], contribution=2),
        _set(["tasks", 0, "lead", "contribution"], 1),
    ),
]


#: Rules without rule instances of their own (SPEC section 3 names none): placement, caveats.
UNNAMED = {"placement", "caveat"}


@pytest.mark.parametrize(("rule", "what", "doc", "relax"), CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_rule_binds_and_is_respected(
    backend: str,
    formulation: str,
    solve_checked: Any,
    rule: str,
    what: str,
    doc: Doc,
    relax: Callable[[Doc], None],
) -> None:
    instance = build(doc)
    respected = solve_checked(instance, formulation=formulation)
    assert respected.status == "optimal"

    relaxed_doc = copy.deepcopy(doc)
    relax(relaxed_doc)
    relaxed = solve_checked(build(relaxed_doc), formulation=formulation)
    assert relaxed.status == "optimal"
    report = allocator.check(instance, relaxed)
    assert rule in {v.rule for v in report.violations}, (
        f"the plan made without '{what}' should break rule '{rule}': {report}"
    )
    if rule in UNNAMED:
        return
    # the checker names each broken rule instance as the model names its rows (SPEC section 3)
    named = {v.name for v in report.violations if v.rule == rule and v.name is not None}
    rows = {row.name for row in formulate(instance, formulation).rows()}
    assert named, f"'{rule}' findings carry their rule-instance names: {report}"
    if rule != "tour-length":  # "around P": the checker names a tour at its start, the flow rows by period
        assert named <= rows, f"checker names {sorted(named - rows)} are not the model's"


def test_every_rule_has_a_case() -> None:
    from allocator.checker.rules import CHECKS

    covered = {case[0] for case in CASES}
    # caught in test_checker.py by mutation; `history` binds in re-plans (tests/replanning)
    untested_here = {"reference", "report", "history"}
    assert set(CHECKS) - untested_here <= covered
