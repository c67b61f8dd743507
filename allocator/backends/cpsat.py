"""The CP-SAT backend: the linear model as a CP-SAT model, a level as one search.

What differs from a MILP: enforcement literals instead of big-M rows, a hint instead of a MIP
start, incumbents reported as they come, and a soft deadline per level (see :class:`_Incumbents`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

from ortools.sat.python import cp_model

from allocator.backends.interface import Level, LevelOutcome, stream_rows
from allocator.formulation.linear import LinearModel, Row, Terms
from allocator.formulation.rules import Formulation
from allocator.options import Progress, SolveOptions, Status

log = logging.getLogger(__name__)

#: The subsolvers CP-SAT runs when it has exactly two workers.
TWO_WORKERS = ("max_lp", "default_lp")
#: ... on models with at most this many columns (measured: up to 9k helps; 65k flow, 190k tours hurt).
LP_WORKERS_MAX_VARIABLES = 50_000

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

    def load(self, formulation: Formulation) -> None:
        stream_rows(formulation.model, formulation.rows(self.row_order), self)

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

    def _parameters(self, solver: cp_model.CpSolver, level: Level) -> None:
        params = solver.parameters
        threads = self.options.threads
        params.num_workers = threads or 0
        if (threads or os.cpu_count()) == 2 and self.columns <= LP_WORKERS_MAX_VARIABLES:
            # CP-SAT's default pair of workers has no LP-heavy search; these two prove shortfall
            # levels and GAP bounds much faster here, but on very large models the LP costs memory
            # and plan quality (BENCHMARKS.md, "CP-SAT with two workers")
            params.subsolvers.extend(TWO_WORKERS)
        params.random_seed = self.options.seed
        params.catch_sigint_signal = False
        params.log_search_progress = self.options.log_search
        if level.remaining is not None:
            # the hard limit is all the time left; the level's share is a soft deadline
            params.max_time_in_seconds = max(level.remaining, 0.01)

    def solve_level(self, level: Level) -> LevelOutcome:
        self.model.minimize(self._expr(level.terms))
        if level.warm is not None:
            self.model.clear_hints()
            for variable, value in zip(self.vars, level.warm, strict=True):
                self.model.add_hint(variable, round(value))
        solver = cp_model.CpSolver()
        self._parameters(solver, level)
        soft_deadline = None if level.budget is None else time.perf_counter() + level.budget
        if level.progress is not None:
            report = level.progress
            solver.best_bound_callback = lambda bound: report(
                Progress(
                    level.key,
                    level.number,
                    level.levels,
                    None,
                    bound / level.scale,
                    time.perf_counter() - level.started,
                )
            )
        incumbents = _Incumbents(level, soft_deadline, solver.stop_search)
        timers = [_soft_stop(solver, incumbents, soft_deadline), _checkpoint(incumbents, level)]
        level.stop.register(solver.stop_search)
        try:
            code = solver.solve(self.model, incumbents)
        finally:
            level.stop.unregister(solver.stop_search)
            for timer in timers:
                if timer is not None:
                    timer.cancel()
        if code == cp_model.MODEL_INVALID:
            raise RuntimeError(f"CP-SAT rejected the model: {self.model.validate()}")
        status = STATUS[code]
        if not status.has_plan:
            return LevelOutcome(
                status, None, solver.best_objective_bound if status == Status.UNKNOWN else None
            )
        return LevelOutcome(
            status, [float(v) for v in solver.response_proto.solution], solver.best_objective_bound
        )


class _Incumbents(cp_model.CpSolverSolutionCallback):
    """Reports each new incumbent of a level, and enforces the level's soft deadline and checkpoint.

    At the soft deadline the search stops if the level has a solution; without one it goes on to
    the hard limit and stops at its first solution: a plan matters more than time for later levels.
    The checkpoint is asked once, when it is due and the level has a solution (at the first one
    after it, if none came before).
    """

    def __init__(self, level: Level, soft_deadline: float | None, stop: Callable[[], None]):
        super().__init__()
        self.level = level
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
                self.best_objective_bound / level.scale,
                time.perf_counter() - level.started,
            )
        )


def _soft_stop(
    solver: cp_model.CpSolver, incumbents: _Incumbents, deadline: float | None
) -> threading.Timer | None:
    """At the soft deadline, stop the search if the level already has a solution."""
    if deadline is None:
        return None

    def fire() -> None:
        if incumbents.found.is_set():
            solver.stop_search()

    timer = threading.Timer(max(0.0, deadline - time.perf_counter()), fire)
    timer.daemon = True
    timer.start()
    return timer


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
