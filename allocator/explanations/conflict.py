"""Why an instance is infeasible: a conflict (proven minimal when time allows) and relaxations.

A *conflict* is a set of rule instances that cannot hold together.  CP-SAT's core under
assumptions is one, but rarely minimal; deletion shrinks it: drop one instance, and if the rest
still cannot hold, keep the (smaller) core of that check, else the instance is needed.  When
every check is decided the conflict is minimal: dropping any one of its instances leaves a set
that can hold.  A *relaxation* is a smallest set of rule instances whose removal lets every other
one hold (a minimum correction set): one CP-SAT solve maximising the instances kept.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from allocator.explanations.model import RelaxableModel
from allocator.options import Status

log = logging.getLogger(__name__)

#: The share of the time limit the first core may take; the rest shrinks it and finds relaxations.
CORE_SHARE = 0.4
#: The share of the time limit kept to confirm the conflict that fast checks found.
CONFIRM_SHARE = 0.1
#: Relaxations looked for beyond the first (each unlike those before).
MORE_RELAXATIONS = 2


@dataclass(frozen=True)
class Conflict:
    names: tuple[str, ...]
    minimal: bool


@dataclass(frozen=True)
class Relaxation:
    """Rule instances to drop; `smallest` when proven a minimum; `values` a plan of the model
    with them dropped (the linear model's variables, in order)."""

    names: tuple[str, ...]
    smallest: bool
    values: tuple[int, ...]


def find_conflict(model: RelaxableModel, seconds: float) -> Conflict | None:
    """A conflict among all rule instances, or None when they can hold together (or time ran out
    before a first core).

    The first core is exact; fast checks (presolve on) shrink it, and the result is confirmed
    by a check of its own.  Should that fail (a fast core named what it should not), the first
    core is shrunk again with exact checks in the time left.
    """
    deadline = time.perf_counter() + seconds
    first = model.check(model.names, CORE_SHARE * seconds, presolve=False)
    if first.status != Status.INFEASIBLE:
        return None
    fast = _shrink(model, list(first.core), deadline - CONFIRM_SHARE * seconds, presolve=True)
    confirm = model.check(fast.names, max(deadline - time.perf_counter(), CONFIRM_SHARE * seconds))
    if confirm.status == Status.INFEASIBLE:
        return fast
    log.warning("explain: a fast core did not hold (%s); shrinking again with exact cores", confirm.status)
    return _shrink(model, list(first.core), deadline, presolve=False)


def _shrink(model: RelaxableModel, core: list[str], deadline: float, presolve: bool) -> Conflict:
    """Deletion: drop each rule instance in turn; if the rest still cannot hold, keep only the
    core of that check, otherwise the instance is needed."""
    log.info("explain: a core of %d rule instances, shrinking it", len(core))
    minimal = True
    needed: list[str] = []
    while core:
        candidate = core.pop(0)
        left = deadline - time.perf_counter()
        if left <= 0.01:
            minimal = False
            needed.extend([candidate, *core])
            break
        answer = model.check([*needed, *core], left, presolve=presolve)
        if answer.status == Status.INFEASIBLE:
            kept = set(answer.core)
            core = [name for name in core if name in kept]
            needed = [name for name in needed if name in kept]
        elif answer.status == Status.FEASIBLE:
            needed.append(candidate)
        else:
            minimal = False
            needed.append(candidate)
    log.info("explain: conflict of %d rule instances (minimal: %s)", len(needed), minimal)
    return Conflict(tuple(sorted(needed)), minimal)


def find_relaxations(model: RelaxableModel, seconds: float) -> list[Relaxation]:
    """Up to 1 + :data:`MORE_RELAXATIONS` smallest relaxations, each keeping every rule instance
    the ones before it drop (another way out, not a variant of the same)."""
    deadline = time.perf_counter() + seconds
    found: list[Relaxation] = []
    for attempt in range(1 + MORE_RELAXATIONS):
        left = deadline - time.perf_counter()
        if left <= 0.01 or (attempt and left < 0.2 * seconds):
            break
        status, dropped, values = model.fewest_dropped(left, [r.names for r in found])
        if values is None or not dropped:
            break
        found.append(Relaxation(tuple(dropped), status == Status.OPTIMAL, values))
    return found
