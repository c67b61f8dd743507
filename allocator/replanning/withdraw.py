"""A withdrawal said in the data (SPEC v2 sections 7 and 8): a nation, or one offer, serves no
more from period ``P`` on.

The offers concerned end their availability at ``P - 1``; an offer left with no period is dropped
(it had no history either); a withdrawn nation leaves every lead's ``nations`` (and ``first``),
and a lead with no nation left goes, said in the notes.  Everything else is kept as it was, so a
planner can re-plan the real event with ``allocator replan``.
"""

from __future__ import annotations

from dataclasses import dataclass

from allocator.errors import InputError, Problem, did_you_mean
from allocator.instance.model import IN_CODE, Instance
from allocator.instance.parts import Offer, Task


@dataclass(frozen=True)
class Withdrawal:
    """The instance after a withdrawal, what was withdrawn, and what else it changed (notes)."""

    instance: Instance
    kind: str  # "nation" or "offer"
    id: str
    start: int
    notes: tuple[str, ...]


def withdraw(instance: Instance, who: str, start: int, *, kind: str | None = None) -> Withdrawal:
    """`instance` with nation or offer `who` withdrawn from period `start` (1..periods) on.

    `kind` ("nation" or "offer") says which `who` names; by default a nation's id first, then an
    offer's.  :class:`InputError` for an unknown id or period.
    """
    kind = kind or _kind_of(instance, who)
    if not 1 <= start <= instance.periods:
        raise InputError(IN_CODE, [Problem("from", f"{start} is not a period of 1..{instance.periods}")])
    nations = {n.id for n in instance.nations}
    offers_of = {o.id for o in instance.offers}
    if (kind == "nation" and who not in nations) or (kind == "offer" and who not in offers_of):
        known = sorted(nations if kind == "nation" else offers_of)
        raise InputError(
            IN_CODE,
            [Problem("", f"no {kind} '{who}' in instance '{instance.name}'{did_you_mean(who, known)}")],
        )
    notes: list[str] = []
    offers = []
    for offer in instance.offers:
        if (offer.nation if kind == "nation" else offer.id) != who:
            offers.append(offer)
            continue
        cut = _cut(offer, start, instance.periods)
        if cut is None:
            notes.append(f"offer {offer.id} dropped: it had no period before {start}")
        else:
            offers.append(cut)
    tasks = (
        [_without_lead_nation(task, who, start, notes) for task in instance.tasks]
        if kind == "nation"
        else list(instance.tasks)
    )
    changed = instance.replace(offers=tuple(offers), tasks=tuple(tasks))
    return Withdrawal(changed, kind, who, start, tuple(notes))


def _kind_of(instance: Instance, who: str) -> str:
    if any(n.id == who for n in instance.nations):
        return "nation"
    if any(o.id == who for o in instance.offers):
        return "offer"
    ids = [n.id for n in instance.nations] + [o.id for o in instance.offers]
    message = f"'{who}' is neither a nation nor an offer of '{instance.name}'{did_you_mean(who, ids)}"
    raise InputError(IN_CODE, [Problem("", message)])


def _cut(offer: Offer, start: int, periods: int) -> Offer | None:
    """The offer available until `start` - 1 at the latest; None when nothing is left."""
    first, last = offer.available or (1, periods)
    if first >= start:
        return None
    return offer.model_copy(update={"available": (first, min(last, start - 1))})


def _without_lead_nation(task: Task, nation: str, start: int, notes: list[str]) -> Task:
    lead = task.lead
    if lead is None or nation not in lead.nations:
        return task
    left = tuple(n for n in lead.nations if n != nation)
    if not left:
        notes.append(f"task {task.id} has no lead from {start}: {nation} was its only eligible nation")
        return task.model_copy(update={"lead": None})
    update: dict[str, object] = {"nations": left}
    if lead.first == nation:
        update["first"] = None
        notes.append(f"task {task.id}: {nation} no longer leads first")
    return task.model_copy(update={"lead": lead.model_copy(update=update)})
