"""CP-SAT decision variables of the aggregated tour-start formulation.

z[r] in 0..units(o): how many units of offer o start tour r = (o, t, s, L) (a tour of length L on
task t from period s).  Deployed units x[o,t,p] = sum of z[r] over the tours r covering p, kept as
linear expressions, never as variables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from allocator.indices import Index, Tour


@dataclass
class Variables:
    tours: list[Tour]
    z: list[cp_model.IntVar]
    #: (o, t, p) -> tour positions covering period p
    cover: dict[tuple[int, int, int], list[int]]
    #: (n, t, p) -> tour positions of nation n's offers covering p on task t
    nation_cover: dict[tuple[int, int, int], list[int]]
    #: (t, capability, p) -> tour positions of that capability covering p on task t
    capability_cover: dict[tuple[int, str, int], list[int]]
    presence: dict[tuple[int, int, int], cp_model.IntVar] = field(default_factory=dict)
    lead: dict[tuple[int, int, int], cp_model.IntVar] = field(default_factory=dict)
    short_units: dict[tuple[int, str, int], cp_model.IntVar] = field(default_factory=dict)
    short_nations: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)

    def sum_of(self, positions: list[int], *extra: cp_model.IntVar) -> cp_model.LinearExprT:
        """The sum of the tour variables at `positions` (plus any `extra` variables)."""
        return cp_model.LinearExpr.sum([*(self.z[i] for i in positions), *extra])


def tour_variables(model: cp_model.CpModel, index: Index) -> Variables:
    """One integer variable per feasible tour, and the cover lists built once."""
    tours = index.tours()
    z = [model.new_int_var(0, index.offers[r.offer].units, "") for r in tours]
    cover: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    nation_cover: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    capability_cover: dict[tuple[int, str, int], list[int]] = defaultdict(list)
    for i, r in enumerate(tours):
        n = index.offer_nation[r.offer]
        cap = index.offers[r.offer].capability
        for p in range(r.start, r.end + 1):
            cover[r.offer, r.task, p].append(i)
            nation_cover[n, r.task, p].append(i)
            capability_cover[r.task, cap, p].append(i)
    return Variables(tours, z, dict(cover), dict(nation_cover), dict(capability_cover))


def presence_variables(model: cp_model.CpModel, index: Index, v: Variables) -> None:
    """presence[n,t,p] = 1 iff nation n deploys a unit on task t in period p (only where needed)."""
    for n, t, p in sorted(v.nation_cover):
        task = index.tasks[t]
        if task.min_nations or task.max_nations is not None:
            v.presence[n, t, p] = model.new_bool_var(f"presence[{index.nations[n].id}>{task.id}@{p}]")


def lead_variables(model: cp_model.CpModel, index: Index, v: Variables) -> None:
    """lead[t,k,n] = 1 iff nation n leads task t in term k."""
    for t, task in enumerate(index.tasks):
        if task.lead is None:
            continue
        for k in range(len(index.terms[t])):
            for nation in sorted(task.lead.nations):
                n = index.nation_pos[nation]
                v.lead[t, k, n] = model.new_bool_var(f"lead[{task.id}#{k}={nation}]")
