"""CP-SAT's level clock: the soft deadline ends a search with a plan in hand, even when the search
itself finds none (the warm start stands); without any plan the search goes on to the hard limit."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import allocator
from allocator.backends import cpsat
from allocator.backends.interface import Level
from allocator.backends.levels import first_values, level_terms
from allocator.formulation.build import formulate
from allocator.options import SolveOptions, Status, StopToken
from tests.helpers.instances import EXAMPLES


@pytest.fixture
def a_search_that_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """CP-SAT searches until stopped (or 5 s), finding no solution."""
    stopped: dict[int, threading.Event] = {}
    real_solve = cpsat.cp_model.CpSolver.solve

    def solve(self: Any, model: Any, callback: Any = None) -> Any:
        stopped.setdefault(id(self), threading.Event()).wait(5.0)
        real_solve(self, cpsat.cp_model.CpModel())  # a response to read (bound 0), of nothing
        return cpsat.cp_model.UNKNOWN

    def stop_search(self: Any) -> None:
        stopped.setdefault(id(self), threading.Event()).set()

    monkeypatch.setattr(cpsat.cp_model.CpSolver, "solve", solve)
    monkeypatch.setattr(cpsat.cp_model.CpSolver, "stop_search", stop_search)


def level_seconds(warm: bool) -> float:
    instance = allocator.load_instance(EXAMPLES / "basic.yaml")
    formulation = formulate(instance)
    backend = cpsat.CpSatBackend(SolveOptions(threads=1))
    backend.load(formulation)
    terms, scale = level_terms(formulation.model, instance.spec.levels[0])
    values = first_values(formulation, None) if warm else None
    started = time.perf_counter()
    level = Level("shortfall", 1, 2, terms, scale, 0.3, 3.0, values, started, None, StopToken())
    outcome = backend.solve_level(level)
    assert outcome.status == Status.UNKNOWN and outcome.values is None
    return time.perf_counter() - started


@pytest.mark.usefixtures("a_search_that_finds_nothing")
def test_a_level_with_a_plan_in_hand_stops_at_its_soft_deadline() -> None:
    assert level_seconds(warm=True) < 2.0  # the soft deadline (0.3 s), not the hard limit (3 s)


@pytest.mark.usefixtures("a_search_that_finds_nothing")
def test_a_level_without_a_plan_searches_past_its_soft_deadline() -> None:
    assert level_seconds(warm=False) > 2.0
