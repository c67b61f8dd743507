"""The default backend, "auto": CP-SAT and HiGHS on one model, passing plans to each other.

No single solver is best at every level (BENCHMARKS.md, "Issue 13"): HiGHS proves the coverage
levels (shortfall, surplus) that CP-SAT leaves open on some instances, and its sub-MIPs balance
burdens well where CP-SAT's search moves slowly; where CP-SAT's large-neighbourhood search makes
headway it is far better than HiGHS at fairness.  So each level runs in phases, each solver
starting from the best plan so far, and a phase that proves the level ends it:

- a level of coverage objectives only: :data:`COVERAGE_LEVEL_SHARE` of the time left, HiGHS for
  :data:`FIRST_SHARE` of it (as long as HiGHS alone would have), then CP-SAT for the rest;
- any other level: its LP relaxation (HiGHS) and, where the LP's optimum is above 0, CP-SAT's
  search near its solution up to :data:`NEAR_LP_SHARE` of the level's time (:meth:`_near_lp`),
  then CP-SAT on the whole model for the rest; where no search near the LP ran, CP-SAT on the
  whole model, which at :data:`PROBE_SHARE` of the level's time (a checkpoint
  in its search, on levels long enough for one: :data:`MIN_PROBE_SECONDS`) goes on to the end of
  the level if it closed at least :data:`PROGRESS` of the
  gap between the level's starting plan and the best bound, and otherwise stops there and HiGHS
  gets the level's whole share of time again (:data:`HANDOVER_SHARE`), from CP-SAT's plan: the
  later levels, less important, pay for the probe.

The level's bound is the best of the solvers' and the LP's.  Without a time limit, a coverage
level gives HiGHS :data:`UNLIMITED_FIRST_SECONDS` first, and any other level is CP-SAT's until
proven.
Both solvers hold the whole model, each with its rows in its own order, and every earlier
level's bound.  Above :data:`PORTFOLIO_MAX_COLUMNS` columns, where building the MILP costs
seconds and gigabytes, "auto" is CP-SAT alone, coverage levels still with their larger share
of time (CP-SAT there searches near the whole model's LP relaxation: :mod:`lpbound`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Sequence

from allocator.backends.cpsat import CpSatBackend
from allocator.backends.interface import Backend, Checkpoint, Level, LevelOutcome, stream_rows, terms_value
from allocator.backends.milp import MilpBackend
from allocator.formulation.linear import Row, Terms
from allocator.formulation.rules import Formulation
from allocator.options import SolveOptions, Status

log = logging.getLogger(__name__)

#: Objectives whose levels HiGHS solves first (their LP relaxations are tight).
COVERAGE = frozenset({"shortfall", "surplus"})
#: A coverage level's time: this share of all the time left, where the level loop's share is
#: less (a better coverage outweighs every later level, which pay for it only while it is open).
COVERAGE_LEVEL_SHARE = 0.75
#: The share of a coverage level's time HiGHS gets before CP-SAT: 2/3 of 3/4 is the half of the
#: time left that HiGHS alone would have.
FIRST_SHARE = 2 / 3
#: The share of any other level's time after which CP-SAT's headway is judged ...
PROBE_SHARE = 0.3
#: ... the share of the gap it must close to keep the rest of the time ...
PROGRESS = 0.4
#: ... and the least search time before a judgement: CP-SAT's large-neighbourhood search needs a
#: few seconds to get going, so a level shorter than MIN_PROBE_SECONDS / PROBE_SHARE (20 s) is
#: CP-SAT's to its end (reassurance at 20 s: fairness 235-275 handed over, 73-79 kept).
MIN_PROBE_SECONDS = 6.0
#: The share of the level's time HiGHS gets after a hand-over (later levels pay for the probe).
HANDOVER_SHARE = 1.0
#: The share of a non-coverage level's time its LP relaxation may take (PuLP's building of the
#: HiGHS model included; at short time limits a quarter was too little) ...
LP_SHARE = 0.5
#: ... and the share of the level's time (the LP's included) CP-SAT searches near its solution.
NEAR_LP_SHARE = 0.8
#: A phase given less time than this is skipped.
MIN_PHASE_SECONDS = 0.05
#: Models with more columns than this are solved by CP-SAT alone.
PORTFOLIO_MAX_COLUMNS = 50_000
#: Without a time limit, the first phase gets this long.
UNLIMITED_FIRST_SECONDS = 60.0


class PortfolioBackend:
    """HiGHS and CP-SAT in turn at each level, each warm-started from the best plan so far."""

    name = "auto"

    def __init__(self, options: SolveOptions):
        self.options = options
        self.cpsat = CpSatBackend(options)
        self.highs = MilpBackend(options, "highs")
        self.members: list[Backend] = [self.highs, self.cpsat]

    def load(self, formulation: Formulation) -> None:
        """HiGHS takes the rows as they stream (its order); CP-SAT the same rows, held until the
        stream ends, in its own order (the portfolio only runs on models of moderate size)."""
        model = formulation.model
        if model.columns > PORTFOLIO_MAX_COLUMNS or self.options.reproducible:
            why = "reproducible mode" if self.options.reproducible else f"{model.columns} columns"
            log.info("auto: %s, CP-SAT alone", why)
            self.members = [self.cpsat]
            self.cpsat.load(formulation)
            return
        held: list[tuple[str, Row]] = []

        def to_highs() -> Iterator[Row]:
            for section, row in formulation.sections(self.highs.row_order):
                held.append((section, row))
                yield row

        stream_rows(model, to_highs(), self.highs)
        order = {name: rank for rank, name in enumerate(self.cpsat.row_order or ())}
        held.sort(key=lambda item: order.get(item[0], len(order)))  # definitions (OBJECTIVE_ROWS) last
        stream_rows(model, (row for _, row in held), self.cpsat, formulation.check)

    @property
    def work(self) -> float:
        """CP-SAT's deterministic time so far (the reproducible mode's clock)."""
        return self.cpsat.work

    def add_bound(self, terms: Terms, rhs: int) -> None:
        for member in self.members:
            member.add_bound(terms, rhs)

    def solve_level(self, level: Level) -> LevelOutcome:
        coverage = set(level.key.split("+")) <= COVERAGE
        if coverage:
            level = _coverage_level(level)
        if len(self.members) == 1:
            return self.cpsat.solve_level(level)
        started = time.perf_counter()
        best = _Best(level.terms, level.warm)
        if coverage:
            if not self._phase(self.highs, level, FIRST_SHARE, started, best) and not level.stop.stopped:
                self._phase(self.cpsat, level, None, started, best)
            return best.outcome()
        if self._near_lp(level, started, best):
            # the rest of the level (a fifth) is CP-SAT's: too short for a checkpoint and a hand-over
            if not best.settled and not level.stop.stopped:
                self._phase(self.cpsat, level, None, started, best)
            return best.outcome()
        if best.settled or level.stop.stopped:
            return best.outcome()
        handed_over: list[bool] = []

        def keep_going(value: float, bound: float) -> bool:
            headway = best.headway(value, bound)
            log.info(
                "level %d: CP-SAT closed %.0f%% of the gap at its checkpoint (%g, bound %g)",
                level.number,
                100 * headway,
                value / level.scale,
                bound / level.scale,
            )
            handed_over.append(headway < PROGRESS)
            return not handed_over[-1]

        probe = None if level.budget is None else PROBE_SHARE * level.budget
        checkpoint = None if probe is None or probe < MIN_PROBE_SECONDS else Checkpoint(probe, keep_going)
        settled = self._phase(self.cpsat, level, None, started, best, checkpoint)
        if not settled and any(handed_over) and not level.stop.stopped:
            self._phase(self.highs, level, HANDOVER_SHARE, started, best)
        return best.outcome()

    def _near_lp(self, level: Level, started: float, best: _Best) -> bool:
        """The level's LP relaxation (HiGHS), then CP-SAT near its solution for
        :data:`NEAR_LP_SHARE` of the level's time: where the LP's optimum is above 0 (an LP that
        reaches 0 says nothing of where good plans lie, as fairness's on reassurance).  True when
        CP-SAT searched near the LP."""
        if level.budget is None or best.values is None:
            return False
        solution = self.highs.relaxation(level, LP_SHARE * level.budget)
        elapsed = time.perf_counter() - started
        if solution is None:
            log.info(
                "level %d: LP relaxation not solved in %.2fs: no bound from it, no search near it",
                level.number,
                elapsed,
            )
            return False
        best.take(LevelOutcome(Status.FEASIBLE, None, solution.bound))
        log.info("level %d: LP relaxation %g in %.2fs", level.number, solution.optimum / level.scale, elapsed)
        if solution.optimum <= 0 or best.settled:
            return False
        share = NEAR_LP_SHARE - elapsed / level.budget  # the LP's time counts in the phase's share
        phase = _phase_level(level, elapsed, share, best.values) if share > 0 else None
        if phase is None:
            return False
        outcome = self.cpsat.search_near(phase, solution)
        log.info(
            "level %d, CP-SAT near the LP: %s, %.2fs into the level",
            level.number,
            "no plan" if outcome.values is None else f"{level.value(outcome.values) / level.scale:g}",
            time.perf_counter() - started,
        )
        best.take(outcome)
        return True

    def _phase(
        self,
        member: Backend,
        level: Level,
        share: float | None,
        started: float,
        best: _Best,
        checkpoint: Checkpoint | None = None,
    ) -> bool:
        """One phase: `member` for `share` of the level's time (None: all that is left of it);
        True when the level is settled (proven, or proven infeasible)."""
        phase = _phase_level(level, time.perf_counter() - started, share, best.values)
        if phase is None:
            return False
        outcome = member.solve_level(dataclasses.replace(phase, checkpoint=checkpoint))
        log.info(
            "level %d, %s phase: %s, bound %s, %.2fs into the level",
            level.number,
            member.name,
            outcome.status,
            "none" if outcome.bound is None else f"{outcome.bound / level.scale:g}",
            time.perf_counter() - started,
        )
        best.take(outcome)
        return best.settled


def _coverage_level(level: Level) -> Level:
    """A coverage level with :data:`COVERAGE_LEVEL_SHARE` of the time left, where its own share
    is less."""
    if level.budget is None or level.remaining is None:
        return level
    return dataclasses.replace(level, budget=max(level.budget, COVERAGE_LEVEL_SHARE * level.remaining))


def _phase_level(level: Level, elapsed: float, share: float | None, warm: list[float] | None) -> Level | None:
    """The level as one phase sees it: `share` of the level's time (None: the rest of it), from
    the best plan so far; None when too little time is left for a phase."""
    remaining = None if level.remaining is None else level.remaining - elapsed
    if level.budget is None:
        budget = None if share is None else UNLIMITED_FIRST_SECONDS
    else:
        budget = level.budget - elapsed if share is None else share * level.budget
    if remaining is not None:
        budget = remaining if budget is None else min(budget, remaining)
    if budget is not None and budget < MIN_PHASE_SECONDS:
        return None
    return dataclasses.replace(level, budget=budget, remaining=remaining, warm=warm)


class _Best:
    """The best plan of a level's phases (by the level's objective, the warm start included) and
    the best bound (a phase that proves its plan optimal proves that plan's value a bound)."""

    def __init__(self, terms: Terms, warm: list[float] | None):
        self.terms = terms
        self.values = warm
        self.start = None if warm is None else self.value(warm)
        self.found = False  # whether a phase found a plan as good as the warm start
        self.bound: float | None = None
        self.infeasible = False

    def value(self, values: Sequence[float]) -> float:
        return terms_value(self.terms, values)

    def take(self, outcome: LevelOutcome) -> None:
        if outcome.status == Status.INFEASIBLE:
            self.infeasible = True
            return
        bounds = [b for b in (self.bound, outcome.bound) if b is not None]
        if outcome.values is not None:
            new = self.value(outcome.values)
            if outcome.status == Status.OPTIMAL:
                bounds.append(new)
            current = None if self.values is None else self.value(self.values)
            if current is None or new < current or (not self.found and new <= current):
                self.values, self.found = outcome.values, True
        self.bound = max(bounds) if bounds else None

    def headway(self, value: float, bound: float) -> float:
        """The share of the gap between the starting plan and the best bound (0 where none is
        known) that a plan of `value` closes; 1 without a starting plan to compare with."""
        if self.start is None:
            return 1.0
        gap = self.start - max(self.bound or 0.0, bound, 0.0)
        return 1.0 if gap <= 0 else (self.start - value) / gap

    @property
    def settled(self) -> bool:
        return self.infeasible or self.proven

    @property
    def proven(self) -> bool:
        """Whether the best plan's value reaches the bound."""
        if self.values is None or self.bound is None:
            return False
        return self.bound >= self.value(self.values) - 1e-6

    def outcome(self) -> LevelOutcome:
        if self.infeasible:
            return LevelOutcome(Status.INFEASIBLE)
        if self.values is None or not (self.found or self.proven):
            return LevelOutcome(Status.UNKNOWN, None, self.bound)
        return LevelOutcome(Status.OPTIMAL if self.proven else Status.FEASIBLE, self.values, self.bound)
