"""The objectives as integer terms over the linear model (``docs/objectives.md``).

Objective value = (sum of terms) / scale, the scale making every float parameter an integer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from allocator.formulation.linear import Objective, Row, Terms
from allocator.formulation.rules import Formulation, capped_demand, demand_cells
from allocator.formulation.scales import scaled


def shortfall(f: Formulation) -> Objective:
    """sum over tasks and active periods of priority x (missing units + missing nations)."""
    priority = [scaled(t.priority, f.structure.scales.priority) for t in f.index.tasks]
    terms = [(u, priority[t]) for (t, _c, _p), u in f.short_units.items()]
    terms += [(m, priority[t]) for (t, _p), m in f.short_nations.items()]
    return Objective(terms, f.structure.scales.priority)


def surplus(f: Formulation) -> Objective:
    """sum over tasks, capabilities and periods of max(0, deployed - required).

    One variable per requirement cell that can hold more units than it needs:
    surplus_jkp >= sum of x_ojp - d_jkp, surplus_jkp >= 0.  Cells under the demand cap (or the
    hard demand equality) never have surplus and get none.
    """
    capped = {(t, cap, p) for t, cap, p, _, _ in capped_demand(f)}
    terms: Terms = []
    for t, cap, p, positions, need in demand_cells(f.structure):
        most = f.structure.units_bound(positions) - need
        if most <= 0 or (t, cap, p) in capped:
            continue
        label = f"surplus[{f.index.tasks[t].id}:{cap}@{p}]"
        extra = f.model.add_variable("s", label, most, integral=False)
        f.definitions.append(Row(None, [*f.column_terms(positions), (extra, -1)], "<=", need))
        terms.append((extra, 1))
    return Objective(terms, 1)


def deployments(f: Formulation) -> Objective:
    """The number of tours started."""
    return Objective([(i, c.tours) for i, c in enumerate(f.structure.columns) if c.tours], 1)


def cost(f: Formulation) -> Objective:
    """sum of cost over deployed unit-periods."""
    scale = f.structure.scales.cost
    weights = [scaled(f.index.offers[c.offer].cost, scale) * c.periods for c in f.structure.columns]
    return Objective(list(enumerate(weights)), scale)  # zeros kept: the same matrix as a direct model


def burden_terms(f: Formulation, measure: str) -> list[Terms]:
    """Per nation: (column position, burden weight) under a fairness measure (integer-scaled)."""
    scale = f.structure.scales.measure(measure)
    weights = [scaled(f.index.measure(o, measure), scale) for o in range(len(f.index.offers))]
    out: list[Terms] = [[] for _ in f.index.nations]
    for i, c in enumerate(f.structure.columns):
        if w := weights[c.offer] * c.periods:
            out[f.index.offer_nation[c.offer]].append((i, w))
    return out


def fairness(f: Formulation) -> Objective:
    """sum over nations of |burden_n - share_n / S x B|, B the sum of burdens.

    Scaled by S' (integer shares) and the measure's scale m:
    S' m f = sum_n dev_n with dev_n >= |S' b_n - s'_n B| for integer burdens b_n, B.
    """
    measure = f.spec.fairness
    model, s = f.model, f.structure
    share = [scaled(n.share, s.scales.share) for n in f.index.nations]
    total_share = sum(share)
    nations = f.index.nations
    per_nation = burden_terms(f, measure)
    upper = [sum(w * s.upper_bound(i) for i, w in terms) for terms in per_nation]
    burden = []
    for n, terms in enumerate(per_nation):
        b = model.add_variable("b", f"burden[{nations[n].id}]", upper[n], integral=False)
        f.definitions.append(Row(None, [*terms, (b, -1)], "==", 0))
        burden.append(b)
    total = model.add_variable("B", "burden-total", sum(upper), integral=False)
    f.definitions.append(Row(None, [*((b, 1) for b in burden), (total, -1)], "==", 0))
    deviations = []
    for n, b in enumerate(burden):
        dev = model.add_variable(
            "d", f"fairness-deviation[{nations[n].id}]", total_share * sum(upper), integral=False
        )
        f.definitions.append(Row(None, [(dev, 1), (b, -total_share), (total, share[n])], ">=", 0))
        f.definitions.append(Row(None, [(dev, 1), (b, total_share), (total, -share[n])], ">=", 0))
        deviations.append(dev)
    return Objective([(d, 1) for d in deviations], total_share * s.scales.measure(measure))


def changes(f: Formulation) -> Objective:
    """A re-plan's changes against its baseline, from `start` on:
    sum over (offer, task, period) of |x_otp - b_otp| + the (task, period) whose lead differs.

    |x - b| is x where the baseline had none, b where the plan can have none, and otherwise a
    variable c >= x - b, c >= b - x.  A period of a term led by baseline nation m differs
    unless m leads the term: 1 - lead[t,k,m].  Constants (what differs whatever the plan) are
    the coefficient of a variable held at 1.  With `max_changes`, the row ``max-changes``.
    """
    h = f.history
    if h is None:
        raise ValueError("the objective 'changes' needs a baseline plan (allocator replan)")
    s, model = f.structure, f.model
    weights: dict[int, int] = defaultdict(int)
    constant = h.gone
    keys = set(h.before) | {key for key in s.cover if h.planned(key[2])}
    for o, t, p in sorted(keys):
        before, positions = h.before.get((o, t, p), 0), s.cover.get((o, t, p), [])
        if not positions:
            constant += before
        elif before == 0:
            for i in positions:
                weights[i] += 1
        else:
            label = f"change[{f.index.offers[o].id}>{f.index.tasks[t].id}@{p}]"
            c = model.add_variable("c", label, max(before, s.units_bound(positions)), integral=False)
            f.definitions.append(Row(None, [*f.column_terms(positions), (c, -1)], "<=", before))
            f.definitions.append(Row(None, [*f.column_terms(positions), (c, 1)], ">=", before))
            weights[c] += 1
    led: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)
    for (t, k, n), var in model.lead.items():
        first, last = f.index.terms[t][k]
        for p in range(max(first, h.start), last + 1):
            led[f.index.tasks[t].id, p][f.index.nations[n].id] = var
    for key in sorted(set(led) | {k for k in h.lead_before if h.planned(k[1])}):
        was = h.lead_before.get(key)
        constant += 1
        if was is not None and (kept := led.get(key, {}).get(was)) is not None:
            weights[kept] -= 1
    if constant:
        one = model.add_variable("k", "one", 1)
        f.definitions.append(Row(None, [(one, 1)], "==", 1))
        weights[one] += constant
    terms = [(i, w) for i, w in sorted(weights.items()) if w]
    if h.max_changes is not None:
        f.limits.append(Row("max-changes", terms, "<=", h.max_changes))
    return Objective(terms, 1)


#: Every objective a model may name -> its builder.
OBJECTIVES: dict[str, Callable[[Formulation], Objective]] = {
    "shortfall": shortfall,
    "surplus": surplus,
    "fairness": fairness,
    "deployments": deployments,
    "cost": cost,
    "changes": changes,
}
