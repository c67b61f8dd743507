"""MILP decision variables (PuLP), mirroring the CP-SAT ones.

z[r] integer in 0..units(o) per tour; binary presence y[n,t,p] and lead l[t,k,n]; integer
shortfalls u[t,c,p] and v[t,p].  Names are short and unique (PuLP writes them to files), and
sort in creation order (`x00000012_y`): PuLP hands columns to the solver sorted by name, so the
solver sees them in the structure's order, tours first, as a hand-written model would give them.
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

    def new(self, kind: str, low: float, up: float | None, cat: str) -> pulp.LpVariable:
        var = _add(self.problem, len(self.z) + len(self.extra), kind, low, up, cat)
        self.extra.append(var)
        return var

    def sum_of(self, positions: list[int], *extra: tuple[pulp.LpVariable, float]) -> pulp.LpAffineExpression:
        """sum of z at `positions` plus `extra` (variable, coefficient) terms, built without concatenation."""
        return pulp.LpAffineExpression([*((self.z[i], 1) for i in positions), *extra])

    def weighted(self, terms: Terms) -> pulp.LpAffineExpression:
        return pulp.LpAffineExpression([(self.z[i], w) for i, w in terms])

    def all(self) -> list[pulp.LpVariable]:
        """Every variable once, in creation order (presence and lead variables are among `extra`)."""
        return [*self.z, *self.extra]


def _add(
    problem: pulp.LpProblem, number: int, kind: str, low: float, up: float | None, cat: str
) -> pulp.LpVariable:
    """The `number`-th variable of the problem, named so that names sort in creation order."""
    return problem.add_variable(f"x{number:08d}_{kind}", lowBound=low, upBound=up, cat=cat)


def tour_variables(problem: pulp.LpProblem, structure: Structure) -> Variables:
    z = [
        _add(problem, i, "z", 0, structure.upper_bound(i), pulp.LpInteger)
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
