"""The baseline of a re-plan, read and checked (SPEC v2 section 7, ``docs/replanning.md``).

Periods before ``from`` are history: the baseline's tours and leads there are kept exactly, so
every offer, unit, task and nation the history names must still exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.checker import baseline_digest
from allocator.checker.solution import Solution, parse_solution
from allocator.errors import InputError, Problem
from allocator.files import load_document
from allocator.instance.model import Instance


@dataclass(frozen=True)
class History:
    """A baseline checked against the instance it is re-planned with, from period `start` on
    (the split into history and plan is :class:`allocator.formulation.history.PlanHistory`'s)."""

    baseline: Solution
    #: how the baseline is named in the re-plan's ``replan`` record (its file name, or its instance)
    name: str
    #: a fingerprint of the baseline's plan, so a check can tell the right baseline from another
    digest: str
    start: int


def read_baseline(source: str | Path | dict[str, Any] | Any) -> tuple[dict[str, Any], str]:
    """A baseline solution document and its label: a file, a document, or a solve result."""
    if isinstance(source, str | Path):
        document, label = load_document(source)
        return document, label
    if hasattr(source, "to_json"):
        return source.to_json(), "<baseline>"
    return source, "<baseline>"


def history_of(instance: Instance, baseline: Any, start: int, label: str = "<baseline>") -> History:
    """The history of `baseline` (a solution document) before period `start`, checked against
    `instance`: :class:`InputError` naming every place of the history that names something gone."""
    check_start(instance, start)
    parsed = parse_solution(baseline, label)
    if not parsed.has_plan:
        raise InputError(label, [Problem("status", f"'{parsed.status}': the baseline holds no plan")])
    problems = _gone(instance, parsed, start)
    if problems and parsed.instance and parsed.instance != instance.name:
        other = f"the baseline is a plan of instance '{parsed.instance}', not '{instance.name}'"
        problems.insert(0, Problem("instance", other))
    if problems:
        raise InputError(label, problems)
    name = Path(label).name if label != "<baseline>" else parsed.instance
    return History(parsed, name, baseline_digest(parsed), start)


def check_start(instance: Instance, start: int) -> None:
    """:class:`InputError` unless `start` (a re-plan's ``from``) is a period of 2..periods."""
    if not 2 <= start <= instance.periods:
        raise InputError("--from", [Problem("", f"{start} is not a period of 2..{instance.periods}")])


def _gone(instance: Instance, parsed: Solution, start: int) -> list[Problem]:
    offers = {o.id: o for o in instance.offers}
    tasks = {t.id for t in instance.tasks}
    nations = {n.id for n in instance.nations}
    problems = []
    for tour in parsed.tours:
        if tour.end > instance.periods or tour.start < 1 or tour.start > tour.end:
            problems.append(
                Problem(tour.where, f"periods {tour.start}-{tour.end} outside 1..{instance.periods}")
            )
            continue
        if tour.start >= start:
            continue  # not history: a tour that is gone is a change
        offer = offers.get(tour.offer)
        if offer is None:
            problems.append(
                Problem(f"{tour.where}.offer", f"offer '{tour.offer}' of the history is not in the instance")
            )
        elif not 1 <= tour.unit <= offer.units:
            problems.append(
                Problem(
                    f"{tour.where}.unit",
                    f"unit {tour.unit} of the history: offer '{tour.offer}' has {offer.units}",
                )
            )
        if tour.task not in tasks:
            problems.append(
                Problem(f"{tour.where}.task", f"task '{tour.task}' of the history is not in the instance")
            )
    for term in parsed.terms:
        if term.start >= start:
            continue
        if term.task not in tasks:
            problems.append(
                Problem(f"{term.where}.task", f"task '{term.task}' of the history is not in the instance")
            )
        if term.nation not in nations:
            problems.append(
                Problem(
                    f"{term.where}.nation", f"nation '{term.nation}' of the history is not in the instance"
                )
            )
    return problems
