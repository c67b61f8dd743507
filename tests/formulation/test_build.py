"""The whole model: rows named after their rule instances, built deterministically, and the same
model in every backend."""

from __future__ import annotations

import re

import pulp
import pytest

import allocator
from allocator.backends.cpsat import CpSatBackend
from allocator.backends.milp import MilpBackend
from allocator.formulation.build import formulate
from allocator.formulation.rules import BUILDERS, RULES
from tests.helpers.instances import EXAMPLES, ROOT, base_instance, build

RULE_INSTANCE = re.compile(r"^(?P<rule>[a-z-]+)\[(?P<where>[^\]]+)\]$")


def _names(instance: allocator.Instance, formulation: str = "auto") -> list[str]:
    return [row.name for row in formulate(instance, formulation).rows() if row.name is not None]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_rows_are_named_after_rules_and_entities(path: object, formulation: str) -> None:
    for name in _names(allocator.load_instance(path), formulation):  # type: ignore[arg-type]
        match = RULE_INSTANCE.match(name)
        assert match and match["rule"] in RULES, name


def test_expected_rule_instances_exist() -> None:
    caps = _names(allocator.load_instance(EXAMPLES / "caps.yaml"))
    assert {"personnel-cap[DE@1]", "budget[ES]", "demand[gbad:sam@6]"} <= set(caps)
    lead = _names(allocator.load_instance(EXAMPLES / "lead-rotation.yaml"))
    assert {"lead-one[mnhq#0]", "lead-first[mnhq]", "lead-rotate[mnhq#0]"} <= set(lead)
    assert "lead-contribution[mnhq>FR@1]" in lead
    multi = _names(allocator.load_instance(EXAMPLES / "multinational.yaml"))
    assert "max-nations[mcm-black-sea@1]" in multi and "min-nations[mcm-black-sea@1]" in multi


def test_model_building_is_deterministic() -> None:
    def proto() -> str:
        backend = CpSatBackend(allocator.SolveOptions())
        formulation = formulate(allocator.load_instance(EXAMPLES / "multinational.yaml"))
        backend.load(formulation)
        return str(backend.model.proto)

    first = proto()
    assert first == proto() and "linear" in first


def test_every_backend_gets_every_row() -> None:
    """Each row of the linear model is one constraint in each backend (rows without terms that
    hold need none; the MILP adds its anchor)."""
    instance = allocator.load_instance(EXAMPLES / "lead-rotation.yaml")
    rows = [row for row in formulate(instance).rows() if row.terms or not row.holds_without_terms()]
    cpsat = CpSatBackend(allocator.SolveOptions())
    formulation = formulate(instance)
    cpsat.load(formulation)
    assert len(cpsat.model.proto.constraints) == len(rows) == formulation.model.row_count
    milp = MilpBackend(allocator.SolveOptions(backend="highs"), "highs")
    formulation = formulate(instance)
    milp.load(formulation)
    assert len(milp.problem.constraints()) == len(rows) + 1
    with pytest.raises(RuntimeError, match="stream once"):
        list(formulation.rows())


def test_hard_demand_with_the_cut_is_one_equality() -> None:
    """GAP-like models (one period, hard demand, cost): deployed = required, as a direct model has it."""
    doc = base_instance(horizon={"periods": 1}, model={"shortfall": "hard", "objectives": ["cost"]})
    rows = list(formulate(build(doc)).rows())
    (demand,) = [row for row in rows if row.name == "demand[air:fighter@1]"]
    assert demand.sense == "==" and not any((row.name or "").startswith("demand-cap[") for row in rows)
    milp = MilpBackend(allocator.SolveOptions(backend="highs"), "highs")
    formulation = formulate(build(doc))
    milp.load(formulation)
    assert any(c.sense == pulp.LpConstraintEQ for c in milp.problem.constraints())
    soft = base_instance(
        horizon={"periods": 1}, model={"shortfall": "soft", "objectives": ["shortfall", "cost"]}
    )
    rows = list(formulate(build(soft)).rows())
    (demand,) = [row for row in rows if row.name == "demand[air:fighter@1]"]
    assert demand.sense == ">=" and any(row.name == "demand-cap[air:fighter@1]" for row in rows)


@pytest.mark.parametrize("path", [EXAMPLES / "basic.yaml", ROOT / "instances" / "reassurance.yaml"])
def test_milp_sees_columns_in_creation_order_and_demand_rows_first(path: object) -> None:
    """PuLP hands columns over sorted by name: names keep the model's order (columns first, the
    anchor last), and the demand rows come first, as in a hand-written assignment model."""
    rows = list(formulate(allocator.load_instance(path)).rows())  # type: ignore[arg-type]
    formulation = formulate(allocator.load_instance(path))  # type: ignore[arg-type]
    milp = MilpBackend(allocator.SolveOptions(backend="highs"), "highs")
    milp.load(formulation)
    assert milp.problem.variables() == milp.every and milp.every[-1] is milp.anchor
    demand = sum(1 for row in rows if (row.name or "").startswith("demand["))
    assert demand and all((row.name or "").startswith("demand[") for row in rows[:demand])


def test_rows_stream_in_the_order_a_backend_names() -> None:
    instance = allocator.load_instance(EXAMPLES / "lead-rotation.yaml")
    default = [row.name for row in formulate(instance).rows() if row.name]
    ordered = [row.name for row in formulate(instance).rows(CpSatBackend.row_order) if row.name]
    assert sorted(default) == sorted(ordered) and default != ordered
    assert sorted(CpSatBackend.row_order) == sorted(BUILDERS)
    assert default[0].startswith("demand") and ordered[-1].startswith("lead")
    with pytest.raises(ValueError, match="names every builder once"):
        list(formulate(instance).rows(["demand"]))
