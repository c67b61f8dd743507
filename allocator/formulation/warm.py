"""A plan as values of every model variable: the warm start a backend begins a search from."""

from __future__ import annotations

from collections.abc import Mapping

from allocator.formulation.linear import Row
from allocator.formulation.rules import Formulation, counted_cells, demand_cells
from allocator.instance.index import Tour


def plan_values(
    f: Formulation, counts: Mapping[Tour, int], leads: Mapping[tuple[int, int], int]
) -> list[float]:
    """Every variable's value in a plan (units starting each tour; (task, term) -> lead nation).

    Columns come from the tours; presence and lead indicators from the plan; the shortfall and
    every objective's helper variables take the least value their rows allow, which is the value
    they have at any optimum (each is minimised, never rewarded).  Call after the rows streamed.
    """
    model = f.model
    values = [0.0] * len(model.variables)
    values[: model.columns] = [float(v) for v in f.structure.column_values(counts)]

    def deployed(positions: list[int]) -> float:
        return sum(values[i] for i in positions)

    for (n, t, p), y in model.presence.items():
        values[y] = 1.0 if deployed(f.structure.nation_cover[n, t, p]) > 0 else 0.0
    for (t, k, n), chosen in model.lead.items():
        values[chosen] = 1.0 if leads.get((t, k)) == n else 0.0
    for t, cap, p, positions, need in demand_cells(f.structure):
        if (short := f.short_units.get((t, cap, p))) is not None:
            values[short] = max(0.0, need - deployed(positions))
    for t, p, nations in counted_cells(f):
        if (missing := f.short_nations.get((t, p))) is not None:
            present = sum(values[model.presence[n, t, p]] for n in nations)
            values[missing] = max(0.0, f.index.tasks[t].min_nations - present)
    for row in f.definitions:
        _settle(row, values)
    return values


def _settle(row: Row, values: list[float]) -> None:
    """Give a definition row's helper (its last-created variable) the least value >= 0 (or, for
    an equality, the value) the row allows given its other terms."""
    helper, coefficient = max(row.terms)
    rest = sum(c * values[i] for i, c in row.terms if i != helper)
    needed = (row.rhs - rest) / coefficient
    if row.sense == "==":
        values[helper] = needed
    elif (row.sense == ">=") == (coefficient > 0):  # the row bounds the helper from below
        values[helper] = max(values[helper], needed, 0.0)
