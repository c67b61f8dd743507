"""CP-SAT constraints, one function per SPEC rule.

Every constraint is recorded in a named group ``rule[entity@period]`` (for example
``personnel-cap[FR@5]``) so that explanations and score breakdowns can point at it.  Rule names
are those of :data:`allocator.rules.RULES`.
"""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from allocator.backends.common import Scales, scaled
from allocator.backends.cpsat.variables import Variables
from allocator.indices import Index


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


def add_unit_capacity(model: cp_model.CpModel, index: Index, v: Variables, groups: Groups) -> None:
    """Rule 3: tours plus their rest never need more units of an offer than it has.

    A tour r of offer o occupies a unit from s_r to e_r + g_o (g_o = max(1, min_rest)); for every
    period p at which a tour starts: sum of z_r over tours occupying p <= units(o).
    """
    by_offer: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(v.tours):
        by_offer[r.offer].append(i)
    for o, positions in sorted(by_offer.items()):
        units = index.offers[o].units
        gap = index.rest_gap(o)
        starts = sorted({v.tours[i].start for i in positions})
        for p in starts:
            occupying = [i for i in positions if v.tours[i].start <= p <= v.tours[i].end + gap]
            if len(occupying) > 1:  # one variable alone is bounded by its domain
                groups.add(
                    f"unit-capacity[{index.offers[o].id}@{p}]",
                    model.add(v.sum_of(occupying) <= units),
                )


def add_personnel_cap(
    model: cp_model.CpModel, index: Index, v: Variables, groups: Groups, scales: Scales
) -> None:
    """Rule 4: personnel deployed by a nation in a period <= max_personnel."""
    per_nation: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for (o, _t, p), positions in v.cover.items():
        weight = scaled(index.offers[o].personnel, scales.personnel)
        if weight:
            per_nation[index.offer_nation[o], p].extend((i, weight) for i in positions)
    for (n, p), terms in sorted(per_nation.items()):
        cap = index.nations[n].max_personnel
        if cap is None:
            continue
        expr = cp_model.LinearExpr.weighted_sum([v.z[i] for i, _ in terms], [w for _, w in terms])
        groups.add(
            f"personnel-cap[{index.nations[n].id}@{p}]",
            model.add(expr <= scaled(cap, scales.personnel)),
        )


def add_budget(model: cp_model.CpModel, index: Index, v: Variables, groups: Groups, scales: Scales) -> None:
    """Rule 4: a nation's cost over the horizon <= budget."""
    per_nation: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for i, r in enumerate(v.tours):
        weight = scaled(index.offers[r.offer].cost, scales.cost) * r.length
        if weight:
            per_nation[index.offer_nation[r.offer]].append((i, weight))
    for n, nation in enumerate(index.nations):
        if nation.budget is None or n not in per_nation:
            continue
        terms = per_nation[n]
        expr = cp_model.LinearExpr.weighted_sum([v.z[i] for i, _ in terms], [w for _, w in terms])
        groups.add(f"budget[{nation.id}]", model.add(expr <= scaled(nation.budget, scales.cost)))


def add_nation_presence(model: cp_model.CpModel, index: Index, v: Variables, groups: Groups) -> None:
    """Link presence[n,t,p] to deployment: it may be 1 only if n deploys (min_nations), and
    must be 1 if n deploys (max_nations)."""
    for (n, t, p), y in sorted(v.presence.items()):
        task = index.tasks[t]
        deployed = v.sum_of(v.nation_cover[n, t, p])
        name = f"nation-presence[{index.nations[n].id}>{task.id}@{p}]"
        if task.min_nations:
            groups.add(name, model.add(deployed >= 1).only_enforce_if(y))
        if task.max_nations is not None:
            groups.add(name, model.add(deployed == 0).only_enforce_if(~y))


def _presence_by_task_period(v: Variables) -> dict[tuple[int, int], list[cp_model.IntVar]]:
    out: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    for (_n, t, p), y in sorted(v.presence.items()):
        out[t, p].append(y)
    return out


def add_max_nations(model: cp_model.CpModel, index: Index, v: Variables, groups: Groups) -> None:
    """Rule 5: at most max_nations distinct nations on a task in each active period."""
    for (t, p), ys in sorted(_presence_by_task_period(v).items()):
        limit = index.tasks[t].max_nations
        if limit is not None and len(ys) > limit:
            groups.add(f"max-nations[{index.tasks[t].id}@{p}]", model.add(sum(ys) <= limit))


def add_min_nations(model: cp_model.CpModel, index: Index, v: Variables, groups: Groups, hard: bool) -> None:
    """Rule 5/7: at least min_nations distinct nations (hard), or count the missing ones (soft)."""
    present = _presence_by_task_period(v)
    for t, task in enumerate(index.tasks):
        if not task.min_nations:
            continue
        lo, hi = index.active[t]
        for p in range(lo, hi + 1):
            ys = present.get((t, p), [])
            name = f"min-nations[{task.id}@{p}]"
            if hard:
                if len(ys) < task.min_nations:
                    add_impossible(model, groups, name)
                else:
                    groups.add(name, model.add(sum(ys) >= task.min_nations))
            else:
                missing = model.new_int_var(0, task.min_nations, f"missing-nations[{task.id}@{p}]")
                v.short_nations[t, p] = missing
                groups.add(name, model.add(cp_model.LinearExpr.sum([missing, *ys]) >= task.min_nations))


def add_demand(model: cp_model.CpModel, index: Index, v: Variables, groups: Groups, hard: bool) -> None:
    """Rule 7 (hard) or the shortfall link (soft): deployed + short >= required units."""
    for t, task in enumerate(index.tasks):
        lo, hi = index.active[t]
        for cap, demand in index.demand[t].items():
            for p in range(lo, hi + 1):
                need = int(demand[p])
                if need <= 0:
                    continue
                positions = v.capability_cover.get((t, cap, p), [])
                name = f"demand[{task.id}:{cap}@{p}]"
                if hard:
                    if not positions:
                        add_impossible(model, groups, name)
                    else:
                        groups.add(name, model.add(v.sum_of(positions) >= need))
                else:
                    short = model.new_int_var(0, need, f"short[{task.id}:{cap}@{p}]")
                    v.short_units[t, cap, p] = short
                    if positions:
                        groups.add(name, model.add(v.sum_of(positions, short) >= need))
                    else:
                        model.add(short == need)


def add_lead(model: cp_model.CpModel, index: Index, v: Variables, groups: Groups) -> None:
    """Rule 6: one lead per term from the eligible nations, `first` first, rotation, contribution."""
    for t, task in enumerate(index.tasks):
        lead = task.lead
        if lead is None:
            continue
        nations = sorted(index.nation_pos[n] for n in lead.nations)
        for k, (first, last) in enumerate(index.terms[t]):
            term = f"{task.id}#{k}"
            groups.add(f"lead-one[{term}]", model.add_exactly_one([v.lead[t, k, n] for n in nations]))
            if k == 0 and lead.first is not None:
                groups.add(
                    f"lead-first[{task.id}]",
                    model.add(v.lead[t, 0, index.nation_pos[lead.first]] == 1),
                )
            if lead.rotate and len(nations) > 1 and k + 1 < len(index.terms[t]):
                for n in nations:
                    groups.add(
                        f"lead-rotate[{term}]",
                        model.add_at_most_one([v.lead[t, k, n], v.lead[t, k + 1, n]]),
                    )
            if lead.contribution <= 0:
                continue
            for n in nations:
                for p in range(first, last + 1):
                    name = f"lead-contribution[{task.id}>{index.nations[n].id}@{p}]"
                    positions = v.nation_cover.get((n, t, p), [])
                    if positions:
                        groups.add(
                            name,
                            model.add(v.sum_of(positions) >= lead.contribution).only_enforce_if(
                                v.lead[t, k, n]
                            ),
                        )
                    else:
                        groups.add(name, model.add(v.lead[t, k, n] == 0))
