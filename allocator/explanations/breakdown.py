"""Every objective split into what makes it up (SPEC v2 section 6): shortfall by task and
capability, surplus by task, fairness by nation (burden, fair share, difference), deployments and
cost by nation.  The parts of each objective add up to its value."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from allocator.instance.index import Index, Tour
from allocator.instance.model import Instance
from allocator.solution.plan import (
    Assignment,
    burdens,
    clean,
    deployed,
    fair_shares,
    shortfalls,
    surplus_cells,
)


def tour_counts(index: Index, plan: Iterable[Assignment]) -> dict[Tour, int]:
    """Units starting each tour of a plan of single-unit tours."""
    counts: dict[Tour, int] = defaultdict(int)
    for a in plan:
        counts[Tour(index.offer_pos[a.offer], index.task_pos[a.task], a.start, a.end - a.start + 1)] += 1
    return dict(counts)


def breakdown(instance: Instance, plan: list[Assignment]) -> dict[str, Any]:
    """The parts of every objective, each a list of rows sorted largest first."""
    index = Index.of(instance)
    x = deployed(index, tour_counts(index, plan))
    priority = {t.id: t.priority for t in instance.tasks}
    short: dict[tuple[str, str], float] = defaultdict(float)
    for s in shortfalls(index, x):
        what = s.capability if s.capability is not None else "(nations)"
        short[s.task, what] += priority[s.task] * (s.units + s.nations)
    extra: dict[str, int] = defaultdict(int)
    for (task, _cap, _p), units in surplus_cells(index, x).items():
        extra[task] += units
    burden = burdens(index, x, instance.spec.fairness)
    fair = fair_shares(index, burden)
    tours: dict[str, int] = defaultdict(int)
    cost: dict[str, float] = defaultdict(float)
    for a in plan:
        offer = index.offers[index.offer_pos[a.offer]]
        tours[offer.nation] += 1
        cost[offer.nation] += offer.cost * (a.end - a.start + 1)
    return {
        "shortfall": _largest_first(
            {"task": t, "capability": c, "value": clean(v)} for (t, c), v in short.items()
        ),
        "surplus": _largest_first({"task": t, "value": v} for t, v in extra.items()),
        "fairness": _largest_first(
            {
                "nation": n.id,
                "burden": clean(burden[i]),
                "fair_share": clean(fair[i]),
                "difference": clean(burden[i] - fair[i]),
                "value": clean(abs(burden[i] - fair[i])),
            }
            for i, n in enumerate(instance.nations)
        ),
        "deployments": _largest_first({"nation": n, "value": v} for n, v in tours.items()),
        "cost": _largest_first({"nation": n, "value": clean(v)} for n, v in cost.items()),
    }


def _largest_first(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["value"], *(str(v) for k, v in r.items() if k != "value")))


def totals(parts: dict[str, Any]) -> dict[str, float]:
    """Each objective as the sum of its parts."""
    return {name: clean(float(np.sum([r["value"] for r in rows]))) for name, rows in parts.items()}
