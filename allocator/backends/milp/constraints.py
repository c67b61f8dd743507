"""MILP constraints, one function per SPEC rule, from the same rows as the CP-SAT model.

Where CP-SAT uses enforcement literals the MILP uses big-M links; M is the most units the summed
tours can deploy in one period.  Group names are recorded as in the CP-SAT model.
"""

from __future__ import annotations

from collections import defaultdict

import pulp

from allocator.backends.milp.variables import Variables


class Groups:
    """Named groups of constraints: group name -> PuLP constraint names."""

    def __init__(self, problem: pulp.LpProblem) -> None:
        self.problem = problem
        self.members: dict[str, list[str]] = defaultdict(list)
        self.count = 0

    def add(self, name: str | None, constraint: pulp.LpConstraint) -> None:
        """Add a constraint, recorded under the group `name` (None: a definition, not a rule)."""
        constraint.name = f"c{self.count}"
        self.count += 1
        self.problem.addConstraint(constraint)
        if name is not None:
            self.members[name].append(constraint.name)


def add_impossible(v: Variables, groups: Groups, name: str) -> None:
    """A constraint nothing satisfies: a fresh variable in [0, 0] that must be >= 1.

    The variable is integer so that CBC reports the problem "Integer infeasible" even when it has no
    other integer variable (on a pure LP, CBC's newer builds report "Status unknown").
    """
    never = v.new("never", 0, 0, pulp.LpInteger)
    groups.add(name, pulp.LpAffineExpression([(never, 1)]) >= 1)


def add_unit_capacity(v: Variables, groups: Groups) -> None:
    """Rule 3: tours plus their rest never need more units of an offer than it has."""
    for row in v.structure.unit_capacity():
        groups.add(row.name, v.weighted(row.terms) <= row.rhs)


def add_formulation(v: Variables, groups: Groups) -> None:
    """Rule 3 in the flow formulation: tours start, last min_tour..max_tour periods, and end."""
    for row in v.structure.formulation_rows():
        groups.add(row.name, v.weighted(row.terms) <= row.rhs)


def add_personnel_cap(v: Variables, groups: Groups) -> None:
    """Rule 4: personnel deployed by a nation in a period <= max_personnel."""
    for row in v.structure.personnel_cap():
        groups.add(row.name, v.weighted(row.terms) <= row.rhs)


def add_budget(v: Variables, groups: Groups) -> None:
    """Rule 4: a nation's cost over the horizon <= budget."""
    for row in v.structure.budget():
        groups.add(row.name, v.weighted(row.terms) <= row.rhs)


def add_nation_presence(v: Variables, groups: Groups) -> None:
    """y <= sum x (y = 1 only if n deploys: min_nations); sum x <= M y (y = 1 if n deploys: max_nations)."""
    s = v.structure
    for (n, t, p), y in sorted(v.presence.items()):
        task = s.index.tasks[t]
        positions = s.nation_cover[n, t, p]
        name = f"nation-presence[{s.index.nations[n].id}>{task.id}@{p}]"
        if task.min_nations:
            groups.add(name, v.sum_of(positions, (y, -1)) >= 0)
        if task.max_nations is not None:
            groups.add(name, v.sum_of(positions, (y, -s.units_bound(positions))) <= 0)


def add_nation_counts(v: Variables, groups: Groups, hard: bool) -> None:
    """Rule 5 (and 7): at most max_nations; at least min_nations (hard) or count the missing (soft)."""
    s = v.structure
    for count in s.nation_counts():
        task = s.index.tasks[count.task]
        ys = pulp.LpAffineExpression([(v.presence[n, count.task, count.period], 1) for n in count.nations])
        where = f"{task.id}@{count.period}"
        if task.max_nations is not None and len(count.nations) > task.max_nations:
            groups.add(f"max-nations[{where}]", ys <= task.max_nations)
        if not task.min_nations:
            continue
        if hard:
            if len(count.nations) < task.min_nations:
                add_impossible(v, groups, f"min-nations[{where}]")
            else:
                groups.add(f"min-nations[{where}]", ys >= task.min_nations)
        else:
            missing = v.new("v", 0, task.min_nations, pulp.LpInteger)
            v.short_nations[count.task, count.period] = missing
            groups.add(f"min-nations[{where}]", ys + missing >= task.min_nations)


def add_demand(v: Variables, groups: Groups, hard: bool, objectives: tuple[str, ...]) -> None:
    """Rule 7 (hard) or the shortfall link (soft): deployed + short >= required units (= where
    the dominance cut applies too)."""
    exact = v.structure.exact_demand(objectives, hard)
    for name, t, cap, p, positions, need in v.structure.demand():
        if hard:
            if positions and name in exact:
                groups.add(name, v.sum_of(positions) == need)
            elif positions:
                groups.add(name, v.sum_of(positions) >= need)
            else:
                add_impossible(v, groups, name)
            continue
        short = v.new("u", 0, need, pulp.LpInteger)
        v.short_units[t, cap, p] = short
        groups.add(name, v.sum_of(positions, (short, 1)) >= need)


def add_demand_caps(v: Variables, groups: Groups, objectives: tuple[str, ...], hard: bool) -> None:
    """Dominance cuts: no more units than required where extra units can never help (with hard
    demand they are part of the demand equalities)."""
    if hard:
        return
    for row in v.structure.demand_caps(objectives):
        groups.add(row.name, v.weighted(row.terms) <= row.rhs)


def add_lead(v: Variables, groups: Groups) -> None:
    """Rule 6: one lead per term, `first` first, rotation, contribution >= kappa x lead."""
    s = v.structure
    for term in s.lead_terms():
        t, k = term.task, term.term
        task = s.index.tasks[t]
        lead = task.lead
        assert lead is not None
        tag = f"{task.id}#{k}"
        groups.add(
            f"lead-one[{tag}]", pulp.LpAffineExpression([(v.lead[t, k, n], 1) for n in term.nations]) == 1
        )
        if k == 0 and lead.first is not None:
            groups.add(
                f"lead-first[{task.id}]",
                pulp.LpAffineExpression([(v.lead[t, 0, s.index.nation_pos[lead.first]], 1)]) == 1,
            )
        if lead.rotate and len(term.nations) > 1 and (t, k + 1, term.nations[0]) in v.lead:
            for n in term.nations:
                pair = pulp.LpAffineExpression([(v.lead[t, k, n], 1), (v.lead[t, k + 1, n], 1)])
                groups.add(f"lead-rotate[{tag}]", pair <= 1)
        if lead.contribution <= 0:
            continue
        first, last = term.periods
        for n in term.nations:
            for p in range(first, last + 1):
                name = f"lead-contribution[{task.id}>{s.index.nations[n].id}@{p}]"
                positions = s.nation_cover.get((n, t, p), [])
                groups.add(name, v.sum_of(positions, (v.lead[t, k, n], -lead.contribution)) >= 0)
