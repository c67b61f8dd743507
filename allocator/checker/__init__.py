"""The independent checker: every rule of ``docs/rules.md`` and every objective, from the solution alone.

It shares no code with model building; it reads the validated instance and a solution document.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.checker.rules import CHECKS, Facts, Named, Violation, recompute_objectives
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


def check(instance: Instance, solution: Any, label: str = "<solution>", baseline: Any = None) -> CheckReport:
    """Check a solution (a solution document as ``docs/solution-format.md`` has it, or a
    SolveResult) against an instance; a re-plan against its `baseline` (a solution document,
    result or file) too."""
    if hasattr(solution, "to_json"):
        solution = solution.to_json()
    base_label = "<baseline>"
    if hasattr(baseline, "to_json"):
        baseline = baseline.to_json()
    elif isinstance(baseline, str | Path):
        baseline, base_label = load_document(baseline)
    parsed = parse_solution(solution, label)
    base = None if baseline is None else parse_solution(baseline, base_label)
    return evaluate(instance, parsed, with_baseline(parsed, base, label, base_label))


def with_baseline(
    parsed: Solution, baseline: Solution | None, label: str, baseline_label: str
) -> Solution | None:
    """The baseline a solution is checked with: required for a re-plan (SPEC section 7: checked
    without it is an error, not a pass), refused for a plan that is no re-plan, and the one the
    re-plan names (its plan digest)."""
    if parsed.replan is not None and baseline is None:
        raise InputError(
            label,
            [
                Problem(
                    "replan",
                    f"a re-plan from period {parsed.replan.start}: check it with its baseline (--baseline)",
                )
            ],
        )
    if baseline is None:
        return None
    if parsed.replan is None:
        raise InputError(
            label, [Problem("", "is not a re-plan (no 'replan' record): check it without a baseline")]
        )
    if not baseline.has_plan:
        raise InputError(
            baseline_label, [Problem("status", f"'{baseline.status}': the baseline holds no plan")]
        )
    digest = parsed.replan.digest
    if digest is not None and digest != baseline_digest(baseline):
        raise InputError(
            baseline_label,
            [Problem("", f"is not the baseline of this re-plan (which names '{parsed.replan.baseline}')")],
        )
    return baseline


def baseline_digest(parsed: Solution) -> str:
    """SHA-256 of a plan's tours and leads in a canonical order (first 16 hex digits): how a re-plan
    names the plan it was made from."""
    tours = sorted((t.offer, t.unit, t.task, t.start, t.end) for t in parsed.tours)
    terms = sorted((t.task, t.nation, t.start, t.end) for t in parsed.terms)
    text = json.dumps([tours, terms], separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def evaluate(instance: Instance, parsed: Solution, baseline: Solution | None = None) -> CheckReport:
    """Every rule and every objective of a parsed solution (of a re-plan, with its baseline)."""
    violations: list[Violation] = []
    other = other_instance(instance, parsed)
    if other:  # nothing else is worth checking: every rule would be read against the wrong data
        return CheckReport((Violation("reference", other),), {}, parsed.status)
    if not parsed.has_plan:
        if parsed.tours:
            violations.append(Violation("report", f"status '{parsed.status}' but the file holds a plan"))
        return CheckReport(tuple(violations), {}, parsed.status)
    facts = Facts(instance, parsed, baseline)
    for rule, function in CHECKS.items():
        for finding in function(facts):
            if isinstance(finding, Named):
                violations.append(Violation(rule, finding.text, finding.name))
            else:
                violations.append(Violation(rule, finding))
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


def check_file(instance: Instance, path: str | Path, baseline: str | Path | None = None) -> CheckReport:
    """Check the solution file at `path` (a re-plan with its `baseline` file); :class:`InputError`
    if either is unreadable, or the solution belongs to another instance."""
    document, label = load_document(path)
    parsed = require_same_instance(instance, document, label)
    base = None
    if baseline is not None:
        base_document, base_label = load_document(baseline)
        base = with_baseline(parsed, parse_solution(base_document, base_label), label, base_label)
    else:
        with_baseline(parsed, None, label, "")
    return evaluate(instance, parsed, base)
