"""MILP objectives as linear expressions over integer-scaled coefficients (value = expr / scale)."""

from __future__ import annotations

from dataclasses import dataclass

import pulp

from allocator.backends.milp.constraints import Groups
from allocator.backends.milp.variables import Variables


@dataclass(frozen=True)
class Objective:
    expr: pulp.LpAffineExpression
    scale: int


def shortfall(v: Variables) -> Objective:
    """sum over tasks and active periods of priority x (missing units + missing nations)."""
    s = v.structure
    terms = [(u, s.priority(t)) for (t, _c, _p), u in v.short_units.items()]
    terms += [(m, s.priority(t)) for (t, _p), m in v.short_nations.items()]
    return Objective(pulp.LpAffineExpression(terms), s.scales.priority)


def deployments(v: Variables) -> Objective:
    return Objective(v.weighted(v.structure.deployment_terms()), 1)


def cost(v: Variables) -> Objective:
    weights = v.structure.cost_weights()
    return Objective(pulp.LpAffineExpression(list(zip(v.z, weights, strict=True))), v.structure.scales.cost)


def fairness(groups: Groups, v: Variables, measure: str) -> Objective:
    """sum_n dev_n / (S' m) with dev_n >= |S' b_n - s'_n B| (absolute values linearised)."""
    s = v.structure
    share = s.shares()
    total_share = sum(share)
    burden = []
    for terms in s.burden_terms(measure):
        b = v.new("b", 0, None, pulp.LpContinuous)
        groups.add(None, v.weighted(terms) - b == 0)
        burden.append(b)
    total = v.new("B", 0, None, pulp.LpContinuous)
    groups.add(None, pulp.LpAffineExpression([(b, 1) for b in burden] + [(total, -1)]) == 0)
    deviations = []
    for n, b in enumerate(burden):
        dev = v.new("d", 0, None, pulp.LpContinuous)
        gap = pulp.LpAffineExpression([(b, total_share), (total, -share[n])])
        groups.add(None, dev - gap >= 0)
        groups.add(None, dev + gap >= 0)
        deviations.append(dev)
    return Objective(
        pulp.LpAffineExpression([(d, 1) for d in deviations]), total_share * s.scales.measure(measure)
    )
