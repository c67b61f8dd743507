"""The independent checker: every rule of SPEC section 3 and every objective, from the solution alone.

It shares no code with model building; it reads the validated instance and a solution document.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.checker.rules import CHECKS, Facts, Violation, recompute_objectives
from allocator.checker.solution import parse_solution
from allocator.instance import Instance
from allocator.io import load_document

__all__ = ["CheckReport", "Violation", "check", "check_file"]


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
    if parsed.instance and parsed.instance != instance.name:
        violations.append(
            Violation("reference", f"solution is for instance '{parsed.instance}', not '{instance.name}'")
        )
    if not parsed.has_plan:
        if parsed.tours:
            violations.append(Violation("report", f"status '{parsed.status}' but the file holds a plan"))
        return CheckReport(tuple(violations), {}, parsed.status)
    facts = Facts(instance, parsed)
    for rule, function in CHECKS.items():
        violations.extend(Violation(rule, message) for message in function(facts))
    return CheckReport(tuple(violations), recompute_objectives(facts), parsed.status)


def check_file(instance: Instance, path: str | Path) -> CheckReport:
    document, label = load_document(path)
    return check(instance, document, label)
