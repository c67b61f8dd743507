"""The lexicographic levels, solved in turn by any backend: one loop for all of them.

Each level minimises its (weighted) objective with every earlier level bounded at its value and
the previous level's solution as a warm start; one time limit covers the whole solve, a level
getting half of what is left (the last level all of it).  The plan is read from the final
solution and its objectives recomputed from the plan itself (``docs/objectives.md``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from allocator.backends.interface import Backend, Level, LevelOutcome, whole_bound
from allocator.backends.relaxation import shortfall_bound
from allocator.backends.skeleton import lead_skeleton
from allocator.formulation.build import formulate
from allocator.formulation.history import PlanHistory
from allocator.formulation.linear import LinearModel, Terms
from allocator.formulation.rules import Formulation
from allocator.formulation.scales import weighted_coefficients
from allocator.formulation.structure import TourStructure
from allocator.formulation.warm import plan_values
from allocator.instance.index import Index, Tour
from allocator.instance.model import Instance
from allocator.instance.spec import REPLAN_OBJECTIVE
from allocator.options import Interrupted, Progress, ProgressCallback, SolveOptions, Status, StopToken, Watch
from allocator.solution.greedy import Fixed, first_plan
from allocator.solution.plan import LeadTerm, clean, colour_units, deployed, objective_values, shortfalls
from allocator.solution.result import NO_MODEL, LevelResult, PlanCallback, SolveResult

log = logging.getLogger(__name__)


#: A level given less time than this is not sent to the solver when a plan is in hand: loading a
#: large model alone takes longer, and CBC fails outright with a limit of a few milliseconds.
MIN_LEVEL_SECONDS = 0.05
#: The shortfall relaxation runs only with at least this much time left (it takes up to 2 s to build
#: and solve on the large instances).
MIN_BOUND_SECONDS = 10.0
#: The greedy first plan stops adding tours after this share of the time limit.
FIRST_PLAN_SHARE = 0.05
#: When the greedy finds no lead for every term, the leads alone are solved within this share of
#: the time limit (at least MIN_SKELETON_SECONDS, if the limit allows).
SKELETON_SHARE = 0.5
MIN_SKELETON_SECONDS = 2.0


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


def plan_objectives(
    index: Index,
    counts: Mapping[Tour, int],
    leads: Mapping[tuple[int, int], int],
    fairness: str,
    history: PlanHistory | None = None,
) -> dict[str, float]:
    """Every objective of a plan, computed from the plan itself (exact even where slack variables
    are loose); a re-plan's `changes` too."""
    values = objective_values(index, counts, fairness, shortfalls(index, deployed(index, counts)))
    if history is not None:
        values["changes"] = float(history.changes(index, counts, leads))
    return values


def level_value(objectives: Mapping[str, float], level: tuple[tuple[str, float], ...]) -> float:
    """A level's value from the plan's objectives."""
    return clean(sum(weight * objectives[name] for name, weight in level))


def overall_status(levels: list[LevelResult], has_plan: bool, infeasible: bool, complete: bool) -> Status:
    if infeasible:
        return Status.INFEASIBLE
    if not has_plan:
        return Status.UNKNOWN
    if complete and all(lv.status == Status.OPTIMAL for lv in levels):
        return Status.OPTIMAL
    return Status.FEASIBLE


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
    first_plan_time: float | None = None,
    history: PlanHistory | None = None,
) -> SolveResult:
    """A :class:`SolveResult` from tour counts and lead choices ((task, term) -> nation); of a
    re-plan with its `history` (units and leads of history as the baseline had them)."""
    instance = index.instance
    plan: dict[str, Any] = {}
    if counts is not None and Status(status).has_plan:
        counts = {tour: n for tour, n in counts.items() if n > 0}
        chosen = leads or {}
        objectives = plan_objectives(index, counts, chosen, instance.spec.fairness, history)
        levels = [
            _in_final_plan(level, spec_level, objectives)
            for level, spec_level in zip(levels, instance.spec.levels, strict=False)
        ]
        plan = {
            "objectives": objectives,
            "shortfalls": tuple(shortfalls(index, deployed(index, counts))),
        }
        if history is None:
            plan["assignments"] = tuple(colour_units(index, counts))
            plan["leads"] = tuple(
                LeadTerm(index.tasks[t].id, index.nations[n].id, *index.terms[t][k])
                for (t, k), n in sorted(chosen.items())
            )
        else:
            plan["assignments"] = tuple(history.assignments(index, counts))
            plan["leads"] = tuple(history.lead_terms(index, chosen))
            plan["changes"] = tuple(history.records(index, counts, chosen))
    if history is not None:
        plan["replan"] = {
            "baseline": history.baseline,
            "from": history.start,
            "baseline_digest": history.digest,
        }
    return SolveResult(
        instance.name,
        status,
        backend,
        levels=tuple(levels),
        build_time=build_time,
        wall_time=wall_time,
        interrupted=interrupted,
        formulation=formulation,
        first_plan_time=first_plan_time,
        problem=instance,
        **plan,
    )


def level_terms(model: LinearModel, level: tuple[tuple[str, float], ...]) -> tuple[Terms, int]:
    """A level's objective as integer terms over the model, and the level's scale."""
    objectives = model.objectives
    coeffs, scale = weighted_coefficients(level, {name: objectives[name].scale for name, _ in level})
    terms = [(i, coeffs[name] * c) for name, _ in level for i, c in objectives[name].terms]
    return terms, scale


def solve_levels(
    instance: Instance,
    backend: Backend,
    options: SolveOptions,
    progress: ProgressCallback | None = None,
    stop: StopToken | None = None,
    history: PlanHistory | None = None,
    plans: PlanCallback | None = None,
) -> SolveResult:
    """Solve every lexicographic level of the instance's model with `backend` (a re-plan, with
    its baseline's `history`); `plans` is given the plan in hand as it improves (its first plan,
    then at the end of each level).

    The first plan comes before the model (the greedy needs only the instance's index), so that
    a plan is in hand while the model is built; building stops at the time limit or a stop, and
    the first plan is then the answer."""
    started = time.perf_counter()
    stop = stop or StopToken()
    deadline = None  # (the reproducible mode's limit counts work, not seconds: building has none)
    if options.time_limit is not None and not options.reproducible:
        deadline = started + options.time_limit - min(1.0, 0.01 * options.time_limit)
    watch = Watch(stop, deadline)
    index = Index.of(instance)
    first: FirstTours | None = None
    first_plan_time = None
    hard = instance.spec.shortfall == "hard"
    if options.first_plan and history is None:
        try:
            first = first_tours(index, hard, options.time_limit, options, stop)
        except NoLeadPlan:
            return _without_model(index, backend.name, None, options, started, stop, infeasible=True)
    elif options.first_plan and history is not None:
        clock = None if options.reproducible else options.time_limit
        first = history_first_tours(index, history, hard, clock)
    if first is not None:
        first_plan_time = time.perf_counter() - started
    try:
        formulation = formulate(instance, options.formulation, history=history, check=watch.check)
        model = formulation.model
        backend.load(formulation)
    except Interrupted:
        log.info(
            "model building stopped after %.2fs (%s)",
            time.perf_counter() - started,
            "asked to stop" if stop.stopped else "time limit",
        )
        return _without_model(
            index,
            backend.name,
            first,
            options,
            started,
            stop,
            first_plan_time=first_plan_time,
            history=history,
        )
    build_time = time.perf_counter() - started
    log.info(
        "built the %s model (%s formulation): %d columns, %d variables, %d rows in %.2fs",
        backend.name,
        model.formulation,
        model.columns,
        len(model.variables),
        model.row_count,
        build_time,
    )
    run = _Levels(formulation, backend, options, started, progress, stop)
    if history is not None and options.first_plan:
        run.values = replan_values(formulation, first)
        if run.values is not None:
            run.first_plan_time = first_plan_time if first is not None else time.perf_counter() - started
    elif first is not None:
        run.values = plan_values(formulation, first.counts, first.leads)
        run.first_plan_time = first_plan_time
    run.hand_over(plans, build_time)
    run.report_first_plan()
    for number, level in enumerate(instance.spec.levels, start=1):
        if run.stop.stopped or not run.solve(number, level):
            break
        if number < len(instance.spec.levels):
            run.hand_over(plans, build_time)
    return run.result(build_time)


def _without_model(
    index: Index,
    backend: str,
    first: FirstTours | None,
    options: SolveOptions,
    started: float,
    stop: StopToken,
    *,
    infeasible: bool = False,
    first_plan_time: float | None = None,
    history: PlanHistory | None = None,
) -> SolveResult:
    """The result of a solve that built no model: the first plan as it is (each level at its
    value, bounded by 0) or none; `infeasible` when the leads alone are proven infeasible."""
    spec = index.instance.spec
    elapsed = time.perf_counter() - started
    if first is None:
        status = Status.INFEASIBLE if infeasible else Status.UNKNOWN
        levels = [LevelResult(spec.level_key(spec.levels[0]), status, None, None, elapsed)]
        counts = leads = None
    else:
        status = Status.FEASIBLE
        counts, leads = first.counts, first.leads
        # each level's value is the plan's, which assemble_result puts in (the 0 here stands for it)
        levels = [LevelResult(spec.level_key(level), Status.FEASIBLE, 0.0, 0.0, 0.0) for level in spec.levels]
    return assemble_result(
        index,
        backend,
        status,
        counts,
        leads,
        levels,
        0.0,
        elapsed,
        interrupted=stop.stopped,
        formulation=NO_MODEL,
        first_plan_time=first_plan_time,
        history=history,
    )


def replan_values(formulation: Formulation, greedy: FirstTours | None) -> list[float] | None:
    """A re-plan's first plan.  When its levels ask for persistence (`changes`, or a
    `max_changes`), its baseline as a plan of the new data (:func:`baseline_values`), else the
    `greedy` built on the history before the model (:func:`history_first_tours`); each is the
    other's fallback."""
    history = formulation.history
    assert history is not None
    persistent = REPLAN_OBJECTIVE in formulation.spec.objective_names or history.max_changes is not None

    def from_greedy() -> list[float] | None:
        return None if greedy is None else plan_values(formulation, greedy.counts, greedy.leads)

    tries = (("the baseline", lambda: baseline_values(formulation)), ("greedy from the history", from_greedy))
    for what, attempt in tries if persistent else reversed(tries):
        if (values := attempt()) is not None:
            log.info("the re-plan starts from %s", what)
            return values
    return None


def baseline_values(formulation: Formulation) -> list[float] | None:
    """A re-plan's baseline as a plan of the new data (:meth:`PlanHistory.baseline_plan`), when
    the checker accepts it (None: a withdrawn lead no other nation can take over, fewer units
    now, hard demand)."""
    f = formulation
    assert f.history is not None and isinstance(f.structure, TourStructure)
    started = time.perf_counter()
    counts, leads = f.history.baseline_plan(f.index, set(f.structure.tours))
    if not _accepted(f.index, f.history, counts, leads, "the baseline", started):
        return None
    return plan_values(f, counts, leads)


def history_first_tours(
    index: Index, history: PlanHistory, hard: bool, time_limit: float | None
) -> FirstTours | None:
    """A re-plan's greedy first plan, made before its model: history as it was
    (:meth:`PlanHistory.fixed`), then the greedy's tours and leads from `from` on, nothing of the
    baseline's later plan; None when the greedy finds none or the checker refuses it."""
    started = time.perf_counter()
    deadline = None if time_limit is None else started + FIRST_PLAN_SHARE * time_limit
    plan = first_plan(index, hard, deadline, history.fixed(index))
    what = "greedy from the history"
    if plan is None or not _accepted(index, history, plan.counts, plan.leads, what, started):
        return None
    return FirstTours(plan.counts, plan.leads, what)


def _accepted(
    index: Index,
    history: PlanHistory,
    counts: dict[Tour, int],
    leads: dict[tuple[int, int], int],
    what: str,
    started: float,
) -> bool:
    """Whether the checker accepts a re-plan's candidate first plan with the baseline (and it
    keeps `max_changes`)."""
    from allocator.checker import check

    try:
        plan = history.plan_document(index, counts, leads)
    except RuntimeError:
        return False
    verdict = check(index.instance, plan, baseline=history.document)
    broken = [str(v) for v in verdict.violations if v.rule != "report"]
    limit = history.max_changes
    if limit is not None and verdict.objectives.get("changes", 0) > limit:
        broken.append(f"max-changes: {verdict.objectives['changes']:g} changes, at most {limit}")
    log.info(
        "first plan (%s): %s in %.2fs",
        what,
        f"refused, {broken[0]}" if broken else f"{sum(counts.values())} tours",
        time.perf_counter() - started,
    )
    return not broken


class NoLeadPlan(Exception):
    """Proven: no plan gives every lead term a lead (:mod:`allocator.backends.skeleton`)."""


@dataclass(frozen=True)
class FirstTours:
    """A first plan: units starting each tour, (task, term) -> lead nation, and how it was made."""

    counts: dict[Tour, int]
    leads: dict[tuple[int, int], int]
    how: str


def first_tours(
    index: Index,
    hard: bool,
    time_limit: float | None,
    options: SolveOptions | None = None,
    stop: StopToken | None = None,
) -> FirstTours | None:
    """The greedy first plan (:mod:`allocator.solution.greedy`), within FIRST_PLAN_SHARE of the
    time limit; None when the greedy finds none.

    When the greedy finds no lead for every term, the leads and their contributions are solved
    exactly first (:func:`~allocator.backends.skeleton.lead_skeleton`, within SKELETON_SHARE of the
    time limit) and the greedy covers demand around them; raises :class:`NoLeadPlan` when that
    proves that no plan exists."""
    started = time.perf_counter()
    options = options or SolveOptions()
    clock = None if options.reproducible else time_limit  # the greedy's deadline: wall clock
    deadline = None if clock is None else started + FIRST_PLAN_SHARE * clock
    plan = first_plan(index, hard, deadline)
    how = "greedy"
    if plan is None and any(task.lead is not None for task in index.tasks):
        skeleton = lead_skeleton(
            index,
            options,
            None if time_limit is None else max(MIN_SKELETON_SECONDS, SKELETON_SHARE * time_limit),
            stop,
        )
        if skeleton is not None and skeleton.infeasible:
            raise NoLeadPlan
        if skeleton is not None:
            fixed = Fixed(1, skeleton.tours, skeleton.leads)
            deadline = None if clock is None else time.perf_counter() + FIRST_PLAN_SHARE * clock
            plan = first_plan(index, hard, deadline, fixed)
            how = "greedy around the leads"
    if plan is None:
        return None
    log.info(
        "first plan (%s%s): %d tours in %.2fs",
        how,
        "" if plan.complete else ", cut short",
        sum(plan.counts.values()),
        time.perf_counter() - started,
    )
    return FirstTours(plan.counts, plan.leads, how)


def first_values(
    formulation: Formulation,
    time_limit: float | None,
    *,
    options: SolveOptions | None = None,
    stop: StopToken | None = None,
) -> list[float] | None:
    """The first plan (:func:`first_tours`) as values of the formulation's variables."""
    first = first_tours(formulation.index, formulation.hard, time_limit, options, stop)
    return None if first is None else plan_values(formulation, first.counts, first.leads)


class _Levels:
    """The state of one solve's levels: the plan in hand (variable values) and each level's result."""

    def __init__(
        self,
        formulation: Formulation,
        backend: Backend,
        options: SolveOptions,
        started: float,
        progress: ProgressCallback | None,
        stop: StopToken,
    ):
        self.formulation, self.backend, self.options = formulation, backend, options
        self.started, self.progress, self.stop = started, progress, stop
        self.spec = formulation.spec
        self.levels: list[LevelResult] = []
        self.values: list[float] | None = None
        self.first_plan_time: float | None = None
        self.infeasible = False

    def solve(self, number: int, level: tuple[tuple[str, float], ...]) -> bool:
        """Solve one level and bound it at its value; False when no later level can run."""
        key = self.spec.level_key(level)
        terms, scale = level_terms(self.formulation.model, level)
        level_started = time.perf_counter()
        outcome = self._outcome(
            Level(
                key,
                number,
                len(self.spec.levels),
                terms,
                scale,
                *self._time(number),
                self.values,
                self.started,
                self.progress,
                self.stop,
            )
        )
        elapsed = time.perf_counter() - level_started
        if outcome.values is None and self.values is None:  # infeasible, or no plan in time
            log.info("level %d (%s): %s in %.2fs", number, key, outcome.status, elapsed)
            self.infeasible = outcome.status == Status.INFEASIBLE
            self.levels.append(LevelResult(key, outcome.status, None, None, elapsed))
            return False
        status = outcome.status if outcome.values is not None else Status.FEASIBLE
        value = self._keep_the_better(outcome.values, level)
        bound = _bound(status, outcome.bound, scale, value)
        if outcome.bound is not None and _reaches(bound, value):
            status, bound = Status.OPTIMAL, value  # a solver's bound that reaches the value proves it
        if (
            level == (("shortfall", 1.0),)
            and status != Status.OPTIMAL
            and bound < value
            and self._time_for_bound()
        ):
            bound = max(bound, self._relaxed_shortfall_bound())
            if _reaches(bound, value):
                status, bound = Status.OPTIMAL, value
        log.info("level %d (%s): %s, %g (bound %g) in %.2fs", number, key, status, value, bound, elapsed)
        self.levels.append(LevelResult(key, status, value, bound, elapsed))
        if self.progress is not None:
            elapsed_all = time.perf_counter() - self.started
            self.progress(Progress(key, number, len(self.spec.levels), value, bound, elapsed_all))
        if terms:  # an objective without variables needs no bound
            self.backend.add_bound(terms, round(value * scale))
        return True

    def report_first_plan(self) -> None:
        """A progress event for the plan in hand before any search: the first level's value in
        it (a service or a terminal shows an incumbent at once, not after a level's search)."""
        if self.progress is None or self.values is None:
            return
        level = self.spec.levels[0]
        f = self.formulation
        counts, leads = f.tour_counts(self.values), f.model.leads(self.values)
        value = level_value(plan_objectives(f.index, counts, leads, self.spec.fairness, f.history), level)
        elapsed = time.perf_counter() - self.started
        self.progress(Progress(self.spec.level_key(level), 1, len(self.spec.levels), value, None, elapsed))

    def hand_over(self, plans: PlanCallback | None, build_time: float) -> None:
        """Give `plans` the plan in hand, if any (a failing callback is logged, never fatal)."""
        if plans is None or self.values is None:
            return
        try:
            plans(self.result(build_time))
        except Exception:
            log.warning("the callback of plans failed; the solve goes on", exc_info=True)

    def _keep_the_better(self, values: list[float] | None, level: tuple[tuple[str, float], ...]) -> float:
        """Take the solver's solution unless the plan in hand is as good on this level (a solution
        of equal value may be worse on later levels, which the plan in hand was chosen for), and
        return the level's value in the plan kept."""
        f = self.formulation

        def value_of(plan: list[float]) -> float:
            counts, leads = f.tour_counts(plan), f.model.leads(plan)
            return level_value(plan_objectives(f.index, counts, leads, self.spec.fairness, f.history), level)

        held = None if self.values is None else value_of(self.values)
        if values is not None:
            new = value_of(values)
            if held is None or new < held:
                self.values = values
                return new
        assert held is not None
        return held

    def _remaining(self) -> float | None:
        """Time left of the limit (None: no limit): seconds, or in the reproducible mode the
        deterministic work left (:attr:`CpSatBackend.work`)."""
        limit = self.options.time_limit
        if not self.options.reproducible or limit is None:
            return remaining_time(limit, self.started)
        return max(0.0, limit - getattr(self.backend, "work", 0.0))

    def _time_for_bound(self) -> bool:
        """Whether the relaxation fits in the time left (building it takes up to a second); never
        in the reproducible mode (the relaxation's time limit is the clock's)."""
        if self.options.reproducible:
            return False
        remaining = remaining_time(self.options.time_limit, self.started)
        return remaining is None or remaining >= MIN_BOUND_SECONDS

    def _relaxed_shortfall_bound(self) -> float:
        """The bound of :mod:`allocator.backends.relaxation` (0 when it is not proven in time),
        within a tenth of the time left (at most 30 s)."""
        remaining = remaining_time(self.options.time_limit, self.started)
        limit = 30.0 if remaining is None else min(30.0, 0.1 * remaining)
        started = time.perf_counter()
        bound = shortfall_bound(self.formulation.index, limit)
        log.info("shortfall relaxation: bound %s in %.2fs", bound, time.perf_counter() - started)
        return bound or 0.0

    def _time(self, number: int) -> tuple[float | None, float | None]:
        """(the level's share of the time, all the time left)."""
        remaining = self._remaining()
        return level_budget(remaining, len(self.spec.levels) - number + 1), remaining

    def _outcome(self, level: Level) -> LevelOutcome:
        """The backend's outcome, but the plan in hand stands when no time is left or when a
        solver calls a later level infeasible (that plan meets every earlier bound: a fault)."""
        if self.values is not None and not level.terms:  # nothing can move it: the plan in hand is optimal
            return LevelOutcome(Status.OPTIMAL, self.values)
        if self.values is not None and level.remaining is not None and level.remaining < MIN_LEVEL_SECONDS:
            return LevelOutcome(Status.UNKNOWN)
        outcome = self.backend.solve_level(level)
        if outcome.status == Status.INFEASIBLE and self.values is not None:
            log.warning(
                "%s reported level %d (%s) infeasible, which the plan in hand disproves; keeping that plan",
                self.backend.name,
                level.number,
                level.key,
            )
            return LevelOutcome(Status.UNKNOWN)
        return outcome

    def result(self, build_time: float) -> SolveResult:
        values = self.values
        complete = len(self.levels) == len(self.spec.levels)
        return assemble_result(
            self.formulation.index,
            self.backend.name,
            overall_status(self.levels, values is not None, self.infeasible, complete),
            self.formulation.tour_counts(values) if values is not None else None,
            self.formulation.model.leads(values) if values is not None else None,
            self.levels,
            build_time,
            time.perf_counter() - self.started,
            interrupted=self.stop.stopped,
            formulation=self.formulation.model.formulation,
            first_plan_time=self.first_plan_time,
            history=self.formulation.history,
        )


def _bound(status: Status, bound: float | None, scale: int, value: float) -> float:
    """A level's proven lower bound: its value when optimal, the solver's bound rounded up to a
    whole number of the level's units (HiGHS reports 249.9999999 for 250: :func:`whole_bound`)
    and never above the value, or 0, the trivial bound of every (non-negative) objective."""
    if status == Status.OPTIMAL:
        return value
    if bound is None or not math.isfinite(bound):  # (a solver that proved nothing: -inf)
        return 0.0
    return max(0.0, min(whole_bound(bound) / scale, value))


def _reaches(bound: float, value: float) -> bool:
    """Whether a level's bound proves its value (both in objective units, up to float rounding)."""
    return bound >= value - 1e-9 * max(1.0, value)
