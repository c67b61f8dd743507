"""CP-SAT objectives as integer linear expressions: objective value = expression / scale."""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from allocator.backends.cpsat.variables import Variables


@dataclass(frozen=True)
class IntObjective:
    expr: cp_model.LinearExprT
    scale: int


def shortfall(v: Variables) -> IntObjective:
    """sum over tasks and active periods of priority x (missing units + missing nations)."""
    s = v.structure
    variables = [*v.short_units.values(), *v.short_nations.values()]
    coeffs = [s.priority(t) for t, _c, _p in v.short_units] + [s.priority(t) for t, _p in v.short_nations]
    return IntObjective(cp_model.LinearExpr.weighted_sum(variables, coeffs), s.scales.priority)


def deployments(v: Variables) -> IntObjective:
    """The number of tours."""
    return IntObjective(v.weighted(v.structure.deployment_terms()), 1)


def cost(v: Variables) -> IntObjective:
    """sum of cost over deployed unit-periods."""
    return IntObjective(
        cp_model.LinearExpr.weighted_sum(v.z, v.structure.cost_weights()), v.structure.scales.cost
    )


def fairness(model: cp_model.CpModel, v: Variables, measure: str) -> IntObjective:
    """sum over nations of |burden_n - share_n / S x B|, B the sum of burdens.

    Scaled by S' (integer shares) and the measure's scale m:
    S' m f = sum_n dev_n with dev_n >= |S' b_n - s'_n B| for integer burdens b_n, B.
    """
    s = v.structure
    share = s.shares()
    total_share = sum(share)
    nations = s.index.nations
    terms = s.burden_terms(measure)
    upper = [sum(w * s.upper_bound(i) for i, w in t) for t in terms]
    burden = []
    for n, nation_terms in enumerate(terms):
        b = model.new_int_var(0, upper[n], f"burden[{nations[n].id}]")
        model.add(b == v.weighted(nation_terms))
        burden.append(b)
    total = model.new_int_var(0, sum(upper), "burden-total")
    model.add(total == cp_model.LinearExpr.sum(burden))
    deviations = []
    for n, b in enumerate(burden):
        dev = model.new_int_var(0, total_share * sum(upper), f"fairness-deviation[{nations[n].id}]")
        model.add(dev >= total_share * b - share[n] * total)
        model.add(dev >= share[n] * total - total_share * b)
        deviations.append(dev)
    return IntObjective(cp_model.LinearExpr.sum(deviations), total_share * s.scales.measure(measure))
