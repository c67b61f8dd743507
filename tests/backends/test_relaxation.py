"""The shortfall relaxation: never above the optimum, and tight where rest alone makes demand short
(the whole model's LP relaxation too, never above the optimum)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from hypothesis import given

import allocator
from allocator.backends import backend_for
from allocator.backends.interface import Level, LevelOutcome, stream_rows
from allocator.backends.lpbound import LpRelaxation
from allocator.backends.relaxation import shortfall_bound
from allocator.errors import InputError
from allocator.formulation.build import formulate
from allocator.instance.index import Index
from allocator.instance.model import Instance
from allocator.options import Status
from tests.helpers.instances import EXAMPLES, base_instance, build
from tests.helpers.profiles import examples, property_settings
from tests.helpers.strategies import choice_instances


def test_rest_after_max_tour_binds() -> None:
    """One unit, tours of at most 2 months, a month's rest: at most 4 of 6 months covered."""
    doc = base_instance(horizon={"periods": 6})
    doc["offers"] = [{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1, "max_tour": 2}]
    instance = build({**doc, "model": {"objectives": ["shortfall"]}})
    assert shortfall_bound(Index.of(instance)) == 2.0
    result = allocator.solve(instance, threads=1, time_limit=10)
    assert result.levels[0].value == 2.0 and result.levels[0].bound == 2.0


def test_the_bound_of_a_shipped_example_is_its_optimum() -> None:
    instance = allocator.load_instance(EXAMPLES / "shortfall.yaml")
    result = allocator.solve(instance, threads=1, time_limit=10)
    assert shortfall_bound(Index.of(instance)) == result.objectives["shortfall"] > 0


def lp_bound(instance: Instance) -> float | None:
    """The whole model's LP relaxation bound (:mod:`allocator.backends.lpbound`) on the shortfall."""
    formulation = formulate(instance)
    lp = LpRelaxation()
    stream_rows(formulation.model, formulation.rows(), lp)
    shortfall = formulation.model.objectives["shortfall"]
    bound = lp.start(shortfall.terms, 10).result()
    return None if bound is None else bound / shortfall.scale


def test_never_above_the_optimum() -> None:
    """Both relaxations: the small one here and the whole model's LP."""
    positive = []

    @property_settings(examples().properties)
    @given(doc=choice_instances())
    def example(doc: dict[str, Any]) -> None:
        try:
            instance = allocator.build_instance({**doc, "model": {"objectives": ["shortfall"]}}, "<tiny>")
        except InputError:
            return
        bound = shortfall_bound(Index.of(instance))
        assert bound is not None
        result = allocator.solve(instance, threads=1, time_limit=10)
        if result.status == "infeasible":  # a lead no nation can serve: the relaxation knows no leads
            return
        assert result.status == "optimal"
        optimum = result.objectives["shortfall"]
        whole = lp_bound(instance)
        assert whole is not None
        assert bound <= optimum + 1e-9 and whole <= optimum + 1e-9
        positive.append(bound > 0 and whole > 0)

    example()
    assert any(positive)  # the relaxation bounds something in some examples


def test_the_level_loop_reports_the_relaxation_and_proves_with_it(monkeypatch: Any, backend: str) -> None:
    """A solver that leaves the shortfall level unproven (no bound): the relaxation's bound, equal
    to the value here, is reported and proves the level."""
    cls = type(backend_for(allocator.SolveOptions(backend=backend)))
    real = cls.solve_level

    def unproven(self: Any, level: Level) -> LevelOutcome:
        outcome = real(self, level)
        return LevelOutcome(Status.FEASIBLE, outcome.values, None) if level.number == 1 else outcome

    monkeypatch.setattr(cls, "solve_level", unproven)
    result = allocator.solve(EXAMPLES / "shortfall.yaml", backend=backend, threads=1)
    first = result.levels[0]
    assert (first.key, first.status, first.value, first.bound) == ("shortfall", "optimal", 5.0, 5.0)
    short = allocator.solve(EXAMPLES / "shortfall.yaml", backend=backend, threads=1, time_limit=5)
    assert short.levels[0].status == "feasible" and short.levels[0].bound == 0.0  # no time for it


def test_the_relaxation_solves_after_a_level_solved_by_highs_with_other_threads() -> None:
    """HiGHS sizes its task scheduler once per process and refuses a run that asks for another
    size: the shortfall relaxation (one thread) after a MILP level solved with the default threads
    (as many as the cores) returned nothing.  In a fresh process, where the scheduler is unsized."""
    script = (
        "import pulp, allocator\n"
        "from allocator.backends.milp import _solve_highs\n"
        "from allocator.backends.relaxation import shortfall_bound\n"
        "from allocator.instance.index import Index\n"
        "from allocator.options import StopToken\n"
        "level = pulp.LpProblem('level', pulp.LpMinimize)\n"
        "x = pulp.LpVariable('x', 0, 10, cat='Integer')\n"
        "level += x\n"
        "level += x >= 3\n"
        "_solve_highs(level, 10.0, None, 0, None, StopToken(), False)\n"
        f"path = {str(EXAMPLES / 'shortfall.yaml')!r}\n"
        "print(shortfall_bound(Index.of(allocator.load_instance(path))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "5.0"
