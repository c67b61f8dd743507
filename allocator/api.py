"""The Python API: load, solve, check.  The CLI is a thin layer over these functions."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from allocator.backends.common import ProgressCallback, StopToken
from allocator.instance import Instance
from allocator.io import load_instance
from allocator.result import SolveResult

log = logging.getLogger(__name__)

BACKENDS = ("cpsat", "cbc", "highs")


def _backend(name: str) -> Callable[..., SolveResult]:
    if name == "cpsat":
        from allocator.backends.cpsat.solver import solve as cpsat_solve

        return cpsat_solve
    if name in ("cbc", "highs"):
        from allocator.backends.milp.solver import solve as milp_solve

        return functools.partial(milp_solve, solver_name=name)
    raise ValueError(f"unknown backend '{name}' (available: {', '.join(BACKENDS)})")


def solve(
    instance: Instance | str | Path,
    *,
    backend: str = "cpsat",
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    stop: StopToken | None = None,
    log_search: bool = False,
    formulation: str = "auto",
) -> SolveResult:
    """Solve an instance (or the file it is in) and return a :class:`SolveResult`.

    `time_limit` (seconds) covers every lexicographic level together; `threads` is the number of
    search workers (1 gives the same plan on every run); `seed` fixes the solver's randomness;
    `formulation` is "tours" (a variable per feasible tour), "flow" (deployed and started units per
    offer, task and period; much smaller on long horizons) or "auto" (flow above 50,000 tours).
    Ctrl-C (KeyboardInterrupt) or ``stop.stop()`` ends the search and returns the best plan so far.
    """
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    run = _backend(backend)
    stop = stop or StopToken()
    outcome: dict[str, SolveResult] = {}
    failure: list[BaseException] = []
    done = threading.Event()

    def work() -> None:
        try:
            outcome["result"] = run(
                instance,
                time_limit=time_limit,
                threads=threads,
                seed=seed,
                progress=progress,
                stop=stop,
                log_search=log_search,
                formulation=formulation,
            )
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
        except KeyboardInterrupt:
            log.warning("interrupted: stopping the search and keeping the best plan found")
            stop.stop()
    worker.join()
    if failure:
        raise failure[0]
    return outcome["result"]
