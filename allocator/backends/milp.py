"""The MILP backend: the linear model through PuLP, solved by HiGHS or CBC.

What differs from CP-SAT: rows held only while a 0/1 variable has a value are written with a big-M,
the previous level's solution is a MIP start, and each solver has its own quirks (below).  Column
names sort in creation order (``x00000012_y``): PuLP hands columns to the solver sorted by name, so
the solver sees them in the model's order, columns first, as a hand-written model would give them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbcbox
import psutil
import pulp

from allocator.backends.interface import Level, LevelOutcome, LpSolution, stream_rows, terms_value
from allocator.formulation.linear import LinearModel, Row, Terms
from allocator.formulation.rules import Formulation
from allocator.options import SolveOptions, Status, StopToken

log = logging.getLogger(__name__)

#: A level given less time than this is not sent to CBC: it fails outright with a limit of a few
#: milliseconds.
MIN_SOLVER_SECONDS = 0.05
SOLVERS = ("cbc", "highs")


class MilpBackend:
    """PuLP with HiGHS (through highspy) or CBC (the cbcbox binary) behind the level loop."""

    row_order: tuple[str, ...] | None = None  # demand rows first, as the MILP always had them

    def __init__(self, options: SolveOptions, solver: str = "highs"):
        if solver not in SOLVERS:
            raise ValueError(f"unknown MILP solver '{solver}'")
        self.name = solver
        self.options = options
        self.problem = pulp.LpProblem("allocator", pulp.LpMinimize)
        #: the model's variables, by position; `every` also holds this backend's own (in creation order)
        self.vars: list[pulp.LpVariable] = []
        self.every: list[pulp.LpVariable] = []
        self.anchor: pulp.LpVariable | None = None
        self.count = 0
        #: seconds the last run took past its time limit (CBC: writing the model's file; HiGHS:
        #: handing PuLP's model over, a presolve that reads no clock): a later level with less
        #: time than that is not sent to the solver
        self.overhead = 0.0

    def _variable(self, kind: str, up: float | None, cat: str) -> pulp.LpVariable:
        """A new variable, named so that names sort in creation order."""
        var = self.problem.add_variable(f"x{len(self.every):08d}_{kind}", lowBound=0, upBound=up, cat=cat)
        self.every.append(var)
        return var

    def _expr(self, terms: Terms) -> pulp.LpAffineExpression:
        return pulp.LpAffineExpression([(self.vars[i], c) for i, c in terms])

    def _constraint(self, constraint: pulp.LpConstraint) -> None:
        constraint.name = f"c{self.count}"
        self.count += 1
        self.problem.addConstraint(constraint)

    def load(self, formulation: Formulation) -> None:
        stream_rows(formulation.model, formulation.rows(self.row_order), self)

    def finish(self, model: LinearModel) -> None:
        self.problem.name = re.sub(r"[^A-Za-z0-9_]", "_", model.name)
        # an anchor, fixed at 0 and last, keeps the problem and every objective non-empty: PuLP's MPS
        # writer emits an invalid file for CBC when the objective has no terms
        self.anchor = self._variable("anchor", 0, pulp.LpContinuous)
        self._constraint(pulp.LpAffineExpression([(self.anchor, 1)]) <= 0)

    def add_variables(self, model: LinearModel) -> None:
        """The variables `model` has that this problem does not have yet."""
        for v in model.variables[len(self.vars) :]:
            if v.integral:
                var = self._variable(v.kind, v.up, pulp.LpBinary if v.boolean else pulp.LpInteger)
            else:  # a definition (burden, deviation): its rows bound it, a column bound adds nothing
                var = self._variable(v.kind, None, pulp.LpContinuous)
            self.vars.append(var)

    def add_row(self, row: Row) -> None:
        if not row.terms:
            if not row.holds_without_terms():
                # a fresh integer variable in [0, 0] that must be >= 1: CBC then reports "Integer
                # infeasible" even without another integer variable (else "Status unknown")
                never = self._variable("never", 0, pulp.LpInteger)
                self._constraint(pulp.LpAffineExpression([(never, 1)]) >= 1)
            return
        terms, rhs = row.unconditional()
        expr = self._expr(terms)
        if row.sense == "<=":
            self._constraint(expr <= rhs)
        elif row.sense == ">=":
            self._constraint(expr >= rhs)
        else:
            self._constraint(expr == rhs)

    def add_bound(self, terms: Terms, rhs: int) -> None:
        self._constraint(self._expr(terms) <= rhs + 0.5)

    def _objective(self, terms: Terms) -> None:
        assert self.anchor is not None
        self.problem.objective = pulp.LpAffineExpression(
            [(self.anchor, 1), *((self.vars[i], c) for i, c in terms)]
        )

    def relaxation(self, level: Level, budget: float) -> LpSolution | None:
        """The level's LP relaxation (every earlier level's bound among its rows), solved by HiGHS
        within `budget` seconds: its solution and optimum, or None where it is not solved."""
        if self.name != "highs":
            raise ValueError("only HiGHS solves the LP relaxation")
        self._objective(level.terms)
        solver = _HiGHS(
            None,
            level.stop,
            msg=self.options.log_search,
            timeLimit=budget,
            mip=False,
            threads=self.options.threads,
        )
        self.problem.solve(solver)
        model = self.problem.solverModel
        if model.getModelStatus() != model.getModelStatus().kOptimal:
            return None
        values = [var.varValue or 0.0 for var in self.vars]
        return LpSolution(values, terms_value(level.terms, values))

    def solve_level(self, level: Level) -> LevelOutcome:
        if level.warm is not None and level.budget is not None and level.budget < self.overhead:
            log.info(
                "level %d: %.1fs left, less than %s's last run took past its limit (%.1fs): "
                "the plan in hand stands",
                level.number,
                level.budget,
                self.name,
                self.overhead,
            )
            return LevelOutcome(Status.UNKNOWN)
        self._objective(level.terms)
        opts = self.options
        warm = None
        if level.warm is not None:
            warm = {var.name: value for var, value in zip(self.vars, level.warm, strict=True)}
            warm.update((var.name, 0.0) for var in self.every if var.name not in warm)
        called = time.perf_counter()
        if self.name == "highs":
            outcome = _solve_highs(
                self.problem, level.budget, opts.threads, opts.seed, warm, level.stop, opts.log_search
            )
        else:
            if warm is not None:
                for var in self.every:
                    var.setInitialValue(warm[var.name])
            outcome = _solve_cbc_safely(
                self.problem,
                level.budget,
                opts.threads,
                opts.seed,
                warm is not None,
                opts.log_search,
                have_plan=warm is not None,
                started=time.perf_counter(),
                stop=level.stop,
            )
        if level.budget is not None:  # what the solver's own time limit does not see
            self.overhead = max(0.0, time.perf_counter() - called - level.budget)
        if not outcome.status.has_plan:
            return outcome
        if not _whole(self.vars):
            # CBC 2.10 stopped by its time limit after the root LP can report the LP's fractional
            # solution as optimal: no plan, and no bound either
            log.warning("%s returned a fractional solution for level %d; ignored", self.name, level.number)
            return LevelOutcome(Status.UNKNOWN)
        return LevelOutcome(outcome.status, [warm_value(var) for var in self.vars], outcome.bound)


def _whole(variables: list[pulp.LpVariable]) -> bool:
    """Whether every integer variable has a whole value (within 1e-6)."""
    return all(
        var.cat != pulp.LpInteger or var.varValue is None or abs(var.varValue - round(var.varValue)) <= 1e-6
        for var in variables
    )


@contextlib.contextmanager
def quiet_stdout(quiet: bool) -> Iterator[None]:
    """Silence native writes to standard output (HiGHS prints a banner when constructed)."""
    if not quiet:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_scheduler_lock = threading.Lock()
_scheduler_sized = False


def highs_threads(wanted: int | None) -> int | None:
    """The `threads` option for a HiGHS run in this process (None: leave it unset).  HiGHS sizes
    one task scheduler per process at its first run and refuses any later run that asks for
    another size: nothing solved, status "Not Set" (the shortfall relaxation's one thread after a
    level solved with two).  So the first run's request stands and later runs ask for none: in a
    process that solves again with other `--threads`, HiGHS keeps the first solve's."""
    global _scheduler_sized
    with _scheduler_lock:
        if _scheduler_sized:
            return None
        _scheduler_sized = True
        return wanted


class _HiGHS(pulp.HiGHS):
    """PuLP's HiGHS interface with a warm start (the previous level's values), a stop hook, the
    threads HiGHS can take (:func:`highs_threads`), and its time limit counted from its creation:
    PuLP builds a new HiGHS model for every solve (0.3-0.5 s on the medium set), which HiGHS's own
    clock does not see."""

    def __init__(self, warm: dict[str, float] | None, stop: StopToken, **kwargs: Any):
        kwargs["threads"] = highs_threads(kwargs.get("threads"))
        super().__init__(**kwargs)
        self.warm = warm
        self.stop = stop
        limit = kwargs.get("timeLimit")
        self.deadline = None if limit is None else time.perf_counter() + limit

    def createAndConfigureSolver(self, lp: pulp.LpProblem) -> None:
        with quiet_stdout(not self.msg):
            super().createAndConfigureSolver(lp)
        lp.solverModel.HandleUserInterrupt = True  # without it, cancelSolve() is ignored

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:
        super().buildSolverModel(lp)
        if self.warm:
            import highspy

            solution = highspy.HighsSolution()
            solution.col_value = [self.warm.get(var.name, 0.0) for var in lp.variables()]
            solution.value_valid = True
            lp.solverModel.setSolution(solution)

    def callSolver(self, lp: pulp.LpProblem) -> None:
        if self.deadline is not None:
            left = max(MIN_SOLVER_SECONDS, self.deadline - time.perf_counter())
            lp.solverModel.setOptionValue("time_limit", left)
        cancel = lp.solverModel.cancelSolve
        self.stop.register(cancel)
        try:
            lp.solverModel.run()
        finally:
            self.stop.unregister(cancel)


def warm_value(var: pulp.LpVariable) -> float:
    """A solution value fit to start the next level: integers rounded, and within the variable's
    bounds (a solver may return -1.9e-11 for a variable bounded below by 0, which PuLP refuses)."""
    value = var.varValue or 0.0
    if var.cat == pulp.LpInteger:
        value = float(round(value))
    if var.lowBound is not None:
        value = max(value, var.lowBound)
    if var.upBound is not None:
        value = min(value, var.upBound)
    return value


def _solve_highs(
    problem: pulp.LpProblem,
    budget: float | None,
    threads: int | None,
    seed: int,
    warm: dict[str, float] | None,
    stop: StopToken,
    verbose: bool,
) -> LevelOutcome:
    started = time.perf_counter()
    solver = _HiGHS(
        warm,
        stop,
        msg=verbose,
        timeLimit=budget,
        threads=threads,
        gapRel=0.0,
        gapAbs=0.99,
        random_seed=seed,
    )
    problem.solve(solver)
    if warm and _returned_the_warm_start(problem.solverModel) and not stop.stopped:
        # HiGHS 1.16 can hand back the solution given by setSolution instead of the better one it
        # found (seen when presolve solves the whole level); its objective value tells.  Handled
        # here, so not a warning for the user (it showed on every solve of basic.yaml)
        log.info("HiGHS returned its warm start instead of its solution; solving the level again without it")
        left = None if budget is None else max(MIN_SOLVER_SECONDS, budget - (time.perf_counter() - started))
        return _solve_highs(problem, left, threads, seed, None, stop, verbose)
    info = problem.solverModel.getInfo()
    if problem.status == pulp.LpStatusInfeasible:
        return LevelOutcome(Status.INFEASIBLE)
    if info.primal_solution_status != 2:  # no feasible solution
        return LevelOutcome(Status.UNKNOWN, None, info.mip_dual_bound)
    optimal = problem.solverModel.getModelStatus() == problem.solverModel.getModelStatus().kOptimal
    return LevelOutcome(Status.OPTIMAL if optimal else Status.FEASIBLE, None, info.mip_dual_bound)


def _returned_the_warm_start(model: Any) -> bool:
    """Whether the solution HiGHS returns disagrees with the objective value it reports."""
    info = model.getInfo()
    if info.primal_solution_status != 2:
        return False
    lp = model.getLp()
    values = model.getSolution().col_value
    value = lp.offset_ + sum(c * x for c, x in zip(lp.col_cost_, values, strict=True))
    return abs(value - info.objective_function_value) > 1e-6 * max(1.0, abs(value))


# CBC's default bound propagation since cbcbox 2.935 ("milpbt", also "fixpoint") can report a
# feasible model infeasible ("FBBT divergence detected"); the singleton bounds of older CBCs stay
_CBC_BOUND_PROPAGATION = "boundPropLevel singletons"


@functools.cache
def _cbc_options() -> tuple[str, ...]:
    """Options for this CBC binary: the safe bound propagation where the binary knows the setting."""
    try:
        answer = subprocess.run(
            [cbcbox.cbc_bin_path(), "-"],
            input="boundPropLevel\nquit\n",
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return (_CBC_BOUND_PROPAGATION,) if "has value" in answer else ()


_CBC_BOUND = re.compile(r"(?:Lower bound:|best possible)\s*(-?[\d.]+(?:e[-+]?\d+)?)", re.IGNORECASE)


#: Seconds CBC gets past its time limit (or a stop) before it is interrupted, and then before
#: it is killed: CBC reads its time limit only between nodes, and the root LP of a large model
#: (hundreds of thousands of rows) can take many minutes (860 s at a 60 s limit, measured).
CBC_GRACE_SECONDS = 2.0


@contextlib.contextmanager
def _cbc_watchdog(folder: str, deadline: float | None, stop: StopToken) -> Iterator[None]:
    """While CBC runs, interrupt it (SIGINT: it stops and writes its best solution) at `deadline`
    plus a grace, or at a stop, and kill it a grace later.  CBC is told apart from any other CBC of
    this process by its temporary `folder`, which its command line names."""
    done = threading.Event()
    stop.register(done.set)

    def ours() -> list[psutil.Process]:
        found = []
        for child in psutil.Process().children(recursive=True):
            try:
                if any(folder in part for part in child.cmdline()):
                    found.append(child)
            except psutil.Error:
                continue
        return found

    def watch() -> None:
        wait = None if deadline is None else max(0.0, deadline + CBC_GRACE_SECONDS - time.perf_counter())
        if done.wait(wait) and not stop.stopped:
            return  # CBC ended in time
        # CBC may not have started yet (PuLP writes a large model's file first): look until it ends
        interrupted: dict[int, float] = {}  # pid -> when it was sent SIGINT
        killed: set[int] = set()
        while not finished.wait(0.25):
            for process in ours():
                sent = interrupted.get(process.pid)
                if sent is None:
                    name = "SIGINT"
                    interrupted[process.pid] = time.perf_counter()
                elif process.pid not in killed and time.perf_counter() - sent > CBC_GRACE_SECONDS:
                    name = "SIGKILL"
                    killed.add(process.pid)
                else:
                    continue
                with contextlib.suppress(psutil.Error):
                    process.send_signal(getattr(signal, name))
                    log.info("CBC %s: %s", "stopped" if stop.stopped else "past its time limit", name)

    finished = threading.Event()
    watcher = threading.Thread(target=watch, name="cbc-watchdog", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        done.set()
        stop.unregister(done.set)
        watcher.join()


def _solve_cbc(
    problem: pulp.LpProblem,
    budget: float | None,
    threads: int | None,
    seed: int,
    warm: bool,
    verbose: bool,
    stop: StopToken | None = None,
) -> LevelOutcome:
    with tempfile.TemporaryDirectory(prefix="allocator-cbc-") as folder:
        log_path = Path(folder) / "cbc.log"
        solver = pulp.COIN_CMD(
            path=cbcbox.cbc_bin_path(),
            msg=False,
            timeLimit=budget,
            threads=threads if threads and threads > 1 else None,  # -threads 1 can stall CBC 2.10
            gapRel=0.0,
            gapAbs=0.99,
            warmStart=warm,
            options=[f"randomCbcSeed {seed + 1}", *_cbc_options()],
            logPath=str(log_path),
        )
        solver.tmpDir = folder  # PuLP's .mps/.mst/.sol files go here and vanish with it, even on errors
        deadline = None if budget is None else time.perf_counter() + budget
        try:
            with _cbc_watchdog(folder, deadline, stop or StopToken()):
                problem.solve(solver)
        finally:
            text = log_path.read_text(errors="replace") if log_path.exists() else ""
            if sys.exc_info()[0] is not None:
                log.warning("CBC failed; the end of its log:\n%s", "\n".join(text.splitlines()[-15:]))
    if verbose:
        log.info("CBC log:\n%s", text)
    bounds = [float(m) for m in _CBC_BOUND.findall(text)]
    bound = bounds[-1] if bounds else None
    if problem.status == pulp.LpStatusInfeasible:
        return LevelOutcome(Status.INFEASIBLE)
    if problem.sol_status == pulp.LpSolutionOptimal:
        return LevelOutcome(Status.OPTIMAL)
    if problem.sol_status == pulp.LpSolutionIntegerFeasible:
        return LevelOutcome(Status.FEASIBLE, None, bound)
    return LevelOutcome(Status.UNKNOWN, None, bound)


def _solve_cbc_safely(
    problem: pulp.LpProblem,
    budget: float | None,
    threads: int | None,
    seed: int,
    warm: bool,
    verbose: bool,
    have_plan: bool,
    started: float,
    stop: StopToken | None = None,
) -> LevelOutcome:
    """CBC, retried once without the MIP start if it fails with one (CBC 2.10 can crash in
    setBestSolution on a MIP start); with a plan in hand, a failure keeps that plan."""
    try:
        return _solve_cbc(problem, budget, threads, seed, warm, verbose, stop)
    except pulp.PulpSolverError as exc:
        failure: Exception = exc
    if warm:
        log.warning("CBC failed with a MIP start; retrying without it")
        left = None if budget is None else budget - (time.perf_counter() - started)
        if (left is None or left >= MIN_SOLVER_SECONDS) and not (stop and stop.stopped):
            try:
                return _solve_cbc(problem, left, threads, seed, False, verbose, stop)
            except pulp.PulpSolverError as exc:
                failure = exc
    if not have_plan:
        raise failure
    log.warning("CBC failed; keeping the plan in hand: %s", failure)
    return LevelOutcome(Status.UNKNOWN)
