"""The independent checker: every rule of ``docs/rules.md`` and every objective, from the solution alone.

It shares no code with model building; it reads the validated instance and a solution document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.checker.rules import CHECKS, Facts, Violation, recompute_objectives
from allocator.checker.solution import Solution, parse_solution
from allocator.errors import InputError, Problem, warn_input
from allocator.files import load_document
from allocator.instance.formats import instance_digest
from allocator.instance.model import Instance

__all__ = ["CheckReport", "Violation", "check", "check_file", "require_same_instance"]


@dataclass(frozen=True)
class CheckReport:
    """What the checker found: every rule `violations` (empty when the plan is valid), the
    `objectives` recomputed from the plan itself, and the `status` the solution claims."""

    violations: tuple[Violation, ...]
    objectives: dict[str, float]
    status: str

    @property
    def ok(self) -> bool:
        """Whether the solution breaks no rule."""
        return not self.violations

    def __str__(self) -> str:
        if self.ok:
            return "ok"
        return "\n".join(str(v) for v in self.violations)


def check(instance: Instance, solution: Any, label: str = "<solution>") -> CheckReport:
    """Check a solution (a solution document as ``docs/solution-format.md`` has it, or a
    SolveResult) against an instance."""
    if hasattr(solution, "to_json"):
        solution = solution.to_json()
    return evaluate(instance, parse_solution(solution, label))


def evaluate(instance: Instance, parsed: Solution) -> CheckReport:
    """Every rule and every objective of a parsed solution."""
    violations: list[Violation] = []
    other = other_instance(instance, parsed)
    if other:  # nothing else is worth checking: every rule would be read against the wrong data
        return CheckReport((Violation("reference", other),), {}, parsed.status)
    if not parsed.has_plan:
        if parsed.tours:
            violations.append(Violation("report", f"status '{parsed.status}' but the file holds a plan"))
        return CheckReport(tuple(violations), {}, parsed.status)
    facts = Facts(instance, parsed)
    for rule, function in CHECKS.items():
        violations.extend(Violation(rule, message) for message in function(facts))
    return CheckReport(tuple(violations), recompute_objectives(facts), parsed.status)


def other_instance(instance: Instance, solution: Solution) -> str | None:
    """Why `solution` is not a plan of `instance` (it names another instance), or None."""
    if solution.instance and solution.instance != instance.name:
        return f"the solution is for instance '{solution.instance}', not '{instance.name}'"
    return None


def require_same_instance(instance: Instance, document: Any, label: str) -> Solution:
    """The parsed solution; :class:`InputError` (bad input, exit 2) if it belongs to another
    instance, and an :class:`~allocator.errors.InputWarning` if it was made for other data under
    the same name (its ``solver.instance_digest`` differs: the instance was edited since)."""
    parsed = parse_solution(document, label)
    other = other_instance(instance, parsed)
    if other:
        raise InputError(label, [Problem("instance", other)])
    solver = document.get("solver")  # parse_solution accepts only a mapping
    digest = solver.get("instance_digest") if isinstance(solver, dict) else None
    if isinstance(digest, str) and digest != instance_digest(instance):
        warn_input(
            label,
            "solver.instance_digest",
            f"the plan was made for other data of instance '{instance.name}' (edited since, or another "
            "file of the same name): it is judged against the data given",
        )
    return parsed


def check_file(instance: Instance, path: str | Path) -> CheckReport:
    """Check the solution file at `path`; :class:`InputError` if it is unreadable or belongs to
    another instance."""
    document, label = load_document(path)
    return evaluate(instance, require_same_instance(instance, document, label))
