"""The MILP backend's own behaviour: temporary files, CBC failure handling, solver names."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pulp
import pytest

import allocator
from allocator.backends.milp import solver as milp
from tests.conftest import EXAMPLES, ROOT


@pytest.mark.parametrize("name", ["cbc", "highs"])
def test_no_temporary_files_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend=name, threads=1)
    assert result.status == "optimal"
    assert list(tmp_path.iterdir()) == []


def _failing_cbc(when: Any) -> Any:
    real = milp._solve_cbc

    def fake(problem: pulp.LpProblem, budget: Any, threads: Any, seed: int, warm: bool, verbose: bool) -> Any:
        if when(warm):
            raise pulp.PulpSolverError("simulated CBC crash")
        return real(problem, budget, threads, seed, warm, verbose)

    return fake


def test_cbc_crash_with_mip_start_is_retried_without(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(milp, "_solve_cbc", _failing_cbc(lambda warm: warm))
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend="cbc", threads=1)
    assert result.status == "optimal"
    assert [lv.status for lv in result.levels] == ["optimal"] * 4


def test_cbc_failure_after_first_level_keeps_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}

    def after_first(_: bool) -> bool:
        calls["n"] += 1
        return calls["n"] > 1

    monkeypatch.setattr(milp, "_solve_cbc", _failing_cbc(after_first))
    result = allocator.solve(EXAMPLES / "shortfall.yaml", backend="cbc", threads=1)
    assert result.status == "feasible" and result.assignments
    assert result.levels[0].status == "optimal"
    assert all(lv.value is not None and lv.bound is not None for lv in result.levels)


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_later_level_called_infeasible_keeps_the_plan(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, solver: str
) -> None:
    """A level after the first cannot be infeasible (the plan in hand meets every bound so far):
    such a claim is a solver fault, so the plan stands and the later levels still run."""
    real = {"cbc": milp._solve_cbc, "highs": milp._solve_highs}[solver]
    calls = {"n": 0}

    def second_infeasible(*args: Any, **kwargs: Any) -> milp.LevelOutcome:
        calls["n"] += 1
        return milp.LevelOutcome("infeasible", None) if calls["n"] == 2 else real(*args, **kwargs)

    monkeypatch.setattr(milp, {"cbc": "_solve_cbc", "highs": "_solve_highs"}[solver], second_infeasible)
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend=solver, threads=1)
    assert result.status == "feasible" and result.assignments
    assert [lv.status for lv in result.levels] == ["optimal", "feasible", "optimal", "optimal"]
    assert allocator.check(allocator.load_instance(EXAMPLES / "lead-rotation.yaml"), result).ok
    assert "which the plan in hand disproves" in caplog.text


def test_cbc_failure_without_plan_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(milp, "_solve_cbc", _failing_cbc(lambda warm: True))
    with pytest.raises(pulp.PulpSolverError):
        allocator.solve(EXAMPLES / "basic.yaml", backend="cbc", threads=1)


def test_unknown_milp_solver() -> None:
    with pytest.raises(ValueError, match="unknown MILP solver"):
        milp.solve(allocator.load_instance(EXAMPLES / "basic.yaml"), solver_name="glpk")


def test_hard_demand_with_the_cut_is_one_equality() -> None:
    """GAP-like models (one period, hard demand, cost): deployed = required, as a direct model has it."""
    from tests.conftest import base_instance, build

    doc = base_instance(horizon={"periods": 1}, model={"shortfall": "hard", "objectives": ["cost"]})
    built = milp.build(build(doc))
    (demand,) = built.groups.members["demand[air:fighter@1]"]
    assert built.problem.get_constraint_by_name(demand).sense == pulp.LpConstraintEQ
    assert not any(name.startswith("demand-cap[") for name in built.groups.members)
    soft_model = {"shortfall": "soft", "objectives": ["shortfall", "cost"]}
    soft = milp.build(build(base_instance(horizon={"periods": 1}, model=soft_model)))
    (row,) = soft.groups.members["demand[air:fighter@1]"]
    assert soft.problem.get_constraint_by_name(row).sense == pulp.LpConstraintGE
    assert "demand-cap[air:fighter@1]" in soft.groups.members


@pytest.mark.parametrize("path", [EXAMPLES / "basic.yaml", ROOT / "instances" / "reassurance.yaml"])
def test_solver_sees_columns_in_creation_order_and_demand_rows_first(path: Path) -> None:
    """PuLP hands columns over sorted by name: names keep the structure's order (tours first, the
    anchor last), and the demand rows come first, as in a hand-written assignment model."""
    built = milp.build(allocator.load_instance(path))
    v = built.variables
    assert built.problem.variables() == [*v.z, *v.extra]
    assert v.extra[-1] is built.anchor
    members = built.groups.members
    demand_rows = [row for group, rows in members.items() if group.startswith("demand[") for row in rows]
    assert list(built.problem.constraints)[: len(demand_rows)] == demand_rows


def test_warm_values_lie_within_bounds_and_integers_are_whole() -> None:
    """A level's values start the next; float noise outside a bound made PuLP refuse the start
    (found by the brute-force test: a fairness deviation of -1.9e-11 with lowBound 0)."""
    import pulp

    from allocator.backends.milp.solver import warm_value

    deviation = pulp.LpVariable("d", lowBound=0)
    deviation.varValue = -1.87584093030655e-11
    count = pulp.LpVariable("n", lowBound=0, upBound=3, cat=pulp.LpInteger)
    count.varValue = 3.0000000001
    free = pulp.LpVariable("f")
    free.varValue = None
    assert warm_value(deviation) == 0.0
    assert warm_value(count) == 3.0
    assert warm_value(free) == 0.0
    deviation.setInitialValue(warm_value(deviation))  # PuLP accepts it
