"""CP-SAT decision variables.

z[i] in 0..units(o): one integer per column of the structure: in the tour-start formulation how
many units of offer o start tour (o, t, s, L); in the flow formulation units deployed or starting
(see :mod:`allocator.backends.structure`).  Deployed units x[o,t,p] are linear expressions in z.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from allocator.backends.structure import Structure, Terms


@dataclass
class Variables:
    structure: Structure
    z: list[cp_model.IntVar]
    presence: dict[tuple[int, int, int], cp_model.IntVar] = field(default_factory=dict)
    lead: dict[tuple[int, int, int], cp_model.IntVar] = field(default_factory=dict)
    short_units: dict[tuple[int, str, int], cp_model.IntVar] = field(default_factory=dict)
    short_nations: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)

    def sum_of(self, positions: list[int], *extra: cp_model.IntVar) -> cp_model.LinearExprT:
        """The sum of the tour variables at `positions` (plus any `extra` variables)."""
        return cp_model.LinearExpr.sum([*(self.z[i] for i in positions), *extra])

    def weighted(self, terms: Terms) -> cp_model.LinearExprT:
        return cp_model.LinearExpr.weighted_sum([self.z[i] for i, _ in terms], [w for _, w in terms])


def tour_variables(model: cp_model.CpModel, structure: Structure) -> Variables:
    """One integer variable per column of the structure."""
    return Variables(
        structure, [model.new_int_var(0, structure.upper_bound(i), "") for i in range(len(structure.columns))]
    )


def presence_variables(model: cp_model.CpModel, v: Variables) -> None:
    """presence[n,t,p] = 1 iff nation n deploys a unit on task t in period p (only where needed)."""
    index = v.structure.index
    for n, t, p in v.structure.presence_keys():
        v.presence[n, t, p] = model.new_bool_var(f"presence[{index.nations[n].id}>{index.tasks[t].id}@{p}]")


def lead_variables(model: cp_model.CpModel, v: Variables) -> None:
    """lead[t,k,n] = 1 iff nation n leads task t in term k."""
    index = v.structure.index
    for term in v.structure.lead_terms():
        for n in term.nations:
            name = f"lead[{index.tasks[term.task].id}#{term.term}={index.nations[n].id}]"
            v.lead[term.task, term.term, n] = model.new_bool_var(name)
