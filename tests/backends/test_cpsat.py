"""The CP-SAT model itself: named constraint groups, deterministic building, both backends' groups."""

from __future__ import annotations

import re

import pytest

import allocator
from allocator.backends.cpsat.solver import build as build_cpsat
from allocator.backends.milp.solver import build as build_milp
from allocator.rules import RULES
from tests.conftest import EXAMPLES

GROUP = re.compile(r"^(?P<rule>[a-z-]+)\[(?P<where>[^\]]+)\]$")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_groups_are_named_after_rules_and_entities(path: object) -> None:
    instance = allocator.load_instance(path)  # type: ignore[arg-type]
    for builder in (build_cpsat, build_milp):
        names = list(builder(instance).groups.members)
        for name in names:
            match = GROUP.match(name)
            assert match and match["rule"] in RULES, name


def test_expected_groups_exist() -> None:
    caps = build_cpsat(allocator.load_instance(EXAMPLES / "caps.yaml")).groups.members
    assert "personnel-cap[DE@1]" in caps and "budget[ES]" in caps and "demand[gbad:sam@6]" in caps
    lead = build_cpsat(allocator.load_instance(EXAMPLES / "lead-rotation.yaml")).groups.members
    assert {"lead-one[mnhq#0]", "lead-first[mnhq]", "lead-rotate[mnhq#0]"} <= set(lead)
    assert "lead-contribution[mnhq>FR@1]" in lead
    multi = build_cpsat(allocator.load_instance(EXAMPLES / "multinational.yaml")).groups.members
    assert "max-nations[mcm-black-sea@1]" in multi and "min-nations[mcm-black-sea@1]" in multi


def test_cpsat_and_milp_record_the_same_groups() -> None:
    instance = allocator.load_instance(EXAMPLES / "lead-rotation.yaml")
    assert set(build_cpsat(instance).groups.members) == set(build_milp(instance).groups.members)


def test_model_building_is_deterministic() -> None:
    instance = allocator.load_instance(EXAMPLES / "multinational.yaml")
    first = str(build_cpsat(instance).model.proto)
    again = str(build_cpsat(allocator.load_instance(EXAMPLES / "multinational.yaml")).model.proto)
    assert first == again and "linear" in first


def test_demand_cap_only_where_extra_units_cannot_help() -> None:
    from allocator.backends.structure import Structure
    from tests.conftest import base_instance, build

    one_period = build(base_instance(horizon={"periods": 1}, model="min-cost"))
    caps = list(Structure.of(one_period.index).demand_caps(one_period.spec.objective_names))
    assert [row.name for row in caps] == ["demand-cap[air:fighter@1]"]
    longer = build(base_instance(model="min-cost"))  # tours of several periods: no cut
    assert not list(Structure.of(longer.index).demand_caps(longer.spec.objective_names))
    fair = build(base_instance(horizon={"periods": 1}))  # fairness may want extra units: no cut
    assert not list(Structure.of(fair.index).demand_caps(fair.spec.objective_names))
    multi = build(
        base_instance(
            horizon={"periods": 1},
            model="min-cost",
            tasks=[{"id": "air", "min_nations": 2, "requirements": [{"capability": "fighter", "units": 1}]}],
        )
    )
    assert not list(Structure.of(multi.index).demand_caps(multi.spec.objective_names))
