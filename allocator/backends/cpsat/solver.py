"""Build the CP-SAT model and solve its lexicographic levels in turn."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

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
from allocator.backends.cpsat import constraints, objectives
from allocator.backends.cpsat.variables import (
    Variables,
    lead_variables,
    presence_variables,
    tour_variables,
)
from allocator.backends.structure import Structure
from allocator.indices import Index, Tour
from allocator.instance import Instance
from allocator.result import LevelResult, SolveResult

log = logging.getLogger(__name__)

#: The subsolvers CP-SAT runs when it has exactly two workers.
TWO_WORKERS = ("max_lp", "default_lp")
#: ... on models with at most this many variables (measured: up to 9k helps; 65k flow, 190k tours hurt).
LP_WORKERS_MAX_VARIABLES = 50_000

STATUS = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.UNKNOWN: "unknown",
    cp_model.MODEL_INVALID: "invalid",
}


@dataclass
class Built:
    model: cp_model.CpModel
    variables: Variables
    groups: constraints.Groups
    objectives: dict[str, objectives.IntObjective]


def build(instance: Instance, formulation: str = "auto") -> Built:
    """The whole CP-SAT model of an instance, in a deterministic order."""
    spec = instance.spec
    hard = spec.shortfall == "hard"
    model = cp_model.CpModel()
    model.name = instance.name
    groups = constraints.Groups()
    v = tour_variables(model, Structure.of(instance.index, formulation))
    presence_variables(model, v)
    lead_variables(model, v)
    constraints.add_formulation(model, v, groups)
    constraints.add_unit_capacity(model, v, groups)
    constraints.add_personnel_cap(model, v, groups)
    constraints.add_budget(model, v, groups)
    constraints.add_nation_presence(model, v, groups)
    constraints.add_nation_counts(model, v, groups, hard)
    constraints.add_demand(model, v, groups, hard)
    constraints.add_demand_caps(model, v, groups, spec.objective_names)
    constraints.add_lead(model, v, groups)
    builders = {
        "shortfall": lambda: objectives.shortfall(v),
        "fairness": lambda: objectives.fairness(model, v, spec.fairness),
        "deployments": lambda: objectives.deployments(v),
        "cost": lambda: objectives.cost(v),
    }
    objs = {name: builders[name]() for name in spec.objective_names}
    return Built(model, v, groups, objs)


def tour_counts(v: Variables, solution: list[int]) -> dict[Tour, int]:
    """Units starting each tour in a solution (by proto variable index)."""
    return v.structure.tour_counts([solution[z.index] for z in v.z])


class _Callback(cp_model.CpSolverSolutionCallback):
    """Reports each new incumbent of a level, and enforces a soft deadline.

    At the soft deadline the search stops if the level has a solution; without one it goes on to
    the hard limit and stops at its first solution: a plan matters more than time for later levels.
    """

    def __init__(
        self,
        report: ProgressCallback | None,
        level: str,
        number: int,
        levels: int,
        scale: int,
        started: float,
        soft_deadline: float | None,
    ):
        super().__init__()
        self.report, self.level, self.number, self.levels = report, level, number, levels
        self.scale, self.started = scale, started
        self.soft_deadline = soft_deadline
        self.found = threading.Event()

    def past_soft_deadline(self) -> bool:
        return self.soft_deadline is not None and time.perf_counter() >= self.soft_deadline

    def on_solution_callback(self) -> None:
        self.found.set()
        if self.past_soft_deadline():
            self.stop_search()
        if self.report is None:
            return
        self.report(
            Progress(
                self.level,
                self.number,
                self.levels,
                self.objective_value / self.scale,
                self.best_objective_bound / self.scale,
                time.perf_counter() - self.started,
            )
        )


def _soft_stop(
    solver: cp_model.CpSolver, callback: _Callback, deadline: float | None
) -> threading.Timer | None:
    """At the soft deadline, stop the search if the level already has a solution."""
    if deadline is None:
        return None

    def fire() -> None:
        if callback.found.is_set():
            solver.stop_search()

    timer = threading.Timer(max(0.0, deadline - time.perf_counter()), fire)
    timer.daemon = True
    timer.start()
    return timer


def solve(
    instance: Instance,
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    stop: StopToken | None = None,
    log_search: bool = False,
    formulation: str = "auto",
) -> SolveResult:
    """Solve every lexicographic level of the instance's model with CP-SAT.

    Each level minimises its (weighted) objective with the levels before it bounded at their
    values and the previous solution as a hint; one time limit covers the whole solve.
    """
    started = time.perf_counter()
    stop = stop or StopToken()
    index: Index = instance.index
    built = build(instance, formulation)
    build_time = time.perf_counter() - started
    log.info(
        "built CP-SAT model (%s formulation): %d column variables, %d constraint groups in %.2fs",
        built.variables.structure.formulation,
        len(built.variables.z),
        len(built.groups.members),
        build_time,
    )
    model = built.model
    levels_spec = instance.spec.levels
    levels: list[LevelResult] = []
    solution: list[int] | None = None
    infeasible = False
    for number, level in enumerate(levels_spec, start=1):
        if stop.stopped:
            break
        key = instance.spec.level_key(level)
        coeffs, scale = weighted_coefficients(level, {n: built.objectives[n].scale for n, _ in level})
        expr = sum(coeffs[n] * built.objectives[n].expr for n, _ in level)
        model.minimize(expr)
        remaining = remaining_time(time_limit, started)
        if remaining is not None and remaining < MIN_LEVEL_SECONDS and solution is not None:
            # no time left: the plan in hand stands for this level (0 is the trivial bound)
            value = level_value(index, tour_counts(built.variables, solution), instance.spec.fairness, level)
            levels.append(LevelResult(key, "feasible", value, 0.0, 0.0))
            continue
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = threads or 0
        if (threads or os.cpu_count()) == 2 and len(built.variables.z) <= LP_WORKERS_MAX_VARIABLES:
            # CP-SAT's default pair of workers has no LP-heavy search; these two prove shortfall
            # levels and GAP bounds much faster here, but on very large models the LP costs memory
            # and plan quality (BENCHMARKS.md, "CP-SAT with two workers")
            params.subsolvers.extend(TWO_WORKERS)
        params.random_seed = seed
        params.catch_sigint_signal = False
        params.log_search_progress = log_search
        budget = level_budget(remaining, len(levels_spec) - number + 1)
        soft_deadline = None
        if remaining is not None and budget is not None:
            # the hard limit is all the time left; the level's share is a soft deadline (see _Callback)
            params.max_time_in_seconds = max(remaining, 0.01)
            soft_deadline = time.perf_counter() + budget
        if solution is not None:
            model.clear_hints()
            for var_index, hinted in enumerate(solution):
                model.add_hint(model.get_int_var_from_proto_index(var_index), hinted)
        if progress is not None:
            solver.best_bound_callback = lambda bound, key=key, number=number, scale=scale: progress(
                Progress(
                    key,
                    number,
                    len(levels_spec),
                    None,
                    bound / scale,
                    time.perf_counter() - started,
                )
            )
        callback = _Callback(progress, key, number, len(levels_spec), scale, started, soft_deadline)
        timer = _soft_stop(solver, callback, soft_deadline)
        stop.register(solver.stop_search)
        level_started = time.perf_counter()
        try:
            code = solver.solve(model, callback)
        finally:
            stop.unregister(solver.stop_search)
            if timer is not None:
                timer.cancel()
        status = STATUS[code]
        elapsed = time.perf_counter() - level_started
        log.info("level %d (%s): %s in %.2fs", number, key, status, elapsed)
        if status == "invalid":
            raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")
        if status == "infeasible":
            infeasible = number == 1
            levels.append(LevelResult(key, status, None, None, elapsed))
            break
        if status in ("optimal", "feasible"):
            solution = list(solver.response_proto.solution)
        elif solution is None:  # unknown: no plan yet
            levels.append(LevelResult(key, status, None, None, elapsed))
            break
        else:  # unknown, but the plan of the previous level stands: this level did not move
            status = "feasible"
        value = level_value(index, tour_counts(built.variables, solution), instance.spec.fairness, level)
        bound = min(solver.best_objective_bound / scale, value)
        levels.append(LevelResult(key, status, value, bound, elapsed))
        model.add(expr <= round(value * scale))
    complete = len(levels) == len(levels_spec)
    counts = leads = None
    if solution is not None:
        counts = tour_counts(built.variables, solution)
        leads = {(t, k): n for (t, k, n), var in built.variables.lead.items() if solution[var.index]}
    status_all = overall_status(levels, solution is not None, infeasible, complete)
    return assemble_result(
        index,
        "cpsat",
        status_all,
        counts,
        leads,
        levels,
        build_time,
        time.perf_counter() - started,
        interrupted=stop.stopped,
        formulation=built.variables.structure.formulation,
    )
