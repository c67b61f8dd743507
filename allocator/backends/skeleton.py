"""The part of a first plan that the rules force: every lead term with its contribution.

The greedy first plan (:mod:`allocator.solution.greedy`) chooses each term's lead in turn and
never goes back; when rotation, `first`, tour lengths, rest and the nations' caps interlock (short
terms, long rests, an offer shared by several tasks' leads), it can find no lead for some term
although a plan exists.  Then the whole search would start from nothing, and on a large model
CP-SAT may find no plan in its time at all.

Here the leads alone are solved exactly, by CP-SAT, on the leads' own instance
(:mod:`allocator.instance.leads`, a relaxation of the whole): its plan (leads and the tours that
carry their contributions) extends to a plan of the whole instance by adding tours, which the
greedy then does; and when it is proven infeasible, so is the whole instance.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ortools.sat.python import cp_model

from allocator.backends.cpsat import CpSatBackend
from allocator.formulation.build import formulate
from allocator.instance.index import Index, Tour
from allocator.instance.leads import lead_instance
from allocator.options import SolveOptions, Status, StopToken

log = logging.getLogger(__name__)

#: After its first plan the search goes on at least this long, at most as long again as it took.
SETTLE_SECONDS = 0.5


@dataclass(frozen=True)
class Skeleton:
    """Leads ((task, term) -> nation) and the tours that carry their contributions (units starting
    each tour), in the whole instance's positions; or `infeasible` when no plan can have leads."""

    status: Status
    tours: dict[Tour, int]
    leads: dict[tuple[int, int], int]

    @property
    def infeasible(self) -> bool:
        return self.status == Status.INFEASIBLE


class _Settle(cp_model.CpSolverSolutionCallback):
    """Stops the search once it has searched as long again as it took to find its first plan
    (and at least SETTLE_SECONDS): a lead plan with few tours is worth a little time, not more."""

    def __init__(self, solver: cp_model.CpSolver, started: float):
        super().__init__()
        self.solver, self.started = solver, started
        self.timer: threading.Timer | None = None

    def on_solution_callback(self) -> None:
        if self.timer is None:
            wait = max(SETTLE_SECONDS, time.perf_counter() - self.started)
            self.timer = threading.Timer(wait, self.solver.stop_search)
            self.timer.daemon = True
            self.timer.start()


def lead_skeleton(
    index: Index,
    options: SolveOptions,
    time_limit: float | None,
    stop: StopToken | None = None,
) -> Skeleton | None:
    """Leads and their contributions for the whole instance of `index`, found by CP-SAT on
    :func:`lead_instance` within `time_limit` seconds (None: no limit); None when the instance has
    no lead or no plan was found in time (a :class:`Skeleton` with status infeasible when proven
    that none exists)."""
    started = time.perf_counter()
    sub = lead_instance(index.instance)
    if sub is None:
        return None
    formulation = formulate(sub, "flow")
    backend = CpSatBackend(options.replace(log_search=False))
    backend.load(formulation)
    deployments = formulation.model.objectives["deployments"]
    backend.model.minimize(backend._expr(deployments.terms))
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.num_workers = options.threads or 0
    params.random_seed = options.seed
    params.catch_sigint_signal = False
    params.cp_model_presolve = False  # measured: presolve is most of the time on weekly horizons
    if options.reproducible:  # the first plan found, within deterministic work
        params.stop_after_first_solution = True
        if time_limit is not None:
            params.max_deterministic_time = max(0.01, time_limit)
    elif time_limit is not None:
        params.max_time_in_seconds = max(0.01, time_limit - (time.perf_counter() - started))
    token = stop or StopToken()
    token.register(solver.stop_search)
    try:
        settle = None if options.reproducible else _Settle(solver, time.perf_counter())
        code = solver.solve(backend.model, settle)
    finally:
        token.unregister(solver.stop_search)
    elapsed = time.perf_counter() - started
    if code == cp_model.INFEASIBLE:
        log.info("leads: no plan can give every term a lead (proven in %.2fs)", elapsed)
        return Skeleton(Status.INFEASIBLE, {}, {})
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        log.info("leads: no lead plan found in %.2fs", elapsed)
        return None
    values = [float(v) for v in solver.response_proto.solution]
    sub_index = formulation.index
    offer_pos = [index.offer_pos[offer.id] for offer in sub_index.offers]
    task_pos = [index.task_pos[task.id] for task in sub_index.tasks]
    tours = {
        Tour(offer_pos[r.offer], task_pos[r.task], r.start, r.length): n
        for r, n in formulation.tour_counts(values).items()
    }
    leads = {
        (task_pos[t], k): index.nation_pos[sub_index.nations[n].id]
        for (t, k), n in formulation.model.leads(values).items()
    }
    log.info(
        "leads: %d terms, %d tours of contributions in %.2fs (%d columns)",
        len(leads),
        sum(tours.values()),
        elapsed,
        formulation.model.columns,
    )
    return Skeleton(Status.FEASIBLE, tours, leads)
