"""The model's structure, independent of any solver: which tour variables each rule sums.

Both backends build from these rows, so the logic of every rule exists once; a backend only turns
rows into its own constraints (CP-SAT enforcement literals, MILP big-M).  Tours are referred to by
their position in :attr:`Structure.tours`.  Weights are integers (see :class:`Scales`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from allocator.backends.common import Scales, scaled
from allocator.indices import Index, Tour

Terms = list[tuple[int, int]]  # (tour position, integer weight)


@dataclass(frozen=True)
class Row:
    """sum of weight x z[position] over `terms`, compared with `rhs`, in the group `name`."""

    name: str
    terms: Terms
    rhs: int


@dataclass(frozen=True)
class NationCount:
    """A (task, period) whose contributing nations are counted (min_nations / max_nations)."""

    task: int
    period: int
    nations: list[int]


@dataclass(frozen=True)
class LeadTerm:
    """Term k of task t's lead: eligible nations and, per nation and period, the tours that count."""

    task: int
    term: int
    periods: tuple[int, int]
    nations: list[int]


@dataclass
class Structure:
    """Tours and their cover lists, computed once per instance."""

    index: Index
    scales: Scales
    tours: list[Tour]
    #: (o, t, p) -> tour positions of offer o covering p on task t
    cover: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)
    #: (n, t, p) -> tour positions of nation n's offers covering p on task t
    nation_cover: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)
    #: (t, capability, p) -> tour positions of that capability covering p on task t
    capability_cover: dict[tuple[int, str, int], list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, index: Index) -> Structure:
        tours = index.tours()
        cover: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        nation_cover: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        capability_cover: dict[tuple[int, str, int], list[int]] = defaultdict(list)
        for i, r in enumerate(tours):
            n = index.offer_nation[r.offer]
            cap = index.offers[r.offer].capability
            for p in range(r.start, r.end + 1):
                cover[r.offer, r.task, p].append(i)
                nation_cover[n, r.task, p].append(i)
                capability_cover[r.task, cap, p].append(i)
        return cls(index, Scales.of(index), tours, dict(cover), dict(nation_cover), dict(capability_cover))

    def units_bound(self, positions: list[int]) -> int:
        """Most units the tours at `positions` can deploy in one period (distinct offers' units)."""
        return sum(self.index.offers[o].units for o in {self.tours[i].offer for i in positions})

    # rule 3 ------------------------------------------------------------------------------------
    def unit_capacity(self) -> Iterator[Row]:
        """sum of z over tours occupying p (tour plus rest gap) <= units, at every tour start p."""
        by_offer: dict[int, list[int]] = defaultdict(list)
        for i, r in enumerate(self.tours):
            by_offer[r.offer].append(i)
        for o, positions in sorted(by_offer.items()):
            units = self.index.offers[o].units
            gap = self.index.rest_gap(o)
            for p in sorted({self.tours[i].start for i in positions}):
                occupying = [i for i in positions if self.tours[i].start <= p <= self.tours[i].end + gap]
                if len(occupying) > 1:  # one variable alone is bounded by its domain
                    yield Row(
                        f"unit-capacity[{self.index.offers[o].id}@{p}]", [(i, 1) for i in occupying], units
                    )

    # rule 4 ------------------------------------------------------------------------------------
    def personnel_cap(self) -> Iterator[Row]:
        """Personnel of a nation's deployed units in period p <= max_personnel."""
        per_nation: dict[tuple[int, int], Terms] = defaultdict(list)
        for (o, _t, p), positions in self.cover.items():
            weight = scaled(self.index.offers[o].personnel, self.scales.personnel)
            if weight:
                per_nation[self.index.offer_nation[o], p].extend((i, weight) for i in positions)
        for (n, p), terms in sorted(per_nation.items()):
            cap = self.index.nations[n].max_personnel
            if cap is not None:
                yield Row(
                    f"personnel-cap[{self.index.nations[n].id}@{p}]",
                    terms,
                    scaled(cap, self.scales.personnel),
                )

    def budget(self) -> Iterator[Row]:
        """A nation's cost over the horizon <= budget."""
        per_nation: dict[int, Terms] = defaultdict(list)
        for i, r in enumerate(self.tours):
            weight = scaled(self.index.offers[r.offer].cost, self.scales.cost) * r.length
            if weight:
                per_nation[self.index.offer_nation[r.offer]].append((i, weight))
        for n, nation in enumerate(self.index.nations):
            if nation.budget is not None and n in per_nation:
                yield Row(f"budget[{nation.id}]", per_nation[n], scaled(nation.budget, self.scales.cost))

    # rule 5 ------------------------------------------------------------------------------------
    def presence_keys(self) -> list[tuple[int, int, int]]:
        """(n, t, p) for which a presence indicator is needed: tasks with min or max nations."""
        return [
            key
            for key in sorted(self.nation_cover)
            if self.index.tasks[key[1]].min_nations or self.index.tasks[key[1]].max_nations is not None
        ]

    def nation_counts(self) -> Iterator[NationCount]:
        """Every active (task, period) of a task with min or max nations, with nations that could serve."""
        present: dict[tuple[int, int], list[int]] = defaultdict(list)
        for n, t, p in self.presence_keys():
            present[t, p].append(n)
        for t, task in enumerate(self.index.tasks):
            if not task.min_nations and task.max_nations is None:
                continue
            lo, hi = self.index.active[t]
            for p in range(lo, hi + 1):
                yield NationCount(t, p, present.get((t, p), []))

    # rule 7 / shortfall --------------------------------------------------------------------------
    def demand(self) -> Iterator[tuple[str, int, str, int, list[int], int]]:
        """(name, task, capability, period, tour positions, units required) for every positive need."""
        for t, task in enumerate(self.index.tasks):
            lo, hi = self.index.active[t]
            for cap, need in self.index.demand[t].items():
                for p in range(lo, hi + 1):
                    if need[p] > 0:
                        positions = self.capability_cover.get((t, cap, p), [])
                        yield f"demand[{task.id}:{cap}@{p}]", t, cap, p, positions, int(need[p])

    def demand_caps(self, objectives: tuple[str, ...]) -> Iterator[Row]:
        """Dominance cuts: deployed <= required where extra units can never help.

        Extra units at (task, capability, period) help only through fairness, min_nations or a
        lead's contribution; and they can be removed without touching other periods only if every
        tour covering that period lasts one period.  Where neither can happen, some optimal plan
        deploys no more than required, so the cut loses no optimum (it is not a SPEC rule).  It
        turns one-period assignment problems (GAP) into their exact-cover form.
        """
        if "fairness" in objectives:
            return
        for name, t, _cap, _p, positions, need in self.demand():
            task = self.index.tasks[t]
            if task.min_nations or task.lead is not None:
                continue
            if positions and all(self.tours[i].length == 1 for i in positions):
                yield Row(name.replace("demand[", "demand-cap[", 1), [(i, 1) for i in positions], need)

    # rule 6 ------------------------------------------------------------------------------------
    def lead_terms(self) -> Iterator[LeadTerm]:
        for t, task in enumerate(self.index.tasks):
            if task.lead is not None:
                nations = sorted(self.index.nation_pos[n] for n in task.lead.nations)
                for k, periods in enumerate(self.index.terms[t]):
                    yield LeadTerm(t, k, periods, nations)

    # objectives ----------------------------------------------------------------------------------
    def priority(self, t: int) -> int:
        return scaled(self.index.tasks[t].priority, self.scales.priority)

    def cost_weights(self) -> list[int]:
        return [scaled(self.index.offers[r.offer].cost, self.scales.cost) * r.length for r in self.tours]

    def burden_terms(self, measure: str) -> list[Terms]:
        """Per nation: (tour position, burden weight) under a fairness measure (integer-scaled)."""
        m_scale = self.scales.measure(measure)
        weights = [scaled(self.index.measure(o, measure), m_scale) for o in range(len(self.index.offers))]
        out: list[Terms] = [[] for _ in self.index.nations]
        for i, r in enumerate(self.tours):
            w = weights[r.offer] * r.length
            if w:
                out[self.index.offer_nation[r.offer]].append((i, w))
        return out

    def shares(self) -> list[int]:
        return [scaled(n.share, self.scales.share) for n in self.index.nations]
