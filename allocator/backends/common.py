"""What every backend shares: integer scaling, the level schedule, stopping and result assembly."""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from allocator.indices import Index, Tour
from allocator.plan import LeadTerm, clean, colour_units, deployed, objective_values, shortfalls
from allocator.result import LevelResult, SolveResult, Status

#: Most decimal places kept when a float parameter is turned into an integer coefficient.
MAX_DECIMALS = 6


def decimal_scale(values: Iterable[float]) -> int:
    """Smallest 10**d (d <= MAX_DECIMALS) making every value an integer."""
    decimals = 0
    for value in values:
        exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < 0:
            decimals = max(decimals, -exponent)
    return 10 ** min(decimals, MAX_DECIMALS)


def scaled(value: float, scale: int) -> int:
    return round(value * scale)


@dataclass(frozen=True)
class Scales:
    """Integer versions of the float parameters: value = integer / scale."""

    priority: int
    share: int
    personnel: int
    cost: int

    @classmethod
    def of(cls, index: Index) -> Scales:
        nations = index.nations
        return cls(
            priority=decimal_scale(t.priority for t in index.tasks),
            share=decimal_scale(n.share for n in nations),
            personnel=decimal_scale(
                [o.personnel for o in index.offers]
                + [n.max_personnel for n in nations if n.max_personnel is not None]
            ),
            cost=decimal_scale(
                [o.cost for o in index.offers] + [n.budget for n in nations if n.budget is not None]
            ),
        )

    def measure(self, fairness: str) -> int:
        return {"units": 1, "personnel": self.personnel, "cost": self.cost}[fairness]


def weighted_coefficients(
    level: tuple[tuple[str, float], ...], scales: Mapping[str, int]
) -> tuple[dict[str, int], int]:
    """Integer coefficients for a (weighted) level over integer objectives, and the level scale.

    Objective i has integer value z_i = scale_i x f_i.  The level minimises sum w_i f_i =
    (sum c_i z_i) / D with c_i = D w_i / scale_i integral for D the least common denominator.
    """
    fractions = {
        name: Fraction(weight).limit_denominator(10**MAX_DECIMALS) / scales[name] for name, weight in level
    }
    denominator = math.lcm(*(f.denominator for f in fractions.values()))
    return {name: int(f * denominator) for name, f in fractions.items()}, denominator


#: A level given less time than this is not sent to the solver when a plan is in hand: loading a
#: large model alone takes longer, and CBC fails outright with a limit of a few milliseconds.
MIN_LEVEL_SECONDS = 0.05


def remaining_time(time_limit: float | None, started: float) -> float | None:
    """Search time left of `time_limit` (None: no limit), keeping back a little for writing the plan.

    The limit bounds the whole solve; turning the last solution into a plan (tours, unit numbers,
    shortfalls) takes a fraction of a second on the largest instances, so the search stops 1% of
    the limit (at most 1 s) early.
    """
    if time_limit is None:
        return None
    reserve = min(1.0, 0.01 * time_limit)
    return max(0.0, time_limit - reserve - (time.perf_counter() - started))


def level_budget(remaining: float | None, levels_left: int) -> float | None:
    """Time for the next level: half of what is left, all of it for the last level."""
    if remaining is None:
        return None
    return remaining if levels_left <= 1 else remaining / 2


@dataclass(frozen=True)
class Progress:
    """A progress event: the level being solved, its incumbent and bound, time since start."""

    level: str
    level_number: int
    levels: int
    incumbent: float | None
    bound: float | None
    elapsed: float


ProgressCallback = Callable[[Progress], None]


class StopToken:
    """Asks a running solve to stop and keep its best plan (Ctrl-C, a GUI button, a deadline)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._handlers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def stopped(self) -> bool:
        return self._event.is_set()

    def stop(self) -> None:
        with self._lock:
            self._event.set()
            handlers = list(self._handlers)
        for handler in handlers:
            handler()

    def register(self, handler: Callable[[], None]) -> None:
        """Call `handler` on stop (at once if already stopped)."""
        with self._lock:
            self._handlers.append(handler)
            stopped = self._event.is_set()
        if stopped:
            handler()

    def unregister(self, handler: Callable[[], None]) -> None:
        with self._lock:
            if handler in self._handlers:
                self._handlers.remove(handler)


def level_value(
    index: Index, counts: Mapping[Tour, int], fairness: str, level: tuple[tuple[str, float], ...]
) -> float:
    """A level's value computed from the plan itself (exact even where slack variables are loose)."""
    values = objective_values(index, counts, fairness, shortfalls(index, deployed(index, counts)))
    return clean(sum(weight * values[name] for name, weight in level))


def overall_status(levels: list[LevelResult], has_plan: bool, infeasible: bool, complete: bool) -> Status:
    if infeasible:
        return "infeasible"
    if not has_plan:
        return "unknown"
    if complete and all(lv.status == "optimal" for lv in levels):
        return "optimal"
    return "feasible"


def _in_final_plan(
    level: LevelResult, spec_level: tuple[tuple[str, float], ...], objectives: Mapping[str, float]
) -> LevelResult:
    """A level's value in the final plan (later levels may improve an earlier level within its bound)."""
    if level.value is None:
        return level
    value = clean(sum(weight * objectives[name] for name, weight in spec_level))
    bound = None if level.bound is None else min(level.bound, value)
    return dataclasses.replace(level, value=value, bound=bound)


def assemble_result(
    index: Index,
    backend: str,
    status: Status,
    counts: Mapping[Tour, int] | None,
    leads: Mapping[tuple[int, int], int] | None,
    levels: list[LevelResult],
    build_time: float,
    wall_time: float,
    interrupted: bool,
    formulation: str = "tours",
) -> SolveResult:
    """A :class:`SolveResult` from tour counts and lead choices ((task, term) -> nation)."""
    instance = index.instance
    if counts is None or status in ("infeasible", "unknown"):
        return SolveResult(
            instance.name,
            status,
            backend,
            levels=tuple(levels),
            build_time=build_time,
            wall_time=wall_time,
            interrupted=interrupted,
            formulation=formulation,
            problem=instance,
        )
    counts = {tour: n for tour, n in counts.items() if n > 0}
    gaps = shortfalls(index, deployed(index, counts))
    objectives = objective_values(index, counts, instance.spec.fairness, gaps)
    levels = [
        _in_final_plan(level, spec_level, objectives)
        for level, spec_level in zip(levels, instance.spec.levels, strict=False)
    ]
    lead_terms = [
        LeadTerm(index.tasks[t].id, index.nations[n].id, *index.terms[t][k])
        for (t, k), n in sorted((leads or {}).items())
    ]
    return SolveResult(
        instance=instance.name,
        status=status,
        backend=backend,
        objectives=objectives,
        levels=tuple(levels),
        assignments=tuple(colour_units(index, counts)),
        leads=tuple(lead_terms),
        shortfalls=tuple(gaps),
        build_time=build_time,
        wall_time=wall_time,
        interrupted=interrupted,
        formulation=formulation,
        problem=instance,
    )
