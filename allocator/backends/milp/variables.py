"""MILP decision variables (PuLP), mirroring the CP-SAT ones.

z[r] integer in 0..units(o) per tour; binary presence y[n,t,p] and lead l[t,k,n]; integer
shortfalls u[t,c,p] and v[t,p].  Names are short and unique (PuLP writes them to files).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulp

from allocator.backends.structure import Structure, Terms


@dataclass
class Variables:
    problem: pulp.LpProblem
    structure: Structure
    z: list[pulp.LpVariable]
    presence: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    lead: dict[tuple[int, int, int], pulp.LpVariable] = field(default_factory=dict)
    short_units: dict[tuple[int, str, int], pulp.LpVariable] = field(default_factory=dict)
    short_nations: dict[tuple[int, int], pulp.LpVariable] = field(default_factory=dict)
    extra: list[pulp.LpVariable] = field(default_factory=list)

    def new(self, prefix: str, low: float, up: float | None, cat: str) -> pulp.LpVariable:
        var = self.problem.add_variable(f"{prefix}{len(self.extra)}", lowBound=low, upBound=up, cat=cat)
        self.extra.append(var)
        return var

    def sum_of(self, positions: list[int], *extra: tuple[pulp.LpVariable, float]) -> pulp.LpAffineExpression:
        """sum of z at `positions` plus `extra` (variable, coefficient) terms, built without concatenation."""
        return pulp.LpAffineExpression([*((self.z[i], 1) for i in positions), *extra])

    def weighted(self, terms: Terms) -> pulp.LpAffineExpression:
        return pulp.LpAffineExpression([(self.z[i], w) for i, w in terms])

    def all(self) -> list[pulp.LpVariable]:
        return [*self.z, *self.presence.values(), *self.lead.values(), *self.extra]


def tour_variables(problem: pulp.LpProblem, structure: Structure) -> Variables:
    z = [
        problem.add_variable(f"z{i}", lowBound=0, upBound=structure.upper_bound(i), cat=pulp.LpInteger)
        for i in range(len(structure.columns))
    ]
    return Variables(problem, structure, z)


def presence_variables(v: Variables) -> None:
    for key in v.structure.presence_keys():
        v.presence[key] = v.new("y", 0, 1, pulp.LpBinary)


def lead_variables(v: Variables) -> None:
    for term in v.structure.lead_terms():
        for n in term.nations:
            v.lead[term.task, term.term, n] = v.new("l", 0, 1, pulp.LpBinary)
