"""Why a task stays short: for every run of short periods of a task and capability, why each offer
of that capability does not serve there, and the extra units that would close the gap."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from allocator.explanations.reasons import Facts, Reason, plan_reason
from allocator.instance.parts import Offer, Task
from allocator.solution.plan import Shortfall
from allocator.solution.summary import consecutive_runs

NATIONS = "(nations)"


def explain_shortfalls(facts: Facts, gaps: list[Shortfall]) -> list[dict[str, Any]]:
    """One entry per run of consecutive short periods of a task and capability (or of missing
    nations), in task order."""
    grouped: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for s in gaps:
        what = s.capability if s.capability is not None else NATIONS
        grouped[s.task, what][s.period] = s.units if s.capability is not None else s.nations
    order = {t.id: i for i, t in enumerate(facts.instance.tasks)}
    out = []
    for (task_id, what), missing in sorted(grouped.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        task = facts.tasks[task_id]
        for a, b in consecutive_runs(list(missing)):
            worst = max(missing[p] for p in range(a, b + 1))
            entry: dict[str, Any] = {
                "task": task_id,
                "capability": None if what == NATIONS else what,
                "periods": [a, b],
                "labels": [facts.labels[a - 1], facts.labels[b - 1]],
            }
            if what == NATIONS:
                entry["nations"] = sum(missing[p] for p in range(a, b + 1))
                entry["needed"] = {"nations": worst, "periods": [a, b]}
            else:
                entry["units"] = sum(missing[p] for p in range(a, b + 1))
                entry["needed"] = {"units": worst, "periods": [a, b]}
            entry["reasons"] = [r.to_json() for r in _reasons(facts, task, what, a, b)]
            entry["text"] = _summary(facts, task, what, a, b, worst)
            out.append(entry)
    return out


def _candidates(facts: Facts, task: Task, what: str, a: int) -> list[Offer]:
    if what != NATIONS:
        return [o for o in facts.instance.offers if o.capability == what]
    present = facts.present.get((task.id, a), set())
    needed = {r.capability for r in task.requirements}
    return [o for o in facts.instance.offers if o.capability in needed and o.nation not in present]


def _reasons(facts: Facts, task: Task, what: str, a: int, b: int) -> list[Reason]:
    """Per offer, its reason in each period of the run; periods with the same reason merged."""
    out: list[Reason] = []
    for offer in _candidates(facts, task, what, a):
        by_code: dict[str, list[tuple[int, Reason]]] = defaultdict(list)
        for p in range(a, b + 1):
            reason = plan_reason(facts, offer, task, p)
            by_code[reason.reason].append((p, reason))
        for code, found in by_code.items():
            periods = [p for p, _ in found]
            where = ", ".join(facts.span(x, y) for x, y in consecutive_runs(periods))
            first = "" if len(found) == 1 else " (as in the first of them)"
            text = f"{where}: {found[0][1].text}{first}"
            out.append(Reason(offer.id, code, text, tuple(periods)))
    return out


def _summary(facts: Facts, task: Task, what: str, a: int, b: int, worst: int) -> str:
    span = facts.span(a, b)
    if what == NATIONS:
        return f"{task.id} lacks {worst} nation(s) in {span}: another nation's unit there would close it"
    return (
        f"{task.id} lacks up to {worst} {what} unit(s) in {span}: {worst} more unit(s) of {what} "
        f"available over {span} would close it"
    )
