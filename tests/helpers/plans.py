"""Plans as the model sees them: a solution's tours as counts, and whether a row holds for values."""

from __future__ import annotations

from collections import Counter

import allocator
from allocator.formulation.linear import Row
from allocator.instance.index import Index, Tour


def plan_tours(instance: allocator.Instance, result: allocator.SolveResult) -> Counter[Tour]:
    """Units starting each tour in a result's plan (positions in the instance's index)."""
    index = Index.of(instance)
    return Counter(
        Tour(index.offer_pos[a.offer], index.task_pos[a.task], a.start, a.end - a.start + 1)
        for a in result.assignments
    )


def row_holds(row: Row, values: list[float] | list[int]) -> bool:
    """Whether `values` (in model order) meet a row; a row held only while a 0/1 variable has a
    value holds trivially otherwise."""
    if row.when is not None and round(values[row.when[0]]) != row.when[1]:
        return True
    total = sum(c * values[i] for i, c in row.terms)
    return {
        "<=": total <= row.rhs + 1e-9,
        ">=": total >= row.rhs - 1e-9,
        "==": abs(total - row.rhs) <= 1e-9,
    }[row.sense]
