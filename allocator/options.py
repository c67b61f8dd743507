"""How a solve runs: one options object for the API, the command line and the benchmarks, the
status of a result, progress events and a token that stops a running search."""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: The backends: "auto" (CP-SAT and HiGHS in turn at each level, passing plans), CP-SAT, and the
#: MILP solvers CBC and HiGHS through PuLP.
BACKENDS = ("auto", "cpsat", "cbc", "highs")
#: Formulations: "tours" (a variable per feasible tour), "flow" (deployed and started units per
#: offer, task and period) and "auto" (flow above 50,000 feasible tours).
FORMULATIONS = ("auto", "tours", "flow")


class Status(enum.StrEnum):
    """The outcome of a solve or of one level (a string: ``Status.OPTIMAL == "optimal"``)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


@dataclass(frozen=True)
class SolveOptions:
    """Everything that shapes a solve but the instance.

    `time_limit` (seconds, None for none) covers every lexicographic level together; `threads` is
    the number of search workers (None: every core); `seed` fixes the solvers' randomness;
    `formulation` is one of :data:`FORMULATIONS`; `log_search` writes the solver's own log
    through :mod:`logging`; `first_plan` starts the search from the greedy first plan
    (``docs/objectives.md``; False: from nothing, for comparisons).

    `reproducible` makes the same plan on every run, on any machine load: one thread, CP-SAT
    alone (`backend` auto or cpsat), and `time_limit` counted in CP-SAT's deterministic work
    units (about a second each on a current core) instead of seconds; nothing else that depends on
    the clock (the LP relaxations beside the search, the greedy's deadline).  Without it, a time
    limit stops the search wherever it is, so two runs may differ even with one thread.
    """

    backend: str = "auto"
    time_limit: float | None = None
    threads: int | None = None
    seed: int = 0
    formulation: str = "auto"
    log_search: bool = False
    first_plan: bool = True
    reproducible: bool = False

    def __post_init__(self) -> None:
        self._check_types()
        if self.reproducible:
            if self.threads not in (None, 1):
                raise ValueError(f"the reproducible mode runs one thread, got threads={self.threads}")
            if self.backend not in ("auto", "cpsat"):
                raise ValueError(
                    f"the reproducible mode runs CP-SAT alone (backend auto or cpsat): {self.backend} "
                    "has no deterministic time limit"
                )
            object.__setattr__(self, "threads", 1)
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend '{self.backend}' (available: {', '.join(BACKENDS)})")
        if self.formulation not in FORMULATIONS:
            raise ValueError(
                f"unknown formulation '{self.formulation}' (available: {', '.join(FORMULATIONS)})"
            )
        if self.time_limit is not None and not self.time_limit >= 0:
            raise ValueError(f"time_limit must be at least 0 seconds, got {self.time_limit}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")

    def _check_types(self) -> None:
        """Each option of its type (true and false are not numbers), checked here rather than deep
        inside a solver."""
        expected: dict[str, tuple[type, ...]] = {
            "backend": (str,),
            "time_limit": (int, float, type(None)),
            "threads": (int, type(None)),
            "seed": (int,),
            "formulation": (str,),
            "log_search": (bool,),
            "first_plan": (bool,),
            "reproducible": (bool,),
        }
        for name, types in expected.items():
            value = getattr(self, name)
            numeric = bool not in types and isinstance(value, bool)
            if numeric or not isinstance(value, types):
                kinds = " or ".join("None" if t is type(None) else t.__name__ for t in types)
                raise ValueError(f"{name} must be {kinds}, got {value!r}")

    def replace(self, **changes: Any) -> SolveOptions:
        """A copy with some options changed (checked as on construction)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Progress:
    """A progress event: the `level` being solved (its key), its `level_number` of `levels`, the
    new `incumbent` value or better `bound` (None where an event has none), and `elapsed` seconds
    since the solve started."""

    level: str
    level_number: int
    levels: int
    incumbent: float | None
    bound: float | None
    elapsed: float


ProgressCallback = Callable[[Progress], None]


class Interrupted(Exception):
    """Work stopped before it was done: a stop was asked for, or its deadline passed."""


class StopToken:
    """Asks a running solve to stop and keep its best plan (Ctrl-C, a GUI button, a deadline)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._handlers: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def stopped(self) -> bool:
        """Whether a stop was asked for."""
        return self._event.is_set()

    def stop(self) -> None:
        """Ask the solve to stop; it returns its best plan so far (thread-safe, idempotent)."""
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
        """Forget a handler given to :meth:`register`."""
        with self._lock:
            if handler in self._handlers:
                self._handlers.remove(handler)


@dataclass(frozen=True)
class Watch:
    """What long work (building a model) checks now and then: a stop token and a deadline
    (:func:`time.perf_counter` seconds, None for none)."""

    stop: StopToken
    deadline: float | None = None

    def check(self) -> None:
        """Raise :class:`Interrupted` when a stop was asked for or the deadline has passed."""
        if self.stop.stopped or (self.deadline is not None and time.perf_counter() > self.deadline):
            raise Interrupted
