"""The independent checker: every rule of SPEC section 3 and every objective, from the solution alone.

It shares no code with model building; it reads the validated instance and a solution document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.checker.rules import CHECKS, Facts, Violation, recompute_objectives
from allocator.checker.solution import Solution, parse_solution
from allocator.errors import InputError, Problem
from allocator.instance import Instance
from allocator.io import load_document

__all__ = ["CheckReport", "Violation", "check", "check_file", "require_same_instance"]


@dataclass(frozen=True)
class CheckReport:
    """Violations found (empty when the plan is valid) and the objectives recomputed."""

    violations: tuple[Violation, ...]
    objectives: dict[str, float]
    status: str

    @property
    def ok(self) -> bool:
        return not self.violations

    def __str__(self) -> str:
        if self.ok:
            return "ok"
        return "\n".join(str(v) for v in self.violations)


def check(instance: Instance, solution: Any, label: str = "<solution>") -> CheckReport:
    """Check a solution (a SPEC section 4 mapping, or a SolveResult) against an instance."""
    if hasattr(solution, "to_json"):
        solution = solution.to_json()
    parsed = parse_solution(solution, label)
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
    """The parsed solution; :class:`InputError` (bad input, exit 2) if it belongs to another instance."""
    parsed = parse_solution(document, label)
    other = other_instance(instance, parsed)
    if other:
        raise InputError(label, [Problem("instance", other)])
    return parsed


def check_file(instance: Instance, path: str | Path) -> CheckReport:
    """Check the solution file at `path`; :class:`InputError` if it is unreadable or belongs to
    another instance."""
    document, label = load_document(path)
    require_same_instance(instance, document, label)
    return check(instance, document, label)
