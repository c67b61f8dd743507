"""Derived indices of an instance, computed once and shared by every backend.

Periods are numbered 1..T as in the instance format; arrays indexed by period have length T + 2 so that
``a[p]`` is period p and ``a[T + 1]`` is a sentinel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocator.instance.model import Instance
from allocator.instance.parts import Offer, Task

#: Called now and then by long work (building a model); it raises to stop the work.
Check = Callable[[], None]


@dataclass(frozen=True)
class Tour:
    """`length` periods of deployment of one unit of `offer` on `task`, from `start`."""

    offer: int
    task: int
    start: int
    length: int

    @property
    def end(self) -> int:
        return self.start + self.length - 1


class Index:
    """Lookups and arrays derived from an instance, in the instance's (stable) order."""

    @staticmethod
    def of(instance: Instance) -> Index:
        """The instance's index, built on first use and kept with the (immutable) instance."""
        if instance._index is None:
            instance._index = Index(instance)
        index: Index = instance._index
        return index

    def __init__(self, instance: Instance):
        self.instance = instance
        self.T = instance.periods
        self.nations = instance.nations
        self.offers = instance.offers
        self.tasks = instance.tasks
        self.nation_pos = {n.id: i for i, n in enumerate(instance.nations)}
        self.offer_pos = {o.id: i for i, o in enumerate(instance.offers)}
        self.task_pos = {t.id: i for i, t in enumerate(instance.tasks)}
        self.offer_nation = [self.nation_pos[o.nation] for o in instance.offers]
        self.demand = [self._demand(task) for task in instance.tasks]
        self.active = [task.active or (1, self.T) for task in instance.tasks]
        needing: dict[str, list[int]] = {}  # capability -> tasks that require it
        for t, demand in enumerate(self.demand):
            for capability in demand:
                needing.setdefault(capability, []).append(t)
        self.serve = {
            (o, t): mask
            for o, offer in enumerate(instance.offers)
            for t in needing.get(offer.capability, ())
            if (mask := self._serve_mask(offer, instance.tasks[t], t)).any()
        }
        self.terms = [self._terms(t) for t in range(len(instance.tasks))]
        #: the integer scales of the float parameters (:class:`allocator.formulation.scales.Scales`)
        self.scales: Any = None

    def _demand(self, task: Task) -> dict[str, np.ndarray]:
        """Units required per capability and period (entries for one capability add up)."""
        lo, hi = task.active or (1, self.T)
        out: dict[str, np.ndarray] = {}
        for req in task.requirements:
            arr = out.setdefault(req.capability, np.zeros(self.T + 2, dtype=np.int64))
            first, last = req.periods or (lo, hi)
            arr[first : last + 1] += req.units
        return dict(sorted(out.items()))

    def _serve_mask(self, offer: Offer, task: Task, t: int) -> np.ndarray:
        """Periods in which a unit of `offer` may serve `task` (rules `placement` and `caveat`)."""
        mask = np.zeros(self.T + 2, dtype=bool)
        if offer.tasks is not None and task.id not in offer.tasks:
            return mask
        demand = self.demand[t].get(offer.capability)
        if demand is None:
            return mask
        a, b = offer.available or (1, self.T)
        lo, hi = task.active or (1, self.T)
        first, last = max(a, lo), min(b, hi)
        if first <= last:
            mask[first : last + 1] = demand[first : last + 1] > 0
        return mask

    def _terms(self, t: int) -> list[tuple[int, int]]:
        """Lead terms of task t as (first, last) periods, counted from its first active period."""
        lead = self.tasks[t].lead
        if lead is None:
            return []
        lo, hi = self.active[t]
        return [(s, min(s + lead.term - 1, hi)) for s in range(lo, hi + 1, lead.term)]

    def rest_gap(self, o: int) -> int:
        """Idle periods that must follow a tour of offer o: at least one, at least min_rest."""
        return max(1, self.offers[o].min_rest)

    def tours(self, check: Check | None = None) -> list[Tour]:
        """Every feasible tour, in (offer, task, start, length) order (`check` called per offer
        and task).

        A tour lies inside the periods where the offer may serve the task, lasts between
        min_tour and max_tour periods, and may be shorter than min_tour only when it ends in the
        horizon's last period (rule `tour-length`).
        """
        out: list[Tour] = []
        for (o, t), mask in sorted(self.serve.items()):
            if check is not None:
                check()
            offer = self.offers[o]
            longest = offer.max_tour or self.T
            for start in range(1, self.T + 1):
                length = 0
                while length < longest and mask[start + length]:
                    length += 1
                    end = start + length - 1
                    if length >= offer.min_tour or end == self.T:
                        out.append(Tour(o, t, start, length))
        return out

    def measure(self, o: int, fairness: str) -> float:
        """Burden of one deployed unit-period of offer o under a fairness measure."""
        offer = self.offers[o]
        return {"units": 1.0, "personnel": offer.personnel, "cost": offer.cost}[fairness]
