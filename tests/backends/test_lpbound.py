"""The LP bound: the relaxation's optimum on small LPs, weak duality from any duals, CP-SAT
reporting it where it has no LP of its own, and the search near the LP's solution (never above
the optimum: ``test_relaxation.py``)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import allocator
from allocator.backends import cpsat, lpbound
from allocator.backends.interface import LevelOutcome
from allocator.backends.lpbound import LpRelaxation
from allocator.formulation.linear import LinearModel, Row
from allocator.options import Status, StopToken
from tests.helpers.instances import EXAMPLES


def small_lp(time_limit: float | None = None) -> tuple[LpRelaxation, list[tuple[int, int]]]:
    """min 3x - y: x >= 2, x + y <= 7, y >= x + 1 (as x - y <= -1), y <= 4 while s = 0, s in {0, 1}.
    With s free the optimum is x = 2, y = 5 (value 1)."""
    model = LinearModel("small", "tours", 2)
    x, y, s = (model.add_variable("z", name, up) for name, up in (("x", 10), ("y", 10), ("s", 1)))
    lp = LpRelaxation(time_limit)
    lp.add_variables(model)
    for row in (
        Row("a", [(x, 1)], ">=", 2),
        Row("b", [(x, 1), (y, 1)], "<=", 7),
        Row("c", [(x, 1), (y, -1)], "<=", -1),
        Row("d", [(y, 1)], "<=", 4, when=(s, 0), largest=10),
    ):
        lp.add_row(row)
    lp.finish(model)
    return lp, [(x, 3), (y, -1)]


def test_the_bound_is_the_lp_optimum() -> None:
    lp, terms = small_lp()
    assert lp.start(terms, 10).result() == 1.0
    lp.add_row(Row(None, [(2, 1)], "<=", 0))  # s kept at 0: y <= 4, so x = 2, y = 4 at best (value 2)
    assert lp.start(terms, 10).result() == 2.0


def test_an_lp_no_time_limit_could_solve_is_not_gathered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seven non-zeros: gathered for a limit that could solve them, dropped at the row that
    passes the most a limit could solve (nothing held, no level fits)."""
    monkeypatch.setattr(lpbound, "NONZEROS_PER_SECOND", 1 / lpbound.LEVEL_SHARE)  # a second a non-zero
    lp, _ = small_lp(time_limit=7)
    assert not lp.abandoned and len(lp.index) == 7 and lp.fits(7)
    lp, _ = small_lp(time_limit=6)
    assert lp.abandoned and len(lp.index) == 0 and len(lp.starts) == 1 and not lp.fits(None)


@given(st.lists(st.floats(-5, 5), min_size=5, max_size=5))
def test_any_duals_give_a_bound_below_the_optimum(duals: list[float]) -> None:
    """Weak duality: g(y) <= the LP optimum (here 2 with s kept at 0) for every y, whatever its signs."""
    lp, terms = small_lp()
    lp.add_row(Row(None, [(2, 1)], "<=", 0))
    running = lp.start(terms, 10)
    running.result()
    assert running.dual_bound(np.array(duals)) <= 2.0


def test_cpsat_reports_the_lp_bound_without_lp_workers(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Above the LP workers' size CP-SAT gathers the LP relaxation and solves it beside its first
    level; its bound is the level's when CP-SAT's own is weaker (here CP-SAT is stopped at once)."""
    monkeypatch.setattr(cpsat, "LP_WORKERS_MAX_VARIABLES", 0)
    monkeypatch.setattr(lpbound, "NONZEROS_PER_SECOND", 10**9)
    real_solve = cpsat.cp_model.CpSolver.solve

    def stopped_at_once(self: Any, model: Any, callback: Any = None) -> Any:
        self.parameters.max_time_in_seconds = 0.0  # CP-SAT gives up with the hint, bound 0
        self.parameters.stop_after_first_solution = True
        return real_solve(self, model, callback)

    monkeypatch.setattr(cpsat.cp_model.CpSolver, "solve", stopped_at_once)
    with caplog.at_level(logging.INFO, logger=lpbound.__name__):
        result = allocator.solve(EXAMPLES / "shortfall.yaml", backend="cpsat", threads=1, time_limit=5)
    assert any("LP bound:" in message for message in caplog.messages)
    first = result.levels[0]
    assert first.key == "shortfall" and first.bound is not None and 0 < first.bound <= first.value


def test_no_lp_beside_a_search_without_a_plan(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The LP takes a core from the search: never while the search has no plan to fall back on
    (no first plan here), so that the search has every core until it finds one."""
    monkeypatch.setattr(cpsat, "LP_WORKERS_MAX_VARIABLES", 0)
    monkeypatch.setattr(lpbound, "NONZEROS_PER_SECOND", 10**9)
    with caplog.at_level(logging.INFO):
        result = allocator.solve(
            EXAMPLES / "shortfall.yaml", backend="cpsat", threads=1, time_limit=5, first_plan=False
        )
    assert result.has_plan
    assert "no plan in hand, so no LP relaxation beside the search" in caplog.text
    assert not any("LP bound:" in message for message in caplog.messages)


def test_a_stop_cancels_the_lp() -> None:
    lp, terms = small_lp()
    running = lp.start(terms, 10)
    stop = StopToken()
    stop.register(running.cancel)
    stop.stop()
    assert running.result() is None or running.result() <= 1.0


@pytest.fixture
def large_model_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """CP-SAT treats every model as one too large for its LP workers, with time for the LP, and
    its search of the whole model finds nothing before the LP is solved (on these small models it
    would otherwise prove the level first)."""
    monkeypatch.setattr(cpsat, "LP_WORKERS_MAX_VARIABLES", 0)
    monkeypatch.setattr(lpbound, "NONZEROS_PER_SECOND", 10**9)
    monkeypatch.setattr(cpsat, "MIN_GUIDED_SECONDS", 0.0)
    real = cpsat.CpSatBackend._search

    def nothing_until_the_lp(
        self: Any, model: Any, search: Any, lp_workers: bool, until: Any = None, **kw: Any
    ) -> Any:
        if until is None:
            return real(self, model, search, lp_workers, **kw)
        until.thread.join()
        return LevelOutcome(Status.FEASIBLE, search.level.warm, 0.0)

    monkeypatch.setattr(cpsat.CpSatBackend, "_search", nothing_until_the_lp)


@pytest.mark.usefixtures("large_model_path")
@pytest.mark.parametrize("name", ["shortfall.yaml", "multinational.yaml", "lead-rotation.yaml"])
def test_the_search_near_the_lp_finds_the_optimum(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """Stopped when the LP is solved, CP-SAT goes on near its solution and proves the first level
    with the LP's bound; the plan is the one the whole model's search finds, and verified."""
    with caplog.at_level(logging.INFO, logger=cpsat.__name__):
        result = allocator.solve(EXAMPLES / name, backend="cpsat", threads=1, time_limit=30)
    assert any("near the LP" in message for message in caplog.messages)
    reference = allocator.solve(EXAMPLES / name, backend="cpsat", threads=1, time_limit=30)
    assert result.levels[0].status == reference.levels[0].status == "optimal"
    assert result.levels[0].value == reference.levels[0].value
    assert allocator.check(allocator.load_instance(EXAMPLES / name), result).ok


@pytest.mark.usefixtures("large_model_path")
def test_a_restricted_model_keeps_the_plan_and_claims_no_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every column the plan leaves unused fixed at 0: the search can only keep or improve the
    greedy plan (here it cannot reach the optimum), and the optimum of that restricted model is no
    bound of the level."""
    monkeypatch.setattr(cpsat, "GUIDE_THRESHOLDS", (1e9,))
    path = EXAMPLES / "shortfall.yaml"
    optimum = allocator.solve(path, backend="highs", threads=1, time_limit=30).levels[0].value
    first = allocator.solve(path, backend="cpsat", threads=1, time_limit=30)
    level = first.levels[0]
    assert level.bound is not None and level.bound <= optimum <= level.value
    assert level.status == ("optimal" if level.value == optimum else "feasible")
    assert allocator.check(allocator.load_instance(path), first).ok
