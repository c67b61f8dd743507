"""The Python API's solve.  The CLI is a thin layer over this and the instance and checker APIs."""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any

from allocator.backends import backend_for
from allocator.backends.levels import solve_levels
from allocator.errors import InputError, Problem
from allocator.formulation.history import PlanHistory
from allocator.instance.load import load_instance
from allocator.instance.model import IN_CODE, Instance
from allocator.instance.spec import REPLAN_OBJECTIVE
from allocator.options import ProgressCallback, SolveOptions, StopToken
from allocator.solution.result import PlanCallback, SolveResult

log = logging.getLogger(__name__)


def solve(
    instance: Instance | str | Path,
    options: SolveOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    stop: StopToken | None = None,
    plans: PlanCallback | None = None,
    **option_values: Any,
) -> SolveResult:
    """Solve an instance (or the file it is in) and return a :class:`SolveResult`.

    `options` (a :class:`SolveOptions`) says how: backend, time limit, threads, seed, formulation,
    logging; keyword arguments set single options (``solve(path, time_limit=10, threads=1)``).
    `progress` is called with each :class:`Progress` event, `plans` with the plan in hand (a
    :class:`SolveResult`) each time there is a new one (the first plan, then after each level but
    the last, whose plan is the one returned).  Ctrl-C (KeyboardInterrupt) or ``stop.stop()`` ends
    the search and returns the best plan so far.
    """
    options = (options or SolveOptions()).replace(**option_values)
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    refuse_changes(instance, IN_CODE)
    return run_solve(instance, options, progress, stop, plans=plans)


def refuse_changes(instance: Instance, label: str) -> None:
    """:class:`InputError` when the model optimises `changes`, which only a re-plan has."""
    for k, level in enumerate(instance.spec.levels):
        if any(name == REPLAN_OBJECTIVE for name, _ in level):
            raise InputError(
                label,
                [
                    Problem(
                        f"model.objectives[{k}]",
                        "'changes' needs a baseline plan: re-plan with allocator replan",
                    )
                ],
            )


def run_solve(
    instance: Instance,
    options: SolveOptions,
    progress: ProgressCallback | None = None,
    stop: StopToken | None = None,
    history: PlanHistory | None = None,
    plans: PlanCallback | None = None,
) -> SolveResult:
    """Solve in a worker thread, so that Ctrl-C stops the search and keeps the best plan."""
    stop = stop or StopToken()
    backend = backend_for(options)
    outcome: dict[str, SolveResult] = {}
    failure: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            outcome["result"] = solve_levels(instance, backend, options, progress, stop, history, plans)
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)
        finally:
            done.set()

    # The search runs in a worker thread so that Ctrl-C reaches this (main) thread, which asks the
    # solver to stop.  Wait on an Event, not Thread.join: an interrupted join can leave is_alive()
    # False while the thread still runs.
    worker = threading.Thread(target=work, name="allocator-solve", daemon=True)
    worker.start()
    while not done.is_set():
        try:
            done.wait(0.1)
            if stop.stopped and not done.is_set():
                # again: a stop that came just before a solver started its search is lost by it
                stop.stop()
                done.wait(0.4)
        except KeyboardInterrupt:
            log.warning("interrupted: stopping the search and keeping the best plan found")
            stop.stop()
    worker.join()
    if failure:
        raise failure[0]
    settings: dict[str, Any] = {
        "seed": options.seed,
        "threads": options.threads,
        "time_limit": options.time_limit,
    }
    if options.reproducible:
        settings["reproducible"] = True
    return dataclasses.replace(outcome["result"], settings=settings)
