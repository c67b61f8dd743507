"""A lower bound on the shortfall from a small linear relaxation, independent of any search.

Tours are relaxed to unit-periods: ``y[o,t,p] >= 0`` units of offer ``o`` serve task ``t`` in period
``p`` wherever the offer may serve it, subject to

- each offer's units in each period: ``sum_t y[o,t,p] <= U_o``;
- rest: a unit serves at most ``max_tour`` periods of any ``max_tour + gap`` consecutive ones, so
  ``sum over those periods and tasks of y[o,t,p] <= U_o * max_tour``;
- each nation's personnel cap in each period and its budget over the horizon;
- ``s[t,k,p] >= d[t,k,p] - sum_{o: k(o)=k} y[o,t,p]``, ``0 <= s <= d``.

Minimising ``sum priority[t] * s[t,k,p]`` gives a lower bound on the units part of the shortfall
(every plan's deployed units are a feasible point), hence on the shortfall.  It is a few thousand
rows even on the largest instances and solves in about a second, where the LP relaxation of the
whole model does not finish in minutes (BENCHMARKS.md, "Bounds").  Every shortfall is a multiple of
one over the priorities' scale, so the bound is rounded up to the next such multiple.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict

import highspy
import numpy as np

from allocator.backends.lpbound import rowwise_highs
from allocator.formulation.scales import Scales
from allocator.instance.index import Index

log = logging.getLogger(__name__)

Terms = list[tuple[int, float]]


def shortfall_bound(index: Index, time_limit: float | None = None) -> float | None:
    """The relaxation's optimum, rounded down a little; None when HiGHS does not prove it in time."""
    cells = [
        (o, t, p) for (o, t), mask in sorted(index.serve.items()) for p in range(1, index.T + 1) if mask[p]
    ]
    needs = [
        (t, cap, p, int(need[p]))
        for t in range(len(index.tasks))
        for cap, need in index.demand[t].items()
        for p in range(index.active[t][0], index.active[t][1] + 1)
        if need[p] > 0
    ]
    if not needs:
        return 0.0
    rows = [*_capacity(index, cells), *_demand(index, cells, needs), *_caps(index, cells)]
    cost = np.zeros(len(cells) + len(needs))
    upper = np.zeros(len(cells) + len(needs))
    for j, (o, _t, _p) in enumerate(cells):
        upper[j] = index.offers[o].units
    for k, (t, _cap, _p, need) in enumerate(needs):
        cost[len(cells) + k] = index.tasks[t].priority
        upper[len(cells) + k] = need
    value = _minimise(cost, upper, rows, time_limit)
    if value is None:
        return None
    # every shortfall is a multiple of 1 / scale: the least such value above the LP's (less a tolerance)
    scale = Scales.of(index).priority
    return max(0.0, math.ceil((value - 1e-6 * max(1.0, value)) * scale) / scale)


Row = tuple[Terms, float, float]  # terms, lower, upper


def _capacity(index: Index, cells: list[tuple[int, int, int]]) -> list[Row]:
    """Units per period, and the rest a unit needs after max_tour periods."""
    rows: list[Row] = []
    per_offer: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for j, (o, _t, p) in enumerate(cells):
        per_offer[o][p].append(j)
    for o, per_period in sorted(per_offer.items()):
        offer = index.offers[o]
        for columns in per_period.values():
            if len(columns) > 1:
                rows.append(([(j, 1.0) for j in columns], -highspy.kHighsInf, offer.units))
        if offer.max_tour is None:
            continue
        window = offer.max_tour + index.rest_gap(o)
        for first in range(1, index.T - window + 2):
            columns = [j for p in range(first, first + window) for j in per_period.get(p, [])]
            if len(columns) > offer.max_tour:
                rows.append(([(j, 1.0) for j in columns], -highspy.kHighsInf, offer.units * offer.max_tour))
    return rows


def _demand(
    index: Index, cells: list[tuple[int, int, int]], needs: list[tuple[int, str, int, int]]
) -> list[Row]:
    """Covered units plus uncovered ones at least the requirement."""
    covering: dict[tuple[int, str, int], list[int]] = defaultdict(list)
    for j, (o, t, p) in enumerate(cells):
        covering[t, index.offers[o].capability, p].append(j)
    return [
        ([*((j, 1.0) for j in covering.get((t, cap, p), [])), (len(cells) + k, 1.0)], need, highspy.kHighsInf)
        for k, (t, cap, p, need) in enumerate(needs)
    ]


def _caps(index: Index, cells: list[tuple[int, int, int]]) -> list[Row]:
    """Personnel per nation and period, cost per nation over the horizon."""
    personnel: dict[tuple[int, int], Terms] = defaultdict(list)
    spent: dict[int, Terms] = defaultdict(list)
    for j, (o, _t, p) in enumerate(cells):
        offer, n = index.offers[o], index.offer_nation[o]
        if index.nations[n].max_personnel is not None and offer.personnel:
            personnel[n, p].append((j, offer.personnel))
        if index.nations[n].budget is not None and offer.cost:
            spent[n].append((j, offer.cost))
    rows: list[Row] = []
    for (n, _p), terms in sorted(personnel.items()):
        rows.append((terms, -highspy.kHighsInf, float(index.nations[n].max_personnel or 0.0)))
    for n, terms in sorted(spent.items()):
        rows.append((terms, -highspy.kHighsInf, float(index.nations[n].budget or 0.0)))
    return rows


def _minimise(cost: np.ndarray, upper: np.ndarray, rows: list[Row], time_limit: float | None) -> float | None:
    starts: list[int] = [0]
    columns: list[int] = []
    values: list[float] = []
    for terms, _lower, _upper in rows:
        columns.extend(j for j, _ in terms)
        values.extend(c for _, c in terms)
        starts.append(len(columns))
    solver = rowwise_highs(
        cost,
        upper,
        np.array([r[1] for r in rows], dtype=np.float64),
        np.array([r[2] for r in rows], dtype=np.float64),
        np.array(starts),
        np.array(columns),
        np.array(values, dtype=np.float64),
        time_limit,
    )
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        log.info("shortfall relaxation: %s", solver.modelStatusToString(solver.getModelStatus()))
        return None
    return float(solver.getInfo().objective_function_value)
