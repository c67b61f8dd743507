"""Rule instances in a planner's words: what each says (with the data behind it), and the change
to the data that drops it.

Names are parsed back into ids with the instance's own ids (an id may contain any character).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from allocator.explanations.model import family
from allocator.explanations.reasons import Facts, data_reason
from allocator.instance.parts import Task


@dataclass(frozen=True)
class Parsed:
    """A rule-instance name in parts: the rule, its ids and its period or term."""

    rule: str
    task: str | None = None
    nation: str | None = None
    offer: str | None = None
    capability: str | None = None
    period: int | None = None
    term: int | None = None


def parse(name: str, facts: Facts) -> Parsed:
    """``rule[entity@period]`` back into its parts."""
    rule = family(name)
    entity = name[len(rule) + 1 : -1]
    period = None
    if rule not in ("budget", "lead-first", "lead-one", "lead-rotate"):
        entity, _, at = entity.rpartition("@")
        period = int(at)
    if rule in ("lead-one", "lead-rotate"):
        task, _, term = entity.rpartition("#")
        return Parsed(rule, task=task, term=int(term))
    if rule in ("personnel-cap", "budget"):
        return Parsed(rule, nation=entity, period=period)
    if rule == "unit-capacity":
        return Parsed(rule, offer=entity, period=period)
    if rule in ("max-nations", "min-nations", "lead-first"):
        return Parsed(rule, task=entity, period=period)
    if rule == "demand":
        task, capability = _split(entity, ":", facts.tasks)
        return Parsed(rule, task=task, capability=capability, period=period)
    if rule == "tour-length":
        offer, task = _split(entity, ">", facts.offers)
        return Parsed(rule, offer=offer, task=task, period=period)
    if rule == "lead-contribution":
        task, nation = _split(entity, ">", facts.tasks)
        return Parsed(rule, task=task, nation=nation, period=period)
    raise ValueError(f"not a rule instance an explanation names: {name}")


def _split(entity: str, sep: str, known: dict[str, Any]) -> tuple[str, str]:
    """Split at the `sep` whose left part is a known id."""
    at = entity.find(sep)
    while at >= 0:
        if entity[:at] in known:
            return entity[:at], entity[at + 1 :]
        at = entity.find(sep, at + 1)
    left, _, right = entity.partition(sep)
    return left, right


# what a rule instance says --------------------------------------------------------------------
def says(name: str, facts: Facts) -> str:
    item = parse(name, facts)
    return SAYS[item.rule](item, facts)


def _task(facts: Facts, task_id: str | None) -> Task:
    assert task_id is not None
    return facts.tasks[task_id]


def _task_name(task: Task) -> str:
    return f"{task.id} ({task.name})" if task.name else task.id


def _term_span(facts: Facts, task: Task, k: int) -> str:
    assert task.lead is not None
    lo, hi = task.active or (1, facts.T)
    first = lo + k * task.lead.term
    return facts.span(first, min(first + task.lead.term - 1, hi))


def _offers_of(
    facts: Facts, task: Task, p: int, capability: str | None = None, nation: str | None = None
) -> str:
    """The offers that could serve `task` in p, and why each of the others cannot."""
    lines = []
    for offer in facts.instance.offers:
        if capability is not None and offer.capability != capability:
            continue
        if nation is not None and offer.nation != nation:
            continue
        if capability is None and not any(r.capability == offer.capability for r in task.requirements):
            continue
        reason = data_reason(facts, offer, task, p)
        units = f"{offer.units} unit{'' if offer.units == 1 else 's'}"
        lines.append(f"{offer.id} ({units}) could serve" if reason is None else reason.text)
    return "; ".join(lines) if lines else "no offer at all"


def _demand(item: Parsed, facts: Facts) -> str:
    task, p = _task(facts, item.task), item.period or 1
    need = int(facts.index.demand[facts.index.task_pos[task.id]][item.capability or ""][p])
    return (
        f"{_task_name(task)} requires {need} {item.capability} unit(s) in {facts.label(p)} (hard demand). "
        f"Offers of {item.capability}: {_offers_of(facts, task, p, capability=item.capability)}"
    )


def _min_nations(item: Parsed, facts: Facts) -> str:
    task, p = _task(facts, item.task), item.period or 1
    return (
        f"{_task_name(task)} needs units of at least {task.min_nations} nations in {facts.label(p)} "
        f"(hard). Offers: {_offers_of(facts, task, p)}"
    )


def _max_nations(item: Parsed, facts: Facts) -> str:
    task, p = _task(facts, item.task), item.period or 1
    return f"at most {task.max_nations} nation(s) may serve {_task_name(task)} in {facts.label(p)}"


def _personnel(item: Parsed, facts: Facts) -> str:
    nation = facts.nations[item.nation or ""]
    cap, p = nation.max_personnel, item.period or 1
    return f"{nation.label} deploys at most {cap:g} personnel in {facts.label(p)}"


def _budget(item: Parsed, facts: Facts) -> str:
    nation = facts.nations[item.nation or ""]
    return f"{nation.label}'s units cost at most its budget of {nation.budget:g} over the horizon"


def _unit_capacity(item: Parsed, facts: Facts) -> str:
    offer = facts.offers[item.offer or ""]
    return (
        f"{facts.offer_name(offer)} has {offer.units} unit(s), each resting {max(1, offer.min_rest)} "
        f"period(s) after a tour: at most {offer.units} deployed or resting in "
        f"{facts.label(item.period or 1)}"
    )


def _tour_length(item: Parsed, facts: Facts) -> str:
    offer, task = facts.offers[item.offer or ""], _task(facts, item.task)
    p = item.period or 1
    longest = f", at most {offer.max_tour}" if offer.max_tour is not None else ""
    run = facts.open_run(offer, task, p)
    where = f"; {facts.span(*run)} is open to it on {task.id}" if run else ""
    return (
        f"tours of {facts.offer_name(offer)} on {task.id} around {facts.label(p)} last at least "
        f"{offer.min_tour} period(s){longest} (unless they end in the last period){where}"
    )


def _lead_one(item: Parsed, facts: Facts) -> str:
    task = _task(facts, item.task)
    assert task.lead is not None and item.term is not None
    return (
        f"one of {', '.join(task.lead.nations)} leads {_task_name(task)} in term {item.term} "
        f"({_term_span(facts, task, item.term)})"
    )


def _lead_first(item: Parsed, facts: Facts) -> str:
    task = _task(facts, item.task)
    assert task.lead is not None
    return f"{task.lead.first} leads the first term of {_task_name(task)} ({_term_span(facts, task, 0)})"


def _lead_rotate(item: Parsed, facts: Facts) -> str:
    task = _task(facts, item.task)
    k = item.term or 0
    return (
        f"the lead of {_task_name(task)} changes after term {k} ({_term_span(facts, task, k)}): "
        f"term {k + 1} has another lead"
    )


def _lead_contribution(item: Parsed, facts: Facts) -> str:
    task, p = _task(facts, item.task), item.period or 1
    assert task.lead is not None
    nation = facts.nations[item.nation or ""]
    return (
        f"{nation.label}, leading {_task_name(task)} in {facts.label(p)}, deploys at least "
        f"{task.lead.contribution} unit(s) there. Its offers: {_offers_of(facts, task, p, nation=nation.id)}"
    )


SAYS: dict[str, Callable[[Parsed, Facts], str]] = {
    "demand": _demand,
    "min-nations": _min_nations,
    "max-nations": _max_nations,
    "personnel-cap": _personnel,
    "budget": _budget,
    "unit-capacity": _unit_capacity,
    "tour-length": _tour_length,
    "lead-one": _lead_one,
    "lead-first": _lead_first,
    "lead-rotate": _lead_rotate,
    "lead-contribution": _lead_contribution,
}
