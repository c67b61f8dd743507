"""The MILP backend's own behaviour: temporary files, CBC failure handling, solver names."""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pulp
import pytest

import allocator
from allocator.backends import milp
from allocator.options import StopToken
from tests.helpers.instances import EXAMPLES


@pytest.mark.parametrize("name", ["cbc", "highs"])
def test_no_temporary_files_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend=name, threads=1)
    assert result.status == "optimal"
    assert list(tmp_path.iterdir()) == []


def _failing_cbc(when: Any) -> Any:
    real = milp._solve_cbc

    def fake(
        problem: pulp.LpProblem, budget: Any, threads: Any, seed: int, warm: bool, verbose: bool, *rest: Any
    ) -> Any:
        if when(warm):
            raise pulp.PulpSolverError("simulated CBC crash")
        return real(problem, budget, threads, seed, warm, verbose, *rest)

    return fake


def test_cbc_crash_with_mip_start_is_retried_without(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(milp, "_solve_cbc", _failing_cbc(lambda warm: warm))
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend="cbc", threads=1)
    assert result.status == "optimal"
    assert [lv.status for lv in result.levels] == ["optimal"] * 5


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


def _stuck_cbc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CBC replaced by a program that ignores its time limit (as CBC does in a long root LP)."""
    milp._cbc_options()  # cached with the real binary first
    stuck = tmp_path / "cbc"
    stuck.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(120)\n")
    stuck.chmod(0o755)
    monkeypatch.setattr(milp.cbcbox, "cbc_bin_path", lambda: str(stuck))


def test_cbc_past_its_time_limit_is_interrupted_and_the_plan_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _stuck_cbc(tmp_path, monkeypatch)
    started = time.perf_counter()
    with caplog.at_level(logging.INFO):
        result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend="cbc", threads=1, time_limit=2)
    assert time.perf_counter() - started < 2 + 3 * milp.CBC_GRACE_SECONDS + 2  # not 120 s
    assert "CBC past its time limit: SIGINT" in caplog.text
    assert result.status == "feasible" and result.assignments  # the first plan


def test_cbc_gets_no_level_shorter_than_its_last_overrun(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A CBC run that took 3 s past its limit (a large model's file is written before CBC starts):
    a later level with less time than that keeps the plan in hand instead of overrunning again."""
    real = milp._solve_cbc_safely
    calls = {"n": 0}

    def slow_first(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(args[1] + 3)  # its budget, and 3 s more
        return real(*args, **kwargs)

    monkeypatch.setattr(milp, "_solve_cbc_safely", slow_first)
    with caplog.at_level(logging.INFO):
        result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend="cbc", threads=1, time_limit=10)
    assert result.has_plan
    assert "less than cbc's last run took past its limit" in caplog.text
    assert calls["n"] < len(result.levels)


def test_a_stop_interrupts_cbc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stuck_cbc(tmp_path, monkeypatch)
    stop = allocator.StopToken()
    timer = threading.Timer(1.0, stop.stop)
    timer.start()
    started = time.perf_counter()
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend="cbc", threads=1, stop=stop)
    timer.cancel()
    assert time.perf_counter() - started < 1 + 2 * milp.CBC_GRACE_SECONDS + 2  # no time limit at all
    assert result.interrupted and result.has_plan


def test_unknown_milp_solver() -> None:
    with pytest.raises(ValueError, match="unknown MILP solver"):
        milp.MilpBackend(allocator.SolveOptions(), "glpk")


def test_warm_values_lie_within_bounds_and_integers_are_whole() -> None:
    """A level's values start the next; float noise outside a bound made PuLP refuse the start
    (found by the brute-force test: a fairness deviation of -1.9e-11 with lowBound 0)."""
    import pulp

    from allocator.backends.milp import warm_value

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


def test_a_fractional_solution_called_optimal_is_no_plan(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """CBC cut short after its root LP can call the LP's fractional solution optimal (seen with
    two threads and a fraction of a second): that level keeps the plan in hand."""
    real = milp._solve_cbc
    calls = {"n": 0}

    def fractional(problem: pulp.LpProblem, *args: Any) -> Any:
        outcome = real(problem, *args)
        calls["n"] += 1
        if calls["n"] == 2:
            integer = next(v for v in problem.variables() if v.cat == pulp.LpInteger)
            integer.varValue = 0.5
        return outcome

    monkeypatch.setattr(milp, "_solve_cbc", fractional)
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend="cbc", threads=1)
    assert result.has_plan and result.levels[1].status == "feasible"
    assert "fractional solution for level 2" in caplog.text


def test_highs_time_limit_counts_the_building_of_its_model() -> None:
    """PuLP builds a new HiGHS model for every solve; the time that takes comes out of HiGHS's
    limit, so a level ends within its budget (HiGHS alone ran 1.7 s past 60 s before)."""
    problem = pulp.LpProblem("slow_build", pulp.LpMinimize)
    x = pulp.LpVariable("x", 0, 10, cat="Integer")
    problem += x
    problem += x >= 3

    class SlowBuild(milp._HiGHS):
        def buildSolverModel(self, lp: pulp.LpProblem) -> None:
            time.sleep(0.5)
            super().buildSolverModel(lp)

    problem.solve(SlowBuild(None, StopToken(), msg=False, timeLimit=2.0))
    _, limit = problem.solverModel.getOptionValue("time_limit")
    assert x.varValue == 3 and limit <= 1.5
