"""Plans: from tour counts to unit assignments, and what a plan is worth (solver side).

Shared by every backend.  The checker in :mod:`allocator.checker` recomputes the same figures on
its own, from the solution file alone.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from allocator.instance.index import Index, Tour


@dataclass(frozen=True, order=True)
class Assignment:
    """One whole tour of one unit (``docs/solution-format.md``), `start` and `end` inclusive."""

    offer: str
    unit: int
    task: str
    start: int
    end: int


@dataclass(frozen=True, order=True)
class LeadTerm:
    task: str
    nation: str
    start: int
    end: int


@dataclass(frozen=True, order=True)
class Shortfall:
    """Uncovered units of a capability (`capability` set) or missing nations (`nations` set)."""

    task: str
    period: int
    capability: str | None = None
    units: int = 0
    nations: int = 0

    def to_json(self) -> dict[str, object]:
        if self.capability is not None:
            return {
                "task": self.task,
                "capability": self.capability,
                "period": self.period,
                "units": self.units,
            }
        return {"task": self.task, "period": self.period, "nations": self.nations}


def colour_units(index: Index, counts: Mapping[Tour, int]) -> list[Assignment]:
    """Give each tour to an individual unit: interval colouring, greedy by start.

    A tour occupies its unit from its start to its end plus the rest gap; as long as no period is
    occupied by more tours than the offer has units, the greedy colouring succeeds (interval
    graphs are perfect).  Deterministic: tours by (offer, start, task, length), lowest free unit.
    """
    by_offer: dict[int, list[Tour]] = defaultdict(list)
    for tour, count in counts.items():
        by_offer[tour.offer].extend([tour] * count)
    out: list[Assignment] = []
    for o in sorted(by_offer):
        offer = index.offers[o]
        gap = index.rest_gap(o)
        free = list(range(1, offer.units + 1))
        busy: list[tuple[int, int]] = []  # (first period free again, unit)
        for tour in sorted(by_offer[o], key=lambda x: (x.start, x.task, x.length)):
            while busy and busy[0][0] <= tour.start:
                heapq.heappush(free, heapq.heappop(busy)[1])
            if not free:
                raise RuntimeError(f"offer '{offer.id}' has more overlapping tours than units")
            unit = heapq.heappop(free)
            heapq.heappush(busy, (tour.end + gap + 1, unit))
            out.append(Assignment(offer.id, unit, index.tasks[tour.task].id, tour.start, tour.end))
    return sorted(out)


def deployed(index: Index, counts: Mapping[Tour, int]) -> np.ndarray:
    """Units deployed, as an array [offer, task, period]."""
    x = np.zeros((len(index.offers), len(index.tasks), index.T + 2), dtype=np.int64)
    for tour, count in counts.items():
        if count:
            x[tour.offer, tour.task, tour.start : tour.end + 1] += count
    return x


def coverage(index: Index, x: np.ndarray) -> Iterator[tuple[int, str, np.ndarray, np.ndarray]]:
    """(task, capability, units required, units deployed) per period, for every requirement."""
    cap_of = [o.capability for o in index.offers]
    for t in range(len(index.tasks)):
        for cap, demand in index.demand[t].items():
            rows = [o for o, c in enumerate(cap_of) if c == cap]
            got = x[rows, t, :].sum(axis=0) if rows else np.zeros(index.T + 2, dtype=np.int64)
            yield t, cap, demand, got


def shortfalls(index: Index, x: np.ndarray) -> list[Shortfall]:
    """Uncovered units per (task, capability, period) and missing nations per (task, period)."""
    out: list[Shortfall] = []
    for t, cap, demand, got in coverage(index, x):
        lo, hi = index.active[t]
        for p in range(lo, hi + 1):
            if demand[p] > got[p]:
                out.append(Shortfall(index.tasks[t].id, p, cap, units=int(demand[p] - got[p])))
    nation_of = np.array(index.offer_nation, dtype=np.int64)
    for t, task in enumerate(index.tasks):
        lo, hi = index.active[t]
        if task.min_nations:
            for p in range(lo, hi + 1):
                present = len(set(nation_of[x[:, t, p] > 0].tolist()))
                if present < task.min_nations:
                    out.append(Shortfall(task.id, p, nations=task.min_nations - present))
    return sorted(out, key=lambda s: (s.task, s.period, s.capability is None, s.capability or ""))


def surplus_cells(index: Index, x: np.ndarray) -> dict[tuple[str, str, int], int]:
    """(task, capability, period) -> units deployed beyond the requirement, where there are any."""
    out: dict[tuple[str, str, int], int] = {}
    for t, cap, demand, got in coverage(index, x):
        for p in np.flatnonzero(got > demand).tolist():
            out[index.tasks[t].id, cap, p] = int(got[p] - demand[p])
    return out


def surplus(index: Index, x: np.ndarray) -> int:
    """sum over tasks, capabilities and periods of max(0, deployed - required)."""
    return sum(surplus_cells(index, x).values())


def burdens(index: Index, x: np.ndarray, fairness: str) -> np.ndarray:
    """Each nation's burden: its sum of the fairness measure over deployed unit-periods."""
    out = np.zeros(len(index.nations))
    per_offer = x.sum(axis=(1, 2))
    for o, count in enumerate(per_offer):
        out[index.offer_nation[o]] += count * index.measure(o, fairness)
    return out


def fair_shares(index: Index, burden: np.ndarray) -> np.ndarray:
    """share / (sum of shares) x (sum of burdens), per nation."""
    shares = np.array([n.share for n in index.nations])
    return shares / shares.sum() * burden.sum()


def objective_values(
    index: Index, counts: Mapping[Tour, int], fairness: str, shortfall_list: list[Shortfall]
) -> dict[str, float]:
    """Every objective of ``docs/objectives.md`` for a plan."""
    x = deployed(index, counts)
    priority = {task.id: task.priority for task in index.tasks}
    burden = burdens(index, x, fairness)
    cost = sum(x[o].sum() * offer.cost for o, offer in enumerate(index.offers))
    values = {
        "shortfall": sum(priority[s.task] * (s.units + s.nations) for s in shortfall_list),
        "surplus": surplus(index, x),
        "fairness": np.abs(burden - fair_shares(index, burden)).sum(),
        "deployments": sum(counts.values()),
        "cost": cost,
    }
    return {name: clean(value) for name, value in values.items()}


def clean(value: float) -> float:
    """A float without binary noise (2032.4000000000003 -> 2032.4): 9 decimals are kept."""
    return round(float(value), 9) + 0.0
