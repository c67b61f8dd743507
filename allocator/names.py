"""Rule-instance names, written in one place: ``rule[entity@period]`` (``docs/rules.md``).

The same names label the model's rows, the checker's findings and explanations (a module of its
own, below both the formulation and the checker, which share nothing else).
"""

from __future__ import annotations


def _name(rule: str, entity: str, period: int | None = None) -> str:
    return f"{rule}[{entity}]" if period is None else f"{rule}[{entity}@{period}]"


def unit_capacity(offer: str, period: int) -> str:
    return _name("unit-capacity", offer, period)


def tour_length(offer: str, task: str, period: int) -> str:
    return _name("tour-length", f"{offer}>{task}", period)


def tour_flow(offer: str, task: str, period: int) -> str:
    return _name("tour-flow", f"{offer}>{task}", period)


def personnel_cap(nation: str, period: int) -> str:
    return _name("personnel-cap", nation, period)


def budget(nation: str) -> str:
    return _name("budget", nation)


def nation_presence(nation: str, task: str, period: int) -> str:
    return _name("nation-presence", f"{nation}>{task}", period)


def max_nations(task: str, period: int) -> str:
    return _name("max-nations", task, period)


def min_nations(task: str, period: int) -> str:
    return _name("min-nations", task, period)


def lead_one(task: str, term: int) -> str:
    return _name("lead-one", f"{task}#{term}")


def lead_first(task: str) -> str:
    return _name("lead-first", task)


def lead_rotate(task: str, term: int) -> str:
    return _name("lead-rotate", f"{task}#{term}")


def lead_contribution(task: str, nation: str, period: int) -> str:
    return _name("lead-contribution", f"{task}>{nation}", period)


def demand(task: str, capability: str, period: int) -> str:
    return _name("demand", f"{task}:{capability}", period)


def demand_cap(task: str, capability: str, period: int) -> str:
    return _name("demand-cap", f"{task}:{capability}", period)


def history(offer: str, task: str, start: int) -> str:
    return _name("history", f"{offer}>{task}", start)


def history_lead(task: str, term: int) -> str:
    return _name("history", f"{task}#{term}")
