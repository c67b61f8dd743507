"""The result of a solve: status, objectives, bounds, the plan and timings (``docs/solution-format.md``)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.files import write_atomic
from allocator.instance.formats import instance_digest
from allocator.instance.model import Instance
from allocator.options import Status
from allocator.solution.plan import Assignment, LeadTerm, Shortfall
from allocator.solution.summary import assignments_table

#: Exit codes of `allocator solve` by status (``docs/exit-codes.md``).
EXIT_CODES: dict[Status, int] = {
    Status.OPTIMAL: 0,
    Status.FEASIBLE: 0,
    Status.INFEASIBLE: 3,
    Status.UNKNOWN: 4,
}


@dataclass(frozen=True)
class LevelResult:
    """One lexicographic level: its key, value, proven lower bound, status and time.

    `key` names the level's objectives joined by '+'; `value` is the level's value in the final
    plan, `bound` the best lower bound proven given the levels before it (None: none), and
    `wall_time` the seconds spent on the level."""

    key: str
    status: Status
    value: float | None
    bound: float | None
    wall_time: float

    def __post_init__(self) -> None:
        # a bound a solver did not prove (-inf, nan) is no bound: JSON has no infinities
        if self.bound is not None and not math.isfinite(self.bound):
            object.__setattr__(self, "bound", None)

    def to_json(self) -> dict[str, Any]:
        """The level as the solution document's ``solver.levels`` has it."""
        return {
            "objective": self.key,
            "status": self.status,
            "value": self.value,
            "bound": self.bound,
            "wall_time": round(self.wall_time, 3),
        }


#: The `formulation` of a result whose model was never built (the first plan is the answer).
NO_MODEL = "none"


@dataclass(frozen=True)
class SolveResult:
    """What :func:`allocator.solve` returns; ``to_json()`` gives the solution format of
    ``docs/solution-format.md``.

    `instance` is the instance's name, `status` the outcome, `backend` the solver; with a plan,
    `objectives` holds every objective's value, `assignments` the tours of single units, `leads`
    the lead of every term and `shortfalls` every uncovered requirement and missing nation.
    `levels` gives each lexicographic level's status, value and bound; `build_time` and
    `wall_time` are seconds (model building, and the whole solve); `interrupted` says the search
    was stopped (Ctrl-C or a :class:`StopToken`); `formulation` is "tours" or "flow" ("none" when
    no model was built: the time limit or a stop came first, or the leads alone were infeasible);
    `first_plan_time` the seconds from the start until the greedy first plan was in hand (None:
    the greedy found none); `settings` the seed, threads and time limit the solve ran with;
    `problem` is the instance solved (not written to the solution file).
    """

    instance: str
    status: Status
    backend: str
    objectives: dict[str, float] = field(default_factory=dict)
    levels: tuple[LevelResult, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    leads: tuple[LeadTerm, ...] = ()
    shortfalls: tuple[Shortfall, ...] = ()
    build_time: float = 0.0
    wall_time: float = 0.0
    interrupted: bool = False
    formulation: str = "tours"
    first_plan_time: float | None = None
    #: the run's settings, to repeat it: ``{"seed": 0, "threads": 2, "time_limit": 60.0}``
    settings: dict[str, Any] = field(default_factory=dict)
    problem: Instance | None = field(default=None, repr=False, compare=False)
    #: a re-plan's record (``{"baseline": NAME, "from": P, "baseline_digest": ...}``), None otherwise
    replan: dict[str, Any] | None = None
    #: a re-plan's changes against its baseline (SPEC section 7)
    changes: tuple[dict[str, Any], ...] = ()

    @property
    def has_plan(self) -> bool:
        """Whether the result holds a plan (status optimal or feasible)."""
        return Status(self.status).has_plan

    @property
    def bounds(self) -> dict[str, float]:
        """Best proven lower bound of each level solved, given the levels before it."""
        return {lv.key: lv.bound for lv in self.levels if lv.bound is not None}

    @property
    def exit_code(self) -> int:
        """The exit code `allocator solve` ends with for this result."""
        return EXIT_CODES[Status(self.status)]

    def assignments_frame(self) -> pd.DataFrame:
        """The tours as a DataFrame, as the report's `assignments` sheet has them: nation, offer,
        unit, capability, task, start, end, from and to (period labels such as 2027-03), periods,
        personnel (per period deployed) and cost (of the whole tour)."""
        if self.problem is None:
            raise ValueError("this result does not hold its instance: use summary.assignments_table")
        return assignments_table(self.problem, self.assignments)

    def to_json(self) -> dict[str, Any]:
        """The solution document (``docs/solution-format.md``) as a dictionary."""
        solver: dict[str, Any] = {
            "backend": self.backend,
            "wall_time": round(self.wall_time, 3),
            "bounds": self.bounds,
            "build_time": round(self.build_time, 3),
            "formulation": self.formulation,
            "levels": [lv.to_json() for lv in self.levels],
            "interrupted": self.interrupted,
        }
        if self.first_plan_time is not None:
            solver["first_plan_time"] = round(self.first_plan_time, 3)
        solver.update(self.settings)
        if self.problem is not None:
            solver["instance_digest"] = instance_digest(self.problem)
        out: dict[str, Any] = {"instance": self.instance, "status": self.status}
        if self.replan is not None:
            out["replan"] = self.replan
        if self.has_plan:
            out["objectives"] = self.objectives
            out["assignments"] = [vars(a) for a in self.assignments]
            out["leads"] = [vars(lead) for lead in self.leads]
            out["shortfalls"] = [s.to_json() for s in self.shortfalls]
            if self.replan is not None:
                out["changes"] = list(self.changes)
        out["solver"] = solver
        return out

    def dumps(self) -> str:
        """The solution document as indented JSON text."""
        return json.dumps(self.to_json(), indent=2) + "\n"

    def write(self, path: str | Path) -> None:
        """Write the solution JSON atomically (temporary file, then rename)."""
        write_atomic(path, self.dumps())


#: Called with the plan in hand (a :class:`SolveResult` of status feasible) each time a solve has a
#: new one: its first plan, then at the end of each level (a service keeps them as they come).
PlanCallback = Callable[[SolveResult], None]
