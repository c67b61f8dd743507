"""Conflicts of one period: a small model that decides what the whole one cannot in time.

The *projection* of an instance on period ``P`` keeps what happens in ``P`` alone: the offers
available in ``P`` (their window cut to ``P``, tours of one period, no rest), the tasks active in
``P`` (their requirements cut to ``P``, no lead) and every nation's caps and budget.  Its rule
instances carry the names of the whole instance's: ``demand[T:C@P]``, ``unit-capacity[O@P]``,
``personnel-cap[N@P]``, ``min-nations[T@P]``, ``max-nations[T@P]`` and ``budget[N]``.

Why a conflict of the projection is one of the instance, and minimal there too, for a set ``S``
of those rule instances:

- any plan of the instance that keeps ``S`` keeps it in ``P`` alone (its units in ``P`` are
  among those its tours hold busy in ``P``; its cost and nations in ``P`` are at most the whole
  plan's), so if the projection cannot keep ``S``, neither can the instance;
- a plan of the projection that keeps ``S`` minus one instance is, with nothing deployed in any
  other period, a plan of the instance that keeps it (every other rule instance dropped: tours of
  one period, rest, leads and the rows of other periods no longer hold it back).

Most infeasible instances with hard demand are short in some period whatever the plan: demand
against the units that can serve, caps and budgets.  The periods where the gap between demand and
supply is largest are tried first.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from allocator.explanations.conflict import Conflict, find_conflict
from allocator.explanations.model import RelaxableModel, family
from allocator.instance.index import Index
from allocator.instance.model import Instance
from allocator.instance.parts import Requirement, Task

log = logging.getLogger(__name__)

#: Rule families whose instances mean the same in a period's projection as in the instance.
PROJECTED = frozenset({"demand", "min-nations", "max-nations", "personnel-cap", "budget", "unit-capacity"})
#: The periods tried at most, and the share of the time one of them may take.
MOST_PERIODS = 12
ONE_PERIOD_SHARE = 0.25


def period_order(index: Index) -> list[int]:
    """Periods by how far demand exceeds the units that could serve it, largest gap first.

    The gap of a capability in a period is its units required by every task less the units of
    its offers that may serve some task then (availability and caveats); a period's score is its
    largest gap relative to the demand.
    """
    T = index.T
    need: dict[str, np.ndarray] = {}
    for demand in index.demand:
        for capability, profile in demand.items():
            need.setdefault(capability, np.zeros(T + 2, dtype=np.int64))[:] += profile
    have = {c: np.zeros(T + 2, dtype=np.int64) for c in need}
    for o, offer in enumerate(index.offers):
        if offer.capability not in have:
            continue
        may = np.zeros(T + 2, dtype=bool)
        for (oo, _), mask in index.serve.items():
            if oo == o:
                may |= mask
        have[offer.capability][may] += offer.units
    score = np.full(T + 2, -np.inf)
    for capability, profile in need.items():
        ratio = (profile - have[capability]) / np.maximum(profile, 1)
        score = np.maximum(score, np.where(profile > 0, ratio, -1.0))
    return sorted(range(1, T + 1), key=lambda p: (-score[p], p))


def project(instance: Instance, period: int) -> Instance | None:
    """The instance seen in `period` alone (the module's docstring), or None when no task runs
    then."""
    T = instance.periods
    tasks = [_task_in(task, period, T) for task in instance.tasks]
    kept = [t for t in tasks if t is not None]
    if not kept:
        return None
    ids = {t.id for t in kept}
    offers = []
    for offer in instance.offers:
        a, b = offer.available or (1, T)
        caveat = None if offer.tasks is None else tuple(t for t in offer.tasks if t in ids)
        if not a <= period <= b or caveat == ():
            continue
        offers.append(
            offer.model_copy(
                update={
                    "available": (period, period),
                    "min_tour": 1,
                    "max_tour": None,
                    "min_rest": 0,
                    "tasks": caveat,
                }
            )
        )
    return instance.replace(name=f"{instance.name}.period-{period}", offers=tuple(offers), tasks=tuple(kept))


def _task_in(task: Task, period: int, T: int) -> Task | None:
    lo, hi = task.active or (1, T)
    if not lo <= period <= hi:
        return None
    requirements = [
        Requirement(capability=r.capability, units=r.units, periods=(period, period))
        for r in task.requirements
        if (r.periods or (lo, hi))[0] <= period <= (r.periods or (lo, hi))[1]
    ]
    if not requirements:  # still active (its nations count): a requirement of nothing
        first = task.requirements[0]
        requirements = [Requirement(capability=first.capability, units=0, periods=(period, period))]
    return task.model_copy(
        update={"active": (period, period), "requirements": tuple(requirements), "lead": None}
    )


def find_period_conflict(
    instance: Instance, seconds: float, *, seed: int = 0, threads: int | None = None
) -> Conflict | None:
    """A conflict among the rule instances of one period, from the projections of the periods
    with the largest gaps (:func:`period_order`), or None when none is found in time."""
    deadline = time.perf_counter() + seconds
    for period in period_order(Index.of(instance))[:MOST_PERIODS]:
        left = deadline - time.perf_counter()
        if left <= 0.05:
            break
        sub = project(instance, period)
        if sub is None:
            continue
        model = RelaxableModel(sub, seed=seed, threads=threads)
        conflict = find_conflict(model, min(left, ONE_PERIOD_SHARE * seconds))
        if conflict is None:
            continue
        if not conflict.minimal or any(family(n) not in PROJECTED for n in conflict.names):
            log.info("explain: period %d: conflict %s not usable", period, conflict.names)
            continue
        log.info("explain: period %d alone cannot hold: %d rule instances", period, len(conflict.names))
        return conflict
    return None
