"""The CP-SAT backend: the linear model as a CP-SAT model, a level as one search.

What differs from a MILP: enforcement literals instead of big-M rows, a hint instead of a MIP
start, incumbents reported as they come, and a soft deadline per level (see :class:`_Incumbents`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
from ortools.sat.python import cp_model

from allocator.backends.interface import Level, LevelOutcome, LpSolution, ModelSink, Tee, stream_rows
from allocator.backends.lpbound import LpRelaxation, RunningBound
from allocator.formulation.linear import LinearModel, Row, Terms
from allocator.formulation.rules import Formulation
from allocator.options import Progress, SolveOptions, Status

log = logging.getLogger(__name__)

#: The subsolvers CP-SAT runs when it has exactly two workers.
TWO_WORKERS = ("max_lp", "default_lp")
#: ... on models with at most this many columns (measured: up to 9k helps; 65k flow, 190k tours hurt).
LP_WORKERS_MAX_VARIABLES = 50_000
#: Searches near the LP's solution fix the columns it leaves below these values, in turn (measured
#: on the large set: BENCHMARKS.md, "Issue 13: the LP relaxation on the large set").
GUIDE_THRESHOLDS = (0.01, 0.001)
#: ... when at least this many seconds of the level are left (after the search of the whole model
#: on the large set; from the start of a level searched near its LP, :meth:`CpSatBackend.search_near`).
MIN_GUIDED_SECONDS = 10.0
MIN_NEAR_SECONDS = 1.0

STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.UNKNOWN: Status.UNKNOWN,
}


class CpSatBackend:
    """OR-Tools CP-SAT behind the level loop."""

    name = "cpsat"
    #: The rows' order: demand last but for its cut and the leads.  Measured on large-3 (flow,
    #: 300 s): demand rows first left a shortfall about 20% higher (BENCHMARKS.md, "Row order").
    row_order: tuple[str, ...] | None = (
        "tour-length",
        "unit-capacity",
        "personnel-cap",
        "budget",
        "nation-presence",
        "max-nations",
        "demand",
        "demand-cap",
        "lead-one",
    )

    def __init__(self, options: SolveOptions):
        self.options = options
        self.model = cp_model.CpModel()
        self.vars: list[cp_model.IntVar] = []
        self.boolean: list[bool] = []
        self.columns = 0
        #: the LP relaxation, gathered where CP-SAT runs without LP workers (:mod:`lpbound`)
        self.relaxation: LpRelaxation | None = None
        #: CP-SAT's deterministic time of every search so far (the reproducible mode's clock)
        self.work = 0.0

    def load(self, formulation: Formulation) -> None:
        sink: ModelSink = self
        if formulation.model.columns > LP_WORKERS_MAX_VARIABLES and not self.options.reproducible:
            self.relaxation = LpRelaxation(self.options.time_limit)
            sink = Tee(self, self.relaxation)
        stream_rows(formulation.model, formulation.rows(self.row_order), sink)

    def finish(self, model: LinearModel) -> None:
        self.model.name = model.name
        self.columns = model.columns

    def add_variables(self, model: LinearModel) -> None:
        """The variables `model` has that this CP-SAT model does not have yet."""
        for v in model.variables[len(self.vars) :]:
            self.boolean.append(v.boolean)
            self.vars.append(
                self.model.new_bool_var(v.label) if v.boolean else self.model.new_int_var(0, v.up, v.label)
            )

    def _expr(self, terms: Terms) -> cp_model.LinearExprT:
        return cp_model.LinearExpr.weighted_sum([self.vars[i] for i, _ in terms], [c for _, c in terms])

    def add_row(self, row: Row) -> None:
        add_row(self.model, self.vars, row)

    def add_bound(self, terms: Terms, rhs: int) -> None:
        self.model.add(self._expr(terms) <= rhs)

    def _lp_bound(self, level: Level) -> RunningBound | None:
        """The LP relaxation's bound on the first level, in the background, where CP-SAT has no LP
        of its own, the level has time for it and a plan is in hand (its warm start)."""
        relaxation, self.relaxation = self.relaxation, None  # the first level's alone: freed after it
        if relaxation is None or level.number != 1 or not level.terms or self.options.reproducible:
            return None
        if level.warm is None:  # a core taken from a search that has no plan yet may leave it with none
            log.info("level %d: no plan in hand, so no LP relaxation beside the search", level.number)
            return None
        if not relaxation.fits(level.budget):
            log.info("level %d: no time to solve the LP relaxation beside the search", level.number)
            return None
        return relaxation.start(level.terms, level.budget if level.budget is not None else math.inf)

    def _parameters(
        self, solver: cp_model.CpSolver, remaining: float | None, lp_workers: bool, spare: int = 0
    ) -> None:
        """The search's parameters; `spare`: cores left to an LP solved beside it."""
        params = solver.parameters
        threads = self.options.threads
        params.num_workers = max(1, (threads or os.cpu_count() or 1) - spare) if spare else (threads or 0)
        if (threads or os.cpu_count()) == 2 and lp_workers:
            # CP-SAT's default pair of workers has no LP-heavy search; these two prove shortfall
            # levels and GAP bounds much faster here, but on very large models the LP costs memory
            # and plan quality (BENCHMARKS.md, "CP-SAT with two workers")
            params.subsolvers.extend(TWO_WORKERS)
        params.random_seed = self.options.seed
        params.catch_sigint_signal = False
        params.log_search_progress = self.options.log_search
        if remaining is not None and self.options.reproducible:
            params.max_deterministic_time = max(remaining, 0.01)  # work, not seconds
        elif remaining is not None:
            # the hard limit is all the time left; the level's share is a soft deadline
            params.max_time_in_seconds = max(remaining, 0.01)

    def solve_level(self, level: Level) -> LevelOutcome:
        """One search over the whole model; on a large model's first level, the search until the
        LP relaxation is solved beside it, then searches near the LP's solution
        (:meth:`_lp_guided`)."""
        self.model.minimize(self._expr(level.terms))
        if level.warm is not None:
            _hint(self.model, self.vars, level.warm)
        search = _Search(level, self.options.reproducible)
        lp = self._lp_bound(level)
        if lp is None:
            return self._search(self.model, search, self.columns <= LP_WORKERS_MAX_VARIABLES)
        level.stop.register(lp.cancel)
        try:
            outcome = self._search(self.model, search, False, until=lp)
            if outcome.status in (Status.OPTIMAL, Status.INFEASIBLE):
                lp.cancel()
            lp_bound = lp.result()
        finally:
            level.stop.unregister(lp.cancel)
        if outcome.status == Status.INFEASIBLE:
            return outcome
        bound = max(b for b in (outcome.bound, lp_bound, -math.inf) if b is not None)
        outcome = dataclasses.replace(outcome, bound=bound)
        if outcome.status == Status.OPTIMAL or level.stop.stopped or not lp.solved:
            return outcome
        return self._lp_guided(search, lp.values(), outcome, MIN_GUIDED_SECONDS)

    def search_near(self, level: Level, lp: LpSolution) -> LevelOutcome:
        """The level searched near `lp`, its LP relaxation's solution, from its warm start, within
        its budget (:meth:`_lp_guided`); the LP's optimum is the level's bound here."""
        self.model.minimize(self._expr(level.terms))
        outcome = LevelOutcome(Status.FEASIBLE, level.warm, lp.bound)
        return self._lp_guided(
            _Search(level, self.options.reproducible), lp.values, outcome, MIN_NEAR_SECONDS
        )

    def _lp_guided(
        self,
        search: _Search,
        lp_values: Sequence[float] | np.ndarray,
        outcome: LevelOutcome,
        min_seconds: float,
    ) -> LevelOutcome:
        """Searches of the model with every column fixed at 0 that both the LP's solution (below
        a threshold) and the best plan leave unused, with CP-SAT's LP workers on (the model is
        smaller): the best plan stays feasible, so no round makes the level worse.  A round that
        proves its restricted model optimal in time leaves the rest to the next, looser threshold,
        if `min_seconds` of the level are left.  The restricted models' bounds say nothing of the
        whole model: the level keeps its own."""
        best = outcome
        for threshold in GUIDE_THRESHOLDS:
            if search.left() < min_seconds or search.level.stop.stopped:
                break
            plan = best.values if best.values is not None else search.level.warm
            if plan is not None:
                _hint(self.model, self.vars, plan)
            restricted = self.model.clone()  # with the plan as its hint
            fixed = 0
            for i in range(self.columns):
                if lp_values[i] <= threshold and (plan is None or round(plan[i]) == 0):
                    restricted.proto.variables[i].domain[1] = 0
                    fixed += 1
            found = self._search(restricted, search, True, bound=best.bound)
            log.info(
                "level %d near the LP (%d of %d columns fixed at 0): %s, %s",
                search.level.number,
                fixed,
                self.columns,
                found.status,
                "no plan"
                if found.values is None
                else f"{search.level.value(found.values) / search.level.scale:g}",
            )
            if found.values is not None and (
                best.values is None or search.level.value(found.values) < search.level.value(best.values)
            ):
                best = dataclasses.replace(best, values=found.values)
            if found.status != Status.OPTIMAL:  # the round used its time
                break
        status = best.status if best.values is None else Status.FEASIBLE
        if (
            best.values is not None
            and best.bound is not None
            and best.bound >= search.level.value(best.values)
        ):
            status = Status.OPTIMAL
        return dataclasses.replace(best, status=status)

    def _search(
        self,
        model: cp_model.CpModel,
        search: _Search,
        lp_workers: bool,
        until: RunningBound | None = None,
        bound: float | None = None,
    ) -> LevelOutcome:
        """One CP-SAT search of `model` within the level's time; `until`: stop when that LP is solved
        (if time is left for searching near it); `bound`: the level's bound where the model's
        own is not one (a restricted model)."""
        level = search.level
        solver = cp_model.CpSolver()
        self._parameters(solver, search.remaining(), lp_workers, spare=0 if until is None else 1)
        if level.progress is not None and bound is None:
            report = level.progress
            solver.best_bound_callback = lambda value: report(
                Progress(
                    level.key,
                    level.number,
                    level.levels,
                    None,
                    value / level.scale,
                    time.perf_counter() - level.started,
                )
            )
        incumbents = _Incumbents(level, search.soft_deadline, solver.stop_search, bound)
        timers = [
            _soft_stop(solver, incumbents, search.soft_deadline),
            _checkpoint(incumbents, level) if bound is None else None,
            None if until is None else _WhenSolved(until, solver, search),
        ]
        level.stop.register(solver.stop_search)
        if log.isEnabledFor(logging.DEBUG):
            said = " ".join(str(solver.parameters).split())
            log.debug("CP-SAT level %d parameters: %s", level.number, said)
        try:
            code = solver.solve(model, incumbents)
        finally:
            level.stop.unregister(solver.stop_search)
            for timer in timers:
                if timer is not None:
                    timer.cancel()
        self.work += solver.response_proto.deterministic_time
        if code == cp_model.MODEL_INVALID:
            raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")
        status = STATUS[code]
        own_bound = solver.best_objective_bound if bound is None else bound
        if not status.has_plan:
            return LevelOutcome(status, None, own_bound if status == Status.UNKNOWN else None)
        return LevelOutcome(status, [float(v) for v in solver.response_proto.solution], own_bound)


def _hint(model: cp_model.CpModel, variables: Sequence[cp_model.IntVar], values: Sequence[float]) -> None:
    """Hint `variables` (the linear model's, in order) at `values`."""
    model.clear_hints()
    for variable, value in zip(variables, values, strict=True):
        model.add_hint(variable, round(value))


class _Search:
    """A level's clock (its soft deadline and hard limit, from when it began) and objective.

    In the reproducible mode the level is one search with a limit of deterministic work: its
    share where a plan is in hand (its warm start), else all that is left; no deadline."""

    def __init__(self, level: Level, reproducible: bool = False):
        self.level = level
        self.began = time.perf_counter()
        self.work: float | None = None
        if reproducible:
            self.soft_deadline = self.hard_deadline = None
            self.work = level.budget if level.warm is not None else level.remaining
            return
        self.soft_deadline = None if level.budget is None else self.began + level.budget
        self.hard_deadline = None if level.remaining is None else self.began + level.remaining

    def remaining(self) -> float | None:
        if self.work is not None:
            return self.work
        return None if self.hard_deadline is None else self.hard_deadline - time.perf_counter()

    def left(self) -> float:
        """Seconds left of the level's share (infinite without a limit)."""
        if self.soft_deadline is None:
            return math.inf
        return self.soft_deadline - time.perf_counter()


class _Incumbents(cp_model.CpSolverSolutionCallback):
    """Reports each new incumbent of a level, and enforces the level's soft deadline and checkpoint.

    At the soft deadline the search stops if a plan is in hand (a solution of the level, or the
    plan it started from); without one it goes on to the hard limit and stops at its first
    solution: a plan matters more than time for later levels.
    The checkpoint is asked once, when it is due and the level has a solution (at the first one
    after it, if none came before).
    """

    def __init__(
        self, level: Level, soft_deadline: float | None, stop: Callable[[], None], bound: float | None = None
    ):
        super().__init__()
        self.level = level
        self.bound = bound  # the level's bound, where the search's own is not one
        self.soft_deadline = soft_deadline
        self.stop = stop
        self.found = threading.Event()
        self.incumbent = float("inf")
        self.incumbent_bound = float("-inf")
        checkpoint = level.checkpoint
        self.checkpoint_due = None if checkpoint is None else time.perf_counter() + checkpoint.after
        self._asked = threading.Lock()

    def ask_checkpoint(self) -> None:
        """Ask the checkpoint (once) if it is due and there is a solution; stop if it says so."""
        checkpoint, due = self.level.checkpoint, self.checkpoint_due
        if checkpoint is None or due is None or not self.found.is_set() or time.perf_counter() < due:
            return
        first_time = self._asked.acquire(blocking=False)  # never released: asked once
        if first_time and not checkpoint.keep_going(self.incumbent, self.incumbent_bound):
            self.stop()

    def on_solution_callback(self) -> None:
        self.incumbent, self.incumbent_bound = self.objective_value, self.best_objective_bound
        self.found.set()
        if self.soft_deadline is not None and time.perf_counter() >= self.soft_deadline:
            self.stop_search()
        self.ask_checkpoint()
        level = self.level
        if level.progress is None:
            return
        level.progress(
            Progress(
                level.key,
                level.number,
                level.levels,
                self.objective_value / level.scale,
                (self.best_objective_bound if self.bound is None else self.bound) / level.scale,
                time.perf_counter() - level.started,
            )
        )


def _soft_stop(
    solver: cp_model.CpSolver, incumbents: _Incumbents, deadline: float | None
) -> threading.Timer | None:
    """At the soft deadline, stop the search if a plan is in hand (found, or the level's warm start)."""
    if deadline is None:
        return None

    def fire() -> None:
        if incumbents.found.is_set() or incumbents.level.warm is not None:  # a plan is in hand either way
            solver.stop_search()

    timer = threading.Timer(max(0.0, deadline - time.perf_counter()), fire)
    timer.daemon = True
    timer.start()
    return timer


class _WhenSolved:
    """Stops a search once an LP is solved, if enough of the level's time is left to search near
    its solution (:meth:`CpSatBackend._lp_guided`); :meth:`cancel` when the search has ended."""

    def __init__(self, lp: RunningBound, solver: cp_model.CpSolver, search: _Search):
        self.lp, self.solver, self.search = lp, solver, search
        self.ended = threading.Event()
        threading.Thread(target=self._watch, name="lp-watch", daemon=True).start()

    def _watch(self) -> None:
        self.lp.thread.join()
        left = self.search.left()
        if not self.ended.is_set() and self.lp.solved and left >= MIN_GUIDED_SECONDS:
            log.info(
                "level %d: the LP has ended, %.0fs left to search near its solution",
                self.search.level.number,
                left,
            )
            self.solver.stop_search()

    def cancel(self) -> None:
        self.ended.set()


def _checkpoint(incumbents: _Incumbents, level: Level) -> threading.Timer | None:
    """Ask the level's checkpoint when it is due (:meth:`_Incumbents.ask_checkpoint`)."""
    checkpoint = level.checkpoint
    if checkpoint is None:
        return None
    timer = threading.Timer(max(0.0, checkpoint.after), incumbents.ask_checkpoint)
    timer.daemon = True
    timer.start()
    return timer


def add_row(
    model: cp_model.CpModel,
    variables: Sequence[cp_model.IntVar],
    row: Row,
    enforce: Sequence[cp_model.IntVar] = (),
) -> None:
    """Add `row` to a CP-SAT model over `variables` (the linear model's, in order); it holds only
    while every literal of `enforce` is true (and its own `when`)."""
    literals: list[cp_model.LiteralT] = list(enforce)
    if row.when is not None:
        variable, value = row.when
        literals.append(variables[variable] if value else ~variables[variable])
    if not row.terms:
        if not row.holds_without_terms():
            model.add_bool_or([~literal for literal in literals])  # nothing can meet it
        return
    if row.choice and not literals:
        chosen = [variables[i] for i, _ in row.terms]
        if row.sense == "==":
            model.add_exactly_one(chosen)
        else:
            model.add_at_most_one(chosen)
        return
    expr = cp_model.LinearExpr.weighted_sum([variables[i] for i, _ in row.terms], [c for _, c in row.terms])
    sense = row.sense
    if sense == "<=" and row.rhs == 0 and all(c > 0 for _, c in row.terms):
        sense = "=="  # non-negative terms that sum to at most 0 are all 0
    constraint = {
        "<=": lambda: model.add(expr <= row.rhs),
        ">=": lambda: model.add(expr >= row.rhs),
        "==": lambda: model.add(expr == row.rhs),
    }[sense]()
    if literals:
        constraint.only_enforce_if(literals)
