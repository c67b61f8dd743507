"""Reading a solution document (``docs/solution-format.md``) for the checker, structure only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allocator.errors import InputError, Problem
from allocator.options import Status

STATUSES = tuple(Status)


@dataclass(frozen=True)
class UnitTour:
    offer: str
    unit: int
    task: str
    start: int
    end: int
    where: str


@dataclass(frozen=True)
class Term:
    task: str
    nation: str
    start: int
    end: int
    where: str


@dataclass(frozen=True)
class Replan:
    """A re-planned solution's record: its baseline (name, plan digest) and first planned period."""

    baseline: str
    start: int
    digest: str | None


@dataclass(frozen=True)
class Solution:
    instance: str
    status: str
    objectives: dict[str, float]
    tours: tuple[UnitTour, ...]
    terms: tuple[Term, ...]
    shortfalls: tuple[dict[str, Any], ...]
    replan: Replan | None = None

    @property
    def has_plan(self) -> bool:
        return Status(self.status).has_plan


def _int(item: dict[str, Any], key: str, where: str, problems: list[Problem]) -> int:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(Problem(f"{where}.{key}", f"must be an integer, got {value!r}"))
        return 0  # pragma: no mutate -- a placeholder: the problem recorded makes parse_solution raise
    return value


def _str(item: dict[str, Any], key: str, where: str, problems: list[Problem]) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        problems.append(Problem(f"{where}.{key}", f"must be a string, got {value!r}"))
        return ""  # pragma: no mutate -- a placeholder: the problem recorded makes parse_solution raise
    return value


def _entries(doc: dict[str, Any], key: str, problems: list[Problem]) -> list[tuple[str, dict[str, Any]]]:
    raw = doc.get(key, [])
    if not isinstance(raw, list):
        problems.append(Problem(key, "must be a list"))
        return []
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            out.append((f"{key}[{i}]", item))
        else:
            problems.append(Problem(f"{key}[{i}]", "must be a mapping"))
    return out


def parse_solution(doc: Any, label: str) -> Solution:
    """The solution's structure, or an InputError naming every malformed place."""
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        raise InputError(label, [Problem("", "a solution must be a JSON object")])
    if "nations" in doc and "status" not in doc:
        raise InputError(label, [Problem("", "this is an instance, not a solution (which has 'status')")])
    status = doc.get("status")
    if status not in STATUSES:
        problems.append(Problem("status", f"must be one of {', '.join(STATUSES)}, got {status!r}"))
    objectives = doc.get("objectives", {})
    if not isinstance(objectives, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in objectives.values()
    ):
        problems.append(Problem("objectives", "must map objective names to numbers"))
        objectives = {}  # pragma: no mutate -- a placeholder: the problem recorded makes this raise
    tours = tuple(
        UnitTour(
            _str(a, "offer", w, problems),
            _int(a, "unit", w, problems),
            _str(a, "task", w, problems),
            _int(a, "start", w, problems),
            _int(a, "end", w, problems),
            w,
        )
        for w, a in _entries(doc, "assignments", problems)
    )
    terms = tuple(
        Term(
            _str(a, "task", w, problems),
            _str(a, "nation", w, problems),
            _int(a, "start", w, problems),
            _int(a, "end", w, problems),
            w,
        )
        for w, a in _entries(doc, "leads", problems)
    )
    shortfalls = tuple(item for _, item in _entries(doc, "shortfalls", problems))
    replan = _replan(doc.get("replan"), problems)
    if problems:
        raise InputError(label, problems)
    return Solution(
        str(doc.get("instance", "")), str(status), dict(objectives), tours, terms, shortfalls, replan
    )


def _replan(record: Any, problems: list[Problem]) -> Replan | None:
    """The ``replan`` record (SPEC section 7): ``{"baseline": NAME, "from": P}`` and a digest."""
    if record is None:
        return None
    if not isinstance(record, dict):
        problems.append(Problem("replan", "must be a mapping with 'baseline' and 'from'"))
        return None
    start = _int(record, "from", "replan", problems)
    baseline = _str(record, "baseline", "replan", problems)
    digest = record.get("baseline_digest")
    if digest is not None and not isinstance(digest, str):
        problems.append(Problem("replan.baseline_digest", f"must be a string, got {digest!r}"))
        digest = None
    return Replan(baseline, start, digest)
