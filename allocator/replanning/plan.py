"""Re-planning from a baseline: :func:`replan` (SPEC v2 section 7, ``docs/replanning.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from allocator.api import run_solve
from allocator.errors import InputError, Problem
from allocator.formulation.history import BaselineTour, PlanHistory
from allocator.instance.index import Index
from allocator.instance.load import load_instance
from allocator.instance.model import Instance
from allocator.instance.spec import REPLAN_OBJECTIVE, Level
from allocator.options import ProgressCallback, SolveOptions, StopToken
from allocator.replanning.history import History, history_of, read_baseline
from allocator.solution.plan import LeadTerm
from allocator.solution.result import PlanCallback, SolveResult


def replan(
    instance: Instance | str | Path,
    baseline: Any,
    start: int,
    options: SolveOptions | None = None,
    *,
    objectives: Sequence[Level] | None = None,
    max_changes: int | None = None,
    progress: ProgressCallback | None = None,
    stop: StopToken | None = None,
    plans: PlanCallback | None = None,
    **option_values: Any,
) -> SolveResult:
    """Re-plan `instance` (the data as it stands now, or its file) from period `start` on, keeping
    the history of `baseline` (a solution file, document or :class:`SolveResult`).

    `objectives` replaces the levels (default :func:`default_levels`: shortfall, changes, then the
    model's); leaving `changes` out gives a re-plan that keeps history but ignores persistence.
    `max_changes` makes ``changes <= max_changes`` a hard rule.  Options as :func:`allocator.solve`.
    :class:`InputError` when the baseline's history names an offer, unit, task or nation that is
    gone, or `start` is not in 2..periods.
    """
    options = (options or SolveOptions()).replace(**option_values)
    if options.formulation == "flow":
        raise InputError(
            "--formulation", [Problem("", "flow: a re-plan uses the tours formulation (tours or auto)")]
        )
    planned, plan_history = prepare_replan(instance, baseline, start, objectives, max_changes)
    return run_solve(planned, options, progress, stop, plan_history, plans)


def prepare_replan(
    instance: Instance | str | Path,
    baseline: Any,
    start: int,
    objectives: Sequence[Level] | None = None,
    max_changes: int | None = None,
) -> tuple[Instance, PlanHistory]:
    """What a re-plan solves: the instance with its levels, and the baseline's history; every
    :class:`InputError` of :func:`replan` is raised here, before any search."""
    planned, history, document = checked_replan(instance, baseline, start, objectives, max_changes)
    plan_history = PlanHistory.of(
        Index.of(planned),
        start,
        (BaselineTour(t.offer, t.unit, t.task, t.start, t.end) for t in history.baseline.tours),
        (LeadTerm(t.task, t.nation, t.start, t.end) for t in history.baseline.terms),
        max_changes=max_changes,
        baseline=history.name,
        digest=history.digest,
        document=document,
    )
    return planned, plan_history


def checked_replan(
    instance: Instance | str | Path,
    baseline: Any,
    start: int,
    objectives: Sequence[Level] | None = None,
    max_changes: int | None = None,
    label: str | None = None,
) -> tuple[Instance, History, dict[str, Any]]:
    """A re-plan's inputs checked without building its model: the instance with its levels, the
    baseline's history and its document (named `label`, by default its file name)."""
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    document, read_label = read_baseline(baseline)
    history = history_of(instance, document, start, label or read_label)
    if max_changes is not None and (
        isinstance(max_changes, bool) or not isinstance(max_changes, int) or max_changes < 0
    ):
        raise InputError(
            label or read_label, [Problem("max_changes", f"{max_changes!r} is not a whole number >= 0")]
        )
    levels = list(objectives) if objectives is not None else default_levels(instance)
    return _with_levels(instance, levels), history, document


def default_levels(instance: Instance) -> list[Level]:
    """A re-plan's levels: the model's when it names `changes`; otherwise `shortfall`, `changes`,
    then the model's levels with `shortfall` taken out."""
    spec = instance.spec
    if REPLAN_OBJECTIVE in spec.objective_names:
        return list(spec.objectives)
    rest: list[Level] = []
    for level in spec.levels:
        kept = {name: weight for name, weight in level if name != "shortfall"}
        if kept:
            rest.append(next(iter(kept)) if len(kept) == 1 and next(iter(kept.values())) == 1.0 else kept)
    return ["shortfall", REPLAN_OBJECTIVE, *rest]


def _with_levels(instance: Instance, levels: list[Level]) -> Instance:
    """The instance with its model's levels replaced; bad levels are bad input at `objectives`."""
    spec = instance.spec.model_copy(update={"objectives": tuple(levels)})
    try:
        return instance.replace(model=spec)
    except InputError as exc:
        problems = [
            Problem(p.path.replace("model.objectives", "objectives"), p.message) for p in exc.problems
        ]
        raise InputError("--objectives", problems) from None
