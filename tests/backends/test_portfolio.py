"""The "auto" backend: HiGHS then CP-SAT at each level, passing plans and bounds."""

from __future__ import annotations

import dataclasses
import time

import pytest

import allocator
from allocator.backends import portfolio
from allocator.backends.cpsat import CpSatBackend
from allocator.backends.interface import Checkpoint, Level, LevelOutcome, LpSolution
from allocator.backends.levels import first_values, level_terms
from allocator.backends.milp import MilpBackend
from allocator.backends.portfolio import PortfolioBackend
from allocator.formulation.build import formulate
from allocator.options import SolveOptions, Status, StopToken
from tests.helpers.instances import EXAMPLES, ROOT

TERMS = [(0, 1), (1, 2)]  # the level's value: x0 + 2 x1


class Member:
    """A solver that answers with a given outcome and records the phase it was given."""

    def __init__(self, name: str, outcome: LevelOutcome, seconds: float = 0.0):
        self.name = name
        self.outcome = outcome
        self.seconds = seconds  # how long a phase takes
        self.phases: list[Level] = []
        self.bounds: list[tuple[object, int]] = []
        self.kept_going: bool | None = None
        self.lp: LpSolution | None = None  # the LP relaxation's solution (HiGHS)
        self.relaxations: list[tuple[Level, float]] = []
        self.near: list[tuple[Level, LpSolution]] = []  # searches near the LP (CP-SAT)

    def relaxation(self, level: Level, budget: float) -> LpSolution | None:
        self.relaxations.append((level, budget))
        return self.lp

    def search_near(self, level: Level, lp: LpSolution) -> LevelOutcome:
        self.near.append((level, lp))
        return self.outcome

    def solve_level(self, level: Level) -> LevelOutcome:
        """The outcome, or none when a checkpoint (asked about the outcome's plan) stops it."""
        self.phases.append(level)
        time.sleep(self.seconds)
        outcome = self.outcome
        if level.checkpoint is not None and outcome.values is not None:
            value = sum(c * outcome.values[i] for i, c in TERMS)
            self.kept_going = level.checkpoint.keep_going(value, outcome.bound or 0.0)
        return outcome

    def add_bound(self, terms: object, rhs: int) -> None:
        self.bounds.append((terms, rhs))


def _portfolio(highs: LevelOutcome, cpsat: LevelOutcome) -> tuple[PortfolioBackend, Member, Member]:
    backend = PortfolioBackend(SolveOptions(backend="auto"))
    backend.highs, backend.cpsat = Member("highs", highs), Member("cpsat", cpsat)  # type: ignore[assignment]
    backend.members = [backend.highs, backend.cpsat]
    return backend, backend.highs, backend.cpsat  # type: ignore[return-value]


def _level(
    key: str = "shortfall",
    warm: list[float] | None = None,
    budget: float | None = 10.0,
    stop: StopToken | None = None,
) -> Level:
    remaining = None if budget is None else 2 * budget
    return Level(key, 1, 1, TERMS, 1, budget, remaining, warm, time.perf_counter(), None, stop or StopToken())


def test_a_coverage_level_highs_proves_ends_there() -> None:
    backend, highs, cpsat = _portfolio(LevelOutcome(Status.OPTIMAL, [1.0, 0.0]), LevelOutcome(Status.UNKNOWN))
    outcome = backend.solve_level(_level("shortfall+surplus", warm=[3.0, 0.0]))
    assert outcome == LevelOutcome(Status.OPTIMAL, [1.0, 0.0], 1.0)
    assert highs.phases[0].warm == [3.0, 0.0] and not cpsat.phases
    # the level's time: 3/4 of the 20 s left (more than its own share of 10 s); HiGHS's phase 2/3 of it
    assert highs.phases[0].budget == pytest.approx(
        portfolio.FIRST_SHARE * portfolio.COVERAGE_LEVEL_SHARE * 20.0
    )
    assert highs.phases[0].budget == pytest.approx(10.0)  # as long as HiGHS alone would have (half of 20)


def test_a_coverage_level_keeps_a_larger_share_of_its_own() -> None:
    backend, highs, _ = _portfolio(LevelOutcome(Status.OPTIMAL, [1.0, 0.0]), LevelOutcome(Status.UNKNOWN))
    level = _level("shortfall", warm=[3.0, 0.0])
    backend.solve_level(dataclasses.replace(level, budget=18.0))  # the last level: all of its 20 s but 2
    assert highs.phases[0].budget == pytest.approx(portfolio.FIRST_SHARE * 18.0)


def test_cpsat_starts_from_the_better_plan_and_the_better_bound_counts() -> None:
    backend, _, cpsat = _portfolio(
        LevelOutcome(Status.FEASIBLE, [2.0, 1.0], 3.0), LevelOutcome(Status.FEASIBLE, [3.0, 0.0], 2.0)
    )
    outcome = backend.solve_level(_level("surplus", warm=[6.0, 0.0]))
    assert cpsat.phases[0].warm == [2.0, 1.0]  # value 4, better than the warm start's 6
    assert cpsat.phases[0].budget == pytest.approx(15.0, abs=0.1)  # the rest of the level's 3/4 of 20 s
    assert cpsat.phases[0].remaining == pytest.approx(20.0, abs=0.1)
    assert outcome == LevelOutcome(Status.OPTIMAL, [3.0, 0.0], 3.0)  # value 3 meets HiGHS' bound 3


def test_a_worse_phase_does_not_replace_the_plan() -> None:
    backend, _, cpsat = _portfolio(
        LevelOutcome(Status.FEASIBLE, [8.0, 0.0], 1.0), LevelOutcome(Status.UNKNOWN)
    )
    outcome = backend.solve_level(_level(warm=[5.0, 0.0]))
    assert cpsat.phases[0].warm == [5.0, 0.0]
    assert outcome == LevelOutcome(Status.UNKNOWN, None, 1.0)  # nothing better than the plan in hand


def test_cpsat_keeps_a_level_where_it_makes_headway(monkeypatch: pytest.MonkeyPatch) -> None:
    """From 10 towards a bound of 0, CP-SAT reaching 4 by its checkpoint closes 60% of the gap:
    its search goes on to the end of the level and HiGHS never runs."""
    monkeypatch.setattr(portfolio, "MIN_PROBE_SECONDS", 0.0)  # a checkpoint on a short level
    backend, highs, cpsat = _portfolio(
        LevelOutcome(Status.UNKNOWN), LevelOutcome(Status.FEASIBLE, [4.0, 0.0], 0.0)
    )
    backend.solve_level(_level("fairness", warm=[10.0, 0.0]))
    (phase,) = cpsat.phases
    assert phase.budget == pytest.approx(10.0, abs=0.1) and phase.warm == [10.0, 0.0]
    assert phase.checkpoint is not None
    assert phase.checkpoint.after == pytest.approx(portfolio.PROBE_SHARE * 10.0)
    assert cpsat.kept_going is True and not highs.phases


def test_highs_takes_over_a_level_where_cpsat_moves_slowly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reaching 8 from 10 (20% of the gap), CP-SAT stops at its checkpoint and HiGHS gets the
    level's whole share of time again, from CP-SAT's plan (not what CP-SAT left of it)."""
    monkeypatch.setattr(portfolio, "MIN_PROBE_SECONDS", 0.0)  # a checkpoint on a short level
    backend, highs, cpsat = _portfolio(
        LevelOutcome(Status.FEASIBLE, [7.0, 0.0], 0.0), LevelOutcome(Status.FEASIBLE, [8.0, 0.0], 0.0)
    )
    cpsat.seconds = 0.3
    outcome = backend.solve_level(_level("fairness+cost", warm=[10.0, 0.0], budget=1.0))
    assert cpsat.kept_going is False and highs.phases[0].warm == [8.0, 0.0]
    assert portfolio.HANDOVER_SHARE == 1.0
    assert highs.phases[0].budget == pytest.approx(1.0, abs=0.05) and highs.phases[0].checkpoint is None
    assert outcome == LevelOutcome(Status.FEASIBLE, [7.0, 0.0], 0.0)


def test_a_level_too_short_for_a_checkpoint_is_cpsats_to_its_end() -> None:
    """A level of 10 s would be judged after 3 s, before CP-SAT's search gets going: no
    checkpoint, so CP-SAT has the whole level however slowly it moves, and HiGHS never runs;
    from 20 s on the checkpoint is there."""
    backend, highs, cpsat = _portfolio(
        LevelOutcome(Status.FEASIBLE, [7.0, 0.0], 0.0), LevelOutcome(Status.FEASIBLE, [9.0, 0.0], 0.0)
    )
    outcome = backend.solve_level(_level("fairness", warm=[10.0, 0.0], budget=10.0))
    (phase,) = cpsat.phases
    assert phase.checkpoint is None and phase.budget == pytest.approx(10.0, abs=0.1)
    assert not highs.phases and outcome.values == [9.0, 0.0]
    backend.solve_level(_level("fairness", warm=[10.0, 0.0], budget=20.0))
    assert cpsat.phases[-1].checkpoint is not None


def test_a_level_is_first_searched_near_its_lp_relaxation() -> None:
    """HiGHS solves the level's LP (value 2.5, so a bound of 3) within its share of the time; CP-SAT
    searches near its solution for its share, then has the rest of the level on the whole model
    from the plan found there, with no checkpoint and no hand-over."""
    backend, highs, cpsat = _portfolio(
        LevelOutcome(Status.UNKNOWN), LevelOutcome(Status.FEASIBLE, [4.0, 0.0], 0.0)
    )
    highs.lp = LpSolution([2.5, 0.0], 2.5)
    outcome = backend.solve_level(_level("deployments", warm=[10.0, 0.0]))
    ((asked, seconds),) = highs.relaxations
    assert seconds == pytest.approx(portfolio.LP_SHARE * 10.0) and asked.terms == TERMS
    ((near, lp),) = cpsat.near
    assert lp is highs.lp and near.warm == [10.0, 0.0]
    assert near.budget == pytest.approx(portfolio.NEAR_LP_SHARE * 10.0, abs=0.1)
    (rest,) = cpsat.phases
    assert rest.warm == [4.0, 0.0] and rest.checkpoint is None and not highs.phases
    assert rest.budget == pytest.approx(10.0, abs=0.1)  # the rest of the level: the stub took no time
    assert outcome == LevelOutcome(Status.FEASIBLE, [4.0, 0.0], 3.0)


def test_a_plan_at_the_lp_bound_ends_the_level() -> None:
    backend, _, cpsat = _portfolio(LevelOutcome(Status.UNKNOWN), LevelOutcome(Status.FEASIBLE, [3.0, 0.0]))
    backend.highs.lp = LpSolution([2.5, 0.0], 2.5)  # type: ignore[attr-defined]
    outcome = backend.solve_level(_level("cost", warm=[10.0, 0.0]))
    assert outcome == LevelOutcome(Status.OPTIMAL, [3.0, 0.0], 3.0) and not cpsat.phases


@pytest.mark.parametrize("lp", [LpSolution([0.0, 0.0], 0.0), None], ids=["at 0", "not solved"])
def test_no_search_near_an_lp_at_0_or_unsolved(lp: LpSolution | None) -> None:
    """An LP at 0 (fairness balanced by fractions of units) says nothing of where good plans lie."""
    backend, highs, cpsat = _portfolio(
        LevelOutcome(Status.UNKNOWN), LevelOutcome(Status.FEASIBLE, [4.0, 0.0])
    )
    highs.lp = lp
    backend.solve_level(_level("fairness", warm=[10.0, 0.0]))
    assert highs.relaxations and not cpsat.near and cpsat.phases[0].warm == [10.0, 0.0]


@pytest.mark.parametrize("budget, warm", [(None, [10.0, 0.0]), (10.0, None)], ids=["no limit", "no plan"])
def test_no_lp_without_a_time_limit_or_a_plan(budget: float | None, warm: list[float] | None) -> None:
    backend, highs, cpsat = _portfolio(LevelOutcome(Status.UNKNOWN), LevelOutcome(Status.UNKNOWN))
    highs.lp = LpSolution([2.5, 0.0], 2.5)
    backend.solve_level(_level("fairness", warm=warm, budget=budget))
    assert not highs.relaxations and not cpsat.near


def test_the_real_lp_bounds_the_level_and_the_search_near_it_keeps_the_plan() -> None:
    """HiGHS's LP relaxation of a later level (with the earlier levels' bounds) is below the
    level's optimum, proven by CP-SAT; the search near it returns a plan no worse than its start."""
    formulation = formulate(allocator.load_instance(EXAMPLES / "lead-rotation.yaml"))
    backend = PortfolioBackend(SolveOptions(backend="auto", threads=1, seed=0))
    backend.load(formulation)
    terms, scale = level_terms(formulation.model, (("deployments", 1.0),))
    warm = first_values(formulation, None)
    assert warm is not None
    level = Level("deployments", 1, 1, terms, scale, 10.0, 10.0, warm, time.perf_counter(), None, StopToken())
    lp = backend.highs.relaxation(level, 10.0)
    assert lp is not None
    optimum = backend.cpsat.solve_level(dataclasses.replace(level, budget=30.0, remaining=30.0))
    assert optimum.status == Status.OPTIMAL and optimum.values is not None
    assert lp.optimum <= level.value(optimum.values) + 1e-6 and lp.bound <= level.value(optimum.values)
    near = backend.cpsat.search_near(level, lp)
    assert near.values is not None and level.value(near.values) <= level.value(warm)


def test_cpsat_stops_at_its_checkpoint_when_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real CP-SAT asks its checkpoint and stops there, keeping the plan it has."""
    formulation = formulate(allocator.load_instance(ROOT / "instances" / "reassurance.yaml"))
    backend = CpSatBackend(SolveOptions(threads=2, seed=0))
    backend.load(formulation)
    terms, scale = level_terms(formulation.model, (("fairness", 1.0),))
    asked: list[tuple[float, float]] = []

    def keep_going(value: float, bound: float) -> bool:
        asked.append((value, bound))
        return False

    warm = first_values(formulation, None)  # a plan from the start: the checkpoint has one to judge
    started = time.perf_counter()
    checkpoint = Checkpoint(1.0, keep_going)
    level = Level("fairness", 1, 1, terms, scale, 30.0, 30.0, warm, started, None, StopToken(), checkpoint)
    outcome = backend.solve_level(level)
    assert len(asked) == 1 and outcome.values is not None
    assert time.perf_counter() - started < 20  # stopped well before the level's 30 s


def test_without_a_time_limit_the_first_phase_gets_a_fixed_time() -> None:
    backend, highs, cpsat = _portfolio(LevelOutcome(Status.UNKNOWN), LevelOutcome(Status.UNKNOWN))
    backend.solve_level(_level(budget=None))
    assert highs.phases[0].budget == portfolio.UNLIMITED_FIRST_SECONDS
    assert cpsat.phases[0].budget is None


def test_infeasible_is_the_answer_and_a_stop_skips_the_next_phase() -> None:
    backend, _, cpsat = _portfolio(LevelOutcome(Status.INFEASIBLE), LevelOutcome(Status.UNKNOWN))
    assert backend.solve_level(_level()).status == Status.INFEASIBLE and not cpsat.phases
    stop = StopToken()
    backend, highs, cpsat = _portfolio(LevelOutcome(Status.UNKNOWN), LevelOutcome(Status.UNKNOWN))

    def stop_then_nothing(level: Level) -> LevelOutcome:
        stop.stop()
        return LevelOutcome(Status.UNKNOWN)

    highs.solve_level = stop_then_nothing  # type: ignore[method-assign]
    backend.solve_level(_level(stop=stop))
    assert not cpsat.phases


def test_bounds_reach_every_member() -> None:
    backend, highs, cpsat = _portfolio(LevelOutcome(Status.UNKNOWN), LevelOutcome(Status.UNKNOWN))
    backend.add_bound(TERMS, 7)
    assert highs.bounds == cpsat.bounds == [(TERMS, 7)]


def test_a_large_model_is_cpsat_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    formulation = formulate(allocator.load_instance(EXAMPLES / "basic.yaml"))
    monkeypatch.setattr(portfolio, "PORTFOLIO_MAX_COLUMNS", formulation.model.columns - 1)
    backend = PortfolioBackend(SolveOptions(backend="auto"))
    backend.load(formulation)
    assert backend.members == [backend.cpsat]


def test_auto_solves_to_the_proven_optimum_of_each_solver() -> None:
    """On a small instance every level is proven, and by the same values as CP-SAT alone."""
    auto = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend="auto", threads=1, time_limit=30)
    cpsat = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend="cpsat", threads=1, time_limit=30)
    assert auto.status == cpsat.status == Status.OPTIMAL
    assert auto.backend == "auto"
    assert auto.objectives == cpsat.objectives


def test_each_member_holds_the_model_it_would_build_alone() -> None:
    """The one pass gives CP-SAT and HiGHS each its own row order: the same models as alone."""

    def loaded(backend: object) -> object:
        backend.load(formulate(allocator.load_instance(EXAMPLES / "lead-rotation.yaml")))  # type: ignore[attr-defined]
        return backend

    both = loaded(PortfolioBackend(SolveOptions(backend="auto")))
    cpsat = loaded(CpSatBackend(SolveOptions()))
    highs = loaded(MilpBackend(SolveOptions(backend="highs"), "highs"))
    assert str(both.cpsat.model.proto) == str(cpsat.model.proto)  # type: ignore[attr-defined]
    mine = [str(c) for c in both.highs.problem.constraints()]  # type: ignore[attr-defined]
    assert mine == [str(c) for c in highs.problem.constraints()]  # type: ignore[attr-defined]
