"""CP-SAT constraints, one function per SPEC rule, built from the rows of
:class:`~allocator.backends.structure.Structure`.

Every constraint is recorded in a named group ``rule[entity@period]`` (for example
``personnel-cap[FR@5]``) so that explanations and score breakdowns can point at it.  Rule names
are those of :data:`allocator.rules.RULES`.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from allocator.backends.cpsat.variables import Variables


class Groups:
    """Named groups of constraints: group name -> constraint indices in the model proto."""

    def __init__(self) -> None:
        self.members: dict[str, list[int]] = defaultdict(list)

    def add(self, name: str, constraint: cp_model.Constraint) -> cp_model.Constraint:
        self.members[name].append(constraint.index)
        return constraint


def add_impossible(model: cp_model.CpModel, groups: Groups, name: str) -> None:
    """A constraint no assignment satisfies (a hard rule with nothing that could meet it)."""
    groups.add(name, model.add_bool_or([]))


def add_unit_capacity(model: cp_model.CpModel, v: Variables, groups: Groups) -> None:
    """Rule 3: tours plus their rest never need more units of an offer than it has."""
    for row in v.structure.unit_capacity():
        groups.add(row.name, model.add(v.weighted(row.terms) <= row.rhs))


def add_formulation(model: cp_model.CpModel, v: Variables, groups: Groups) -> None:
    """Rule 3 in the flow formulation: tours start, last min_tour..max_tour periods, and end."""
    for row in v.structure.formulation_rows():
        groups.add(row.name, model.add(v.weighted(row.terms) <= row.rhs))


def add_personnel_cap(model: cp_model.CpModel, v: Variables, groups: Groups) -> None:
    """Rule 4: personnel deployed by a nation in a period <= max_personnel."""
    for row in v.structure.personnel_cap():
        groups.add(row.name, model.add(v.weighted(row.terms) <= row.rhs))


def add_budget(model: cp_model.CpModel, v: Variables, groups: Groups) -> None:
    """Rule 4: a nation's cost over the horizon <= budget."""
    for row in v.structure.budget():
        groups.add(row.name, model.add(v.weighted(row.terms) <= row.rhs))


def add_nation_presence(model: cp_model.CpModel, v: Variables, groups: Groups) -> None:
    """presence[n,t,p] may be 1 only if n deploys (min_nations); must be 1 if n deploys (max_nations)."""
    index = v.structure.index
    for (n, t, p), y in sorted(v.presence.items()):
        task = index.tasks[t]
        deployed = v.sum_of(v.structure.nation_cover[n, t, p])
        name = f"nation-presence[{index.nations[n].id}>{task.id}@{p}]"
        if task.min_nations:
            groups.add(name, model.add(deployed >= 1).only_enforce_if(y))
        if task.max_nations is not None:
            groups.add(name, model.add(deployed == 0).only_enforce_if(~y))


def add_nation_counts(model: cp_model.CpModel, v: Variables, groups: Groups, hard: bool) -> None:
    """Rule 5 (and 7): at most max_nations; at least min_nations (hard) or count the missing (soft)."""
    index = v.structure.index
    for count in v.structure.nation_counts():
        task = index.tasks[count.task]
        ys = [v.presence[n, count.task, count.period] for n in count.nations]
        where = f"{task.id}@{count.period}"
        if task.max_nations is not None and len(ys) > task.max_nations:
            groups.add(f"max-nations[{where}]", model.add(cp_model.LinearExpr.sum(ys) <= task.max_nations))
        if not task.min_nations:
            continue
        if hard:
            if len(ys) < task.min_nations:
                add_impossible(model, groups, f"min-nations[{where}]")
            else:
                groups.add(
                    f"min-nations[{where}]", model.add(cp_model.LinearExpr.sum(ys) >= task.min_nations)
                )
        else:
            missing = model.new_int_var(0, task.min_nations, f"missing-nations[{where}]")
            v.short_nations[count.task, count.period] = missing
            groups.add(
                f"min-nations[{where}]",
                model.add(cp_model.LinearExpr.sum([missing, *ys]) >= task.min_nations),
            )


def add_demand(model: cp_model.CpModel, v: Variables, groups: Groups, hard: bool) -> None:
    """Rule 7 (hard) or the shortfall link (soft): deployed + short >= required units."""
    index = v.structure.index
    for name, t, cap, p, positions, need in v.structure.demand():
        if hard:
            if positions:
                groups.add(name, model.add(v.sum_of(positions) >= need))
            else:
                add_impossible(model, groups, name)
            continue
        short = model.new_int_var(0, need, f"short[{index.tasks[t].id}:{cap}@{p}]")
        v.short_units[t, cap, p] = short
        groups.add(name, model.add(v.sum_of(positions, short) >= need))


def add_demand_caps(
    model: cp_model.CpModel, v: Variables, groups: Groups, objectives: tuple[str, ...]
) -> None:
    """Dominance cuts: no more units than required where extra units can never help."""
    for row in v.structure.demand_caps(objectives):
        groups.add(row.name, model.add(v.weighted(row.terms) <= row.rhs))


def add_lead(model: cp_model.CpModel, v: Variables, groups: Groups) -> None:
    """Rule 6: one lead per term from the eligible nations, `first` first, rotation, contribution."""
    index = v.structure.index
    for term in v.structure.lead_terms():
        t, k = term.task, term.term
        task = index.tasks[t]
        lead = task.lead
        assert lead is not None
        tag = f"{task.id}#{k}"
        groups.add(f"lead-one[{tag}]", model.add_exactly_one([v.lead[t, k, n] for n in term.nations]))
        if k == 0 and lead.first is not None:
            groups.add(f"lead-first[{task.id}]", model.add(v.lead[t, 0, index.nation_pos[lead.first]] == 1))
        if lead.rotate and len(term.nations) > 1 and (t, k + 1, term.nations[0]) in v.lead:
            for n in term.nations:
                groups.add(
                    f"lead-rotate[{tag}]", model.add_at_most_one([v.lead[t, k, n], v.lead[t, k + 1, n]])
                )
        if lead.contribution <= 0:
            continue
        first, last = term.periods
        for n in term.nations:
            for p in range(first, last + 1):
                name = f"lead-contribution[{task.id}>{index.nations[n].id}@{p}]"
                positions = v.structure.nation_cover.get((n, t, p), [])
                if positions:
                    groups.add(
                        name,
                        model.add(v.sum_of(positions) >= lead.contribution).only_enforce_if(v.lead[t, k, n]),
                    )
                else:
                    groups.add(name, model.add(v.lead[t, k, n] == 0))
