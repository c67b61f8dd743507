"""Build the MILP model with PuLP and solve its lexicographic levels with CBC or HiGHS."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbcbox
import pulp

from allocator.backends.common import (
    MIN_LEVEL_SECONDS,
    Progress,
    ProgressCallback,
    StopToken,
    assemble_result,
    level_budget,
    level_value,
    overall_status,
    remaining_time,
    weighted_coefficients,
)
from allocator.backends.milp import constraints, objectives
from allocator.backends.milp.variables import (
    Variables,
    lead_variables,
    presence_variables,
    tour_variables,
)
from allocator.backends.structure import Structure
from allocator.indices import Tour
from allocator.instance import Instance
from allocator.result import LevelResult, SolveResult

log = logging.getLogger(__name__)

SOLVERS = ("cbc", "highs")


@dataclass
class Built:
    problem: pulp.LpProblem
    variables: Variables
    groups: constraints.Groups
    objectives: dict[str, objectives.Objective]
    anchor: pulp.LpVariable


def build(instance: Instance, formulation: str = "auto") -> Built:
    """The whole MILP of an instance, in a deterministic order."""
    spec = instance.spec
    hard = spec.shortfall == "hard"
    problem = pulp.LpProblem(re.sub(r"[^A-Za-z0-9_]", "_", instance.name), pulp.LpMinimize)
    groups = constraints.Groups(problem)
    v = tour_variables(problem, Structure.of(instance.index, formulation))
    presence_variables(v)
    lead_variables(v)
    # demand rows first, then capacity: the order of a hand-written assignment model
    constraints.add_demand(v, groups, hard, spec.objective_names)
    constraints.add_formulation(v, groups)
    constraints.add_unit_capacity(v, groups)
    constraints.add_personnel_cap(v, groups)
    constraints.add_budget(v, groups)
    constraints.add_nation_presence(v, groups)
    constraints.add_nation_counts(v, groups, hard)
    constraints.add_demand_caps(v, groups, spec.objective_names, hard)
    constraints.add_lead(v, groups)
    builders = {
        "shortfall": lambda: objectives.shortfall(v),
        "fairness": lambda: objectives.fairness(groups, v, spec.fairness),
        "deployments": lambda: objectives.deployments(v),
        "cost": lambda: objectives.cost(v),
    }
    objs = {name: builders[name]() for name in spec.objective_names}
    # an anchor, fixed at 0 and last, keeps the problem and every objective non-empty: PuLP's MPS
    # writer emits an invalid file for CBC when the objective has no terms
    anchor = v.new("anchor", 0, 0, pulp.LpContinuous)
    groups.add(None, pulp.LpAffineExpression([(anchor, 1)]) <= 0)
    return Built(problem, v, groups, objs, anchor)


@contextlib.contextmanager
def _quiet_stdout(quiet: bool) -> Iterator[None]:
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


class _HiGHS(pulp.HiGHS):
    """PuLP's HiGHS interface with a warm start (the previous level's values) and a stop hook."""

    def __init__(self, warm: dict[str, float] | None, stop: StopToken, **kwargs: Any):
        super().__init__(**kwargs)
        self.warm = warm
        self.stop = stop

    def createAndConfigureSolver(self, lp: pulp.LpProblem) -> None:
        with _quiet_stdout(not self.msg):
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
        cancel = lp.solverModel.cancelSolve
        self.stop.register(cancel)
        try:
            lp.solverModel.run()
        finally:
            self.stop.unregister(cancel)


@dataclass
class LevelOutcome:
    status: str  # optimal | feasible | infeasible | unknown
    bound: float | None  # in scaled objective units


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
        warm, stop, msg=verbose, timeLimit=budget, threads=threads, gapRel=0.0, gapAbs=0.99, random_seed=seed
    )
    problem.solve(solver)
    if warm and _returned_the_warm_start(problem.solverModel) and not stop.stopped:
        # HiGHS 1.16 can hand back the solution given by setSolution instead of the better one it
        # found (seen when presolve solves the whole level); its objective value tells
        log.warning(
            "HiGHS returned its warm start instead of its solution; solving the level again without it"
        )
        left = None if budget is None else max(MIN_LEVEL_SECONDS, budget - (time.perf_counter() - started))
        return _solve_highs(problem, left, threads, seed, None, stop, verbose)
    info = problem.solverModel.getInfo()
    if problem.status == pulp.LpStatusInfeasible:
        return LevelOutcome("infeasible", None)
    if info.primal_solution_status != 2:  # no feasible solution
        return LevelOutcome("unknown", info.mip_dual_bound)
    optimal = problem.solverModel.getModelStatus() == problem.solverModel.getModelStatus().kOptimal
    return LevelOutcome("optimal" if optimal else "feasible", info.mip_dual_bound)


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


def _solve_cbc(
    problem: pulp.LpProblem, budget: float | None, threads: int | None, seed: int, warm: bool, verbose: bool
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
        try:
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
        return LevelOutcome("infeasible", None)
    if problem.sol_status == pulp.LpSolutionOptimal:
        return LevelOutcome("optimal", None)
    if problem.sol_status == pulp.LpSolutionIntegerFeasible:
        return LevelOutcome("feasible", bound)
    return LevelOutcome("unknown", bound)


def _solve_cbc_safely(
    problem: pulp.LpProblem,
    budget: float | None,
    threads: int | None,
    seed: int,
    warm: bool,
    verbose: bool,
    have_plan: bool,
    started: float,
) -> LevelOutcome:
    """CBC, retried once without the MIP start if it fails with one (CBC 2.10 can crash in
    setBestSolution on a MIP start); with a plan in hand, a failure keeps that plan."""
    try:
        return _solve_cbc(problem, budget, threads, seed, warm, verbose)
    except pulp.PulpSolverError as exc:
        failure: Exception = exc
    if warm:
        log.warning("CBC failed with a MIP start; retrying without it")
        left = None if budget is None else budget - (time.perf_counter() - started)
        if left is None or left >= MIN_LEVEL_SECONDS:
            try:
                return _solve_cbc(problem, left, threads, seed, False, verbose)
            except pulp.PulpSolverError as exc:
                failure = exc
    if not have_plan:
        raise failure
    log.warning("CBC failed; keeping the plan in hand: %s", failure)
    return LevelOutcome("unknown", None)


def _counts(v: Variables) -> dict[Tour, int]:
    return v.structure.tour_counts([round(z.varValue or 0) for z in v.z])


def solve(
    instance: Instance,
    solver_name: str = "highs",
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    stop: StopToken | None = None,
    log_search: bool = False,
    formulation: str = "auto",
) -> SolveResult:
    """Solve every lexicographic level of the instance's model with a MILP solver (cbc or highs)."""
    if solver_name not in SOLVERS:
        raise ValueError(f"unknown MILP solver '{solver_name}'")
    started = time.perf_counter()
    stop = stop or StopToken()
    index = instance.index
    built = build(instance, formulation)
    build_time = time.perf_counter() - started
    log.info(
        "built MILP (%s formulation): %d column variables, %d constraints in %.2fs",
        built.variables.structure.formulation,
        len(built.variables.z),
        built.groups.count,
        build_time,
    )
    problem, v = built.problem, built.variables
    levels_spec = instance.spec.levels
    levels: list[LevelResult] = []
    counts: dict[Tour, int] | None = None
    leads: dict[tuple[int, int], int] | None = None
    values: dict[str, float] | None = None
    infeasible = False
    for number, level in enumerate(levels_spec, start=1):
        if stop.stopped:
            break
        key = instance.spec.level_key(level)
        coeffs, scale = weighted_coefficients(level, {n: built.objectives[n].scale for n, _ in level})
        problem.objective = pulp.LpAffineExpression(
            [(built.anchor, 1)]
            + [(var, coeffs[n] * c) for n, _ in level for var, c in built.objectives[n].expr.items()]
        )
        remaining = remaining_time(time_limit, started)
        budget = level_budget(remaining, len(levels_spec) - number + 1)
        level_started = time.perf_counter()
        if budget is not None and budget < MIN_LEVEL_SECONDS and counts is not None:
            outcome = LevelOutcome("unknown", None)  # no time left: the plan in hand stands
        elif solver_name == "highs":
            outcome = _solve_highs(problem, budget, threads, seed, values, stop, log_search)
        else:
            if values is not None:
                for var in v.all():
                    var.setInitialValue(values.get(var.name, 0.0))
            outcome = _solve_cbc_safely(
                problem,
                budget,
                threads,
                seed,
                values is not None,
                log_search,
                have_plan=counts is not None,
                started=level_started,
            )
        elapsed = time.perf_counter() - level_started
        log.info("level %d (%s): %s in %.2fs", number, key, outcome.status, elapsed)
        if outcome.status == "infeasible" and counts is not None:
            # the plan in hand meets every earlier level's bound, so this claim is a solver fault
            log.warning(
                "%s reported level %d (%s) infeasible, which the plan in hand disproves; keeping that plan",
                solver_name.upper(),
                number,
                key,
            )
            outcome = LevelOutcome("unknown", None)
        if outcome.status == "infeasible":
            infeasible = True
            levels.append(LevelResult(key, "infeasible", None, None, elapsed))
            break
        status = outcome.status
        if status in ("optimal", "feasible"):
            counts = _counts(v)
            leads = {(t, k): n for (t, k, n), var in v.lead.items() if (var.varValue or 0) > 0.5}
            values = {var.name: warm_value(var) for var in v.all()}
        elif counts is None:
            levels.append(LevelResult(key, "unknown", None, None, elapsed))
            break
        else:  # no new solution: the previous level's plan stands
            status = "feasible"
        value = level_value(index, counts, instance.spec.fairness, level)
        if status == "optimal":
            bound = value
        elif outcome.bound is not None:
            bound = min(outcome.bound / scale, value)
        else:
            bound = 0.0  # every objective is non-negative: the trivial bound
        levels.append(LevelResult(key, status, value, bound, elapsed))
        if progress is not None:
            progress(Progress(key, number, len(levels_spec), value, bound, time.perf_counter() - started))
        expr = pulp.LpAffineExpression(
            [(var, coeffs[n] * c) for n, _ in level for var, c in built.objectives[n].expr.items()]
        )
        if len(expr):  # an objective without variables needs no bound (and CBC rejects empty rows)
            built.groups.add(None, expr <= round(value * scale) + 0.5)
    complete = len(levels) == len(levels_spec)
    status_all = overall_status(levels, counts is not None, infeasible, complete)
    return assemble_result(
        index,
        solver_name,
        status_all,
        counts,
        leads,
        levels,
        build_time,
        time.perf_counter() - started,
        interrupted=stop.stopped,
        formulation=v.structure.formulation,
    )
