"""The whole linear model of an instance: columns, rule rows and objectives, in a fixed order."""

from __future__ import annotations

from allocator.formulation.history import PlanHistory, ReplanTourStructure
from allocator.formulation.linear import LinearModel
from allocator.formulation.objectives import OBJECTIVES
from allocator.formulation.rules import Formulation, lead_terms, presence_keys
from allocator.formulation.structure import Structure
from allocator.instance.index import Check, Index
from allocator.instance.model import Instance


def formulate(
    instance: Instance,
    formulation: str = "auto",
    *,
    structure: Structure | None = None,
    history: PlanHistory | None = None,
    check: Check | None = None,
) -> Formulation:
    """The instance's model under a formulation ("tours", "flow" or "auto"), or over a `structure`
    built by the caller, deterministically: column variables and presence and lead indicators now;
    each rule's rows, then the objectives the instance's model names, as
    :meth:`Formulation.rows` streams them.  With a re-plan's `history`, the tours formulation
    that keeps it (:mod:`allocator.formulation.history`).  `check` is called now and then, here
    and while the rows stream (it raises to stop the building: :class:`allocator.options.Watch`)."""
    index = Index.of(instance)
    if history is not None:
        if formulation == "flow":
            raise ValueError("a re-plan uses the tours formulation (--formulation tours or auto)")
        structure = ReplanTourStructure.build_replan(index, history)
    structure = structure or Structure.of(instance, formulation, check)
    model = LinearModel(instance.name, structure.formulation, len(structure.columns))
    for i in range(len(structure.columns)):
        model.add_variable("z", "", structure.upper_bound(i))
    for n, t, p in presence_keys(structure):
        label = f"presence[{index.nations[n].id}>{index.tasks[t].id}@{p}]"
        model.presence[n, t, p] = model.add_variable("y", label, 1)
    for (t, k), nations in lead_terms(index, history).items():
        for n in nations:
            label = f"lead[{index.tasks[t].id}#{k}={index.nations[n].id}]"
            model.lead[t, k, n] = model.add_variable("l", label, 1)
    f = Formulation(index, structure, instance.spec, model, history=history, check=check)
    wanted = list(instance.spec.objective_names)
    if history is not None and history.max_changes is not None and "changes" not in wanted:
        wanted.append("changes")  # for its row `max-changes`
    f.objective_builders = {name: OBJECTIVES[name] for name in wanted}
    return f
