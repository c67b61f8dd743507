"""The instance of the leads alone: the tasks with a lead and the offers of their eligible nations.

With demand soft, it is a relaxation of the whole instance: every plan of the whole, cut down to
those tasks and offers, is one of its plans, and every plan of it is a plan of the whole (nothing
else need deploy: every other rule only limits).  So a lead plan found there extends to a plan
of the whole instance (:mod:`allocator.backends.skeleton`), and a conflict found there, or a
relaxation that makes it feasible, holds for the whole instance (:mod:`allocator.explanations`).
"""

from __future__ import annotations

from allocator.instance.index import Index
from allocator.instance.model import Instance
from allocator.instance.spec import ModelSpec

#: The objective of the leads' own instance: few tours (each lead's contribution in long tours).
LEAD_OBJECTIVES = ("deployments",)


def lead_instance(instance: Instance) -> Instance | None:
    """The leads' own instance: the tasks with a lead, the offers of each such task's eligible
    nations restricted to the lead tasks they may serve, soft demand; None without leads."""
    index = Index.of(instance)
    led = [t for t, task in enumerate(instance.tasks) if task.lead is not None]
    if not led:
        return None
    eligible = {t: set(instance.tasks[t].lead.nations) for t in led}  # type: ignore[union-attr]
    offers = []
    for o, offer in enumerate(instance.offers):
        serves = tuple(
            instance.tasks[t].id for t in led if offer.nation in eligible[t] and (o, t) in index.serve
        )
        if serves:
            offers.append(offer.model_copy(update={"tasks": serves}))
    spec = ModelSpec(name="leads", shortfall="soft", objectives=LEAD_OBJECTIVES)
    return instance.replace(
        name=f"{instance.name[:180]}-leads",
        tasks=tuple(instance.tasks[t] for t in led),
        offers=tuple(offers),
        model=spec,
    )
