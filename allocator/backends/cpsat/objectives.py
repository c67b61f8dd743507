"""CP-SAT objectives as integer linear expressions: objective value = expression / scale."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from allocator.backends.common import Scales, scaled
from allocator.backends.cpsat.variables import Variables
from allocator.indices import Index


@dataclass(frozen=True)
class IntObjective:
    expr: cp_model.LinearExprT
    scale: int


def shortfall(index: Index, v: Variables, scales: Scales) -> IntObjective:
    """sum over tasks and active periods of priority x (missing units + missing nations)."""
    variables, coeffs = [], []
    for (t, _cap, _p), short in sorted(v.short_units.items(), key=lambda kv: kv[0]):
        variables.append(short)
        coeffs.append(scaled(index.tasks[t].priority, scales.priority))
    for (t, _p), missing in sorted(v.short_nations.items()):
        variables.append(missing)
        coeffs.append(scaled(index.tasks[t].priority, scales.priority))
    return IntObjective(cp_model.LinearExpr.weighted_sum(variables, coeffs), scales.priority)


def deployments(v: Variables) -> IntObjective:
    """The number of tours."""
    return IntObjective(cp_model.LinearExpr.sum(v.z), 1)


def cost(index: Index, v: Variables, scales: Scales) -> IntObjective:
    """sum of cost over deployed unit-periods."""
    coeffs = [scaled(index.offers[r.offer].cost, scales.cost) * r.length for r in v.tours]
    return IntObjective(cp_model.LinearExpr.weighted_sum(v.z, coeffs), scales.cost)


def fairness(
    model: cp_model.CpModel, index: Index, v: Variables, scales: Scales, measure: str
) -> IntObjective:
    """sum over nations of |burden_n - share_n / S x B|, B the sum of burdens.

    Scaled by S' (integer shares) and the measure's scale m:
    S' m f = sum_n dev_n with dev_n >= |S' b_n - s'_n B| for integer burdens b_n, B.
    """
    share = [scaled(n.share, scales.share) for n in index.nations]
    total_share = sum(share)
    m_scale = scales.measure(measure)
    weights = [scaled(index.measure(o, measure), m_scale) for o in range(len(index.offers))]
    burden_terms: list[list[tuple[int, int]]] = [[] for _ in index.nations]
    for i, r in enumerate(v.tours):
        w = weights[r.offer] * r.length
        if w:
            burden_terms[index.offer_nation[r.offer]].append((i, w))
    upper = [sum(w * index.offers[v.tours[i].offer].units for i, w in terms) for terms in burden_terms]
    total_upper = sum(upper)
    burden = []
    for n, terms in enumerate(burden_terms):
        b = model.new_int_var(0, upper[n], f"burden[{index.nations[n].id}]")
        model.add(b == cp_model.LinearExpr.weighted_sum([v.z[i] for i, _ in terms], [w for _, w in terms]))
        burden.append(b)
    total = model.new_int_var(0, total_upper, "burden-total")
    model.add(total == sum(burden))
    deviations = []
    for n, b in enumerate(burden):
        bound = total_share * total_upper
        dev = model.new_int_var(0, bound, f"fairness-deviation[{index.nations[n].id}]")
        model.add(dev >= total_share * b - share[n] * total)
        model.add(dev >= share[n] * total - total_share * b)
        deviations.append(dev)
    return IntObjective(cp_model.LinearExpr.sum(deviations), total_share * m_scale)
