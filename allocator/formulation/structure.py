"""The model's structure, independent of any solver: which tour variables each rule sums.

Both backends build from these rows, so the logic of every rule exists once; a backend only turns
rows into its own constraints (CP-SAT enforcement literals, MILP big-M).  Tours are referred to by
their position in :attr:`Structure.tours`.  Weights are integers (see :class:`Scales`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from allocator import names
from allocator.formulation.linear import Row, Terms
from allocator.formulation.scales import Scales
from allocator.instance.index import Check, Index, Tour
from allocator.instance.model import Instance
from allocator.options import FORMULATIONS


@dataclass(frozen=True)
class Column:
    """One integer decision variable: units of `offer` on `task` (the periods it covers are in
    the structure's cover maps).

    `periods` is the unit-periods one unit of the column deploys (cost and burden weigh it) and
    `tours` the tours it starts (deployments count it): a tour-start column deploys `length`
    periods and starts one tour; a flow formulation's deployed column 1 and 0, its start column
    0 and 1.
    """

    offer: int
    task: int
    periods: int
    tours: int


#: "auto" picks the flow formulation above this many feasible tours.
FLOW_ABOVE_TOURS = 50_000


@dataclass
class Structure:
    """Columns and their cover lists, computed once per instance (see the subclasses)."""

    index: Index
    scales: Scales
    columns: list[Column]
    #: (o, t, p) -> positions of the columns that deploy offer o's units on task t in period p
    cover: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)
    #: (n, t, p) -> the same over nation n's offers
    nation_cover: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)
    #: (t, capability, p) -> the same over the offers of that capability
    capability_cover: dict[tuple[int, str, int], list[int]] = field(default_factory=dict)
    formulation: str = "tours"

    @staticmethod
    def of(instance: Instance, formulation: str = "auto", check: Check | None = None) -> Structure:
        """The structure of an instance under a formulation ("auto": flow for very many tours);
        `check` is called now and then (it raises to stop the building)."""
        index = Index.of(instance)
        if formulation not in FORMULATIONS:
            raise ValueError(f"unknown formulation '{formulation}' (available: {', '.join(FORMULATIONS)})")
        # (computing the tours for flow too would only cost time: an equivalent mutant)
        tours = index.tours(check) if formulation != "flow" else []  # pragma: no mutate
        if formulation == "flow" or (formulation == "auto" and len(tours) > FLOW_ABOVE_TOURS):
            return FlowStructure.build(index, check)
        return TourStructure.build(index, tours, check)

    def _index_covers(self, covering: Iterator[tuple[int, int]]) -> None:
        """Fill the cover maps from (column position, period) pairs."""
        cover: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        nation_cover: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        capability_cover: dict[tuple[int, str, int], list[int]] = defaultdict(list)
        for i, p in covering:
            c = self.columns[i]
            cover[c.offer, c.task, p].append(i)
            nation_cover[self.index.offer_nation[c.offer], c.task, p].append(i)
            capability_cover[c.task, self.index.offers[c.offer].capability, p].append(i)
        self.cover, self.nation_cover, self.capability_cover = (
            dict(cover),
            dict(nation_cover),
            dict(capability_cover),
        )

    def upper_bound(self, i: int) -> int:
        """Largest value of column i: its offer's units."""
        return self.index.offers[self.columns[i].offer].units

    def unit_capacity(self) -> Iterator[Row]:
        raise NotImplementedError

    def formulation_rows(self) -> Iterator[Row]:
        """Rows linking the formulation's columns (none for tour starts)."""
        return iter(())

    def one_period_only(self, i: int) -> bool:
        """Whether every tour behind column i lasts exactly one period."""
        raise NotImplementedError

    def tour_counts(self, values: list[int]) -> dict[Tour, int]:
        """Units starting each tour, from the columns' values (in column order)."""
        raise NotImplementedError

    def column_values(self, counts: Mapping[Tour, int]) -> list[int]:
        """The columns' values (in column order) of a plan given as units starting each tour;
        the inverse of :meth:`tour_counts`.  A tour without a column raises KeyError."""
        raise NotImplementedError

    def units_bound(self, positions: list[int]) -> int:
        """Most units the tours at `positions` can deploy in one period (distinct offers' units)."""
        return sum(self.index.offers[o].units for o in {self.columns[i].offer for i in positions})


@dataclass
class TourStructure(Structure):
    """Tour-start formulation: z[r] units of offer o start tour r = (o, t, s, L).

    Deployed units x[o,t,p] = sum of z[r] over the tours r covering p.  Tight, but the number of
    tours grows with periods x tour lengths.
    """

    tours: list[Tour] = field(default_factory=list)

    @classmethod
    def build(cls, index: Index, tours: list[Tour], check: Check | None = None) -> TourStructure:
        columns = [Column(r.offer, r.task, r.length, 1) for r in tours]
        structure = cls(index, Scales.of(index), columns, tours=tours)
        structure._index_covers(_periods_of(tours, check))
        return structure

    # rule 3 ------------------------------------------------------------------------------------
    def unit_capacity(self) -> Iterator[Row]:
        """sum of z over tours occupying p (tour plus rest gap) <= units, at every tour start p."""
        for o, p, occupying in self.capacity_cells():
            if len(occupying) > 1:  # one variable alone is bounded by its domain
                yield Row(
                    names.unit_capacity(self.index.offers[o].id, p),
                    [(i, 1) for i in occupying],
                    "<=",
                    self.capacity(o, p),
                )

    def capacity_cells(self) -> Iterator[tuple[int, int, list[int]]]:
        """(offer, period a tour of it starts, positions of the tours occupying that period)."""
        by_offer: dict[int, list[int]] = defaultdict(list)
        for i, r in enumerate(self.tours):
            by_offer[r.offer].append(i)
        for o, positions in sorted(by_offer.items()):
            gap = self.index.rest_gap(o)
            for p in sorted({self.tours[i].start for i in positions}):
                yield o, p, [i for i in positions if self.tours[i].start <= p <= self.tours[i].end + gap]

    def capacity(self, o: int, p: int) -> int:
        """Units of offer o that may be busy in period p."""
        return self.index.offers[o].units

    def one_period_only(self, i: int) -> bool:
        return self.tours[i].length == 1

    def tour_counts(self, values: list[int]) -> dict[Tour, int]:
        return {r: v for r, v in zip(self.tours, values, strict=True) if v}  # pragma: no mutate

    def column_values(self, counts: Mapping[Tour, int]) -> list[int]:
        position = {r: i for i, r in enumerate(self.tours)}
        values = [0] * len(self.columns)
        for tour, count in counts.items():
            values[position[tour]] += count
        return values


@dataclass
class FlowStructure(Structure):
    """Flow formulation: per offer o, task t and period p, x[o,t,p] units deployed and s[o,t,p]
    units starting a tour.

    With identical units, tours matched first-in first-out exist iff, at every period p,

    - x_p <= x_{p-1} + s_p                       (units end, never appear)
    - sum(s_q, p-min+1 <= q <= p) <= x_p         (a unit started in the last min_tour periods is still there)
    - x_p <= sum(s_q, p-max+1 <= q <= p)         (a unit deployed started in the last max_tour periods)

    and a unit ending at e rests until e + gap, so the units busy at p (deployed, or resting) are
    x_{p-gap} + sum(s_q, p-gap < q <= p) over the offer's tasks: that sum <= units.  Starts exist
    only where a tour of at least min_tour periods fits (or the run reaches the horizon's end).
    About two variables per (offer, task, period) instead of one per tour.
    """

    #: (o, t, p) -> column of units deployed / starting
    deployed_at: dict[tuple[int, int, int], int] = field(default_factory=dict)
    start_at: dict[tuple[int, int, int], int] = field(default_factory=dict)
    #: (o, t) -> maximal runs of periods in which o may serve t
    runs: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def build(cls, index: Index, check: Check | None = None) -> FlowStructure:
        structure = cls(index, Scales.of(index), [], formulation="flow")
        for (o, t), mask in sorted(index.serve.items()):
            if check is not None:
                check()
            structure._add_pair(o, t, mask)
        structure._index_covers((i, p) for (_o, _t, p), i in structure.deployed_at.items())
        return structure

    def _add_pair(self, o: int, t: int, mask: Any) -> None:
        offer = self.index.offers[o]
        longest = offer.max_tour or self.index.T
        runs = _runs(mask, self.index.T)
        self.runs[o, t] = runs
        for first, last in runs:
            reaches_end = last == self.index.T
            # a start past `last` would cover no period, and periods past a tour's reach are held at
            # 0 by the max_tour rows: mutants widening these ranges are equivalent
            # pragma: no mutate start
            starts = [q for q in range(first, last + 1) if reaches_end or last - q + 1 >= offer.min_tour]
            covered = sorted({p for q in starts for p in range(q, min(last, q + longest - 1) + 1)})
            # pragma: no mutate end
            starting = set(starts)
            for p in covered:
                self.deployed_at[o, t, p] = len(self.columns)
                self.columns.append(Column(o, t, 1, 0))
                if p in starting:
                    self.start_at[o, t, p] = len(self.columns)
                    self.columns.append(Column(o, t, 0, 1))

    def _starts(self, o: int, t: int, lo: int, hi: int) -> Terms:
        return [(i, 1) for q in range(max(lo, 1), hi + 1) if (i := self.start_at.get((o, t, q))) is not None]

    def formulation_rows(self) -> Iterator[Row]:
        for (o, t), runs in sorted(self.runs.items()):
            offer = self.index.offers[o]
            task_id = self.index.tasks[t].id
            for run_first, _last in runs:
                for p in self._cells(o, t, run_first):
                    x = self.deployed_at[o, t, p]
                    flow: Terms = [(x, 1)]
                    if (before := self.deployed_at.get((o, t, p - 1))) is not None:
                        flow.append((before, -1))
                    if (start := self.start_at.get((o, t, p))) is not None:
                        flow.append((start, -1))
                    yield Row(names.tour_flow(offer.id, task_id, p), flow, "<=", 0)
                    recent = self._starts(o, t, p - offer.min_tour + 1, p)
                    if recent:
                        yield Row(names.tour_length(offer.id, task_id, p), [*recent, (x, -1)], "<=", 0)
                    # earlier rows would be redundant (no start before run_first), not wrong
                    if offer.max_tour is not None and p - offer.max_tour >= run_first:  # pragma: no mutate
                        window = self._starts(o, t, p - offer.max_tour + 1, p)
                        yield Row(
                            names.tour_length(offer.id, task_id, p),
                            [(x, 1), *((i, -1) for i, _ in window)],
                            "<=",
                            0,
                        )

    def _cells(self, o: int, t: int, run_first: int) -> Iterator[int]:
        p = run_first
        while (o, t, p) in self.deployed_at:
            yield p
            p += 1

    def unit_capacity(self) -> Iterator[Row]:
        """Units busy at p (deployed, or resting after a tour) <= units, at every period a tour may start."""
        tasks: dict[int, list[int]] = defaultdict(list)
        for o, t in sorted(self.runs):
            tasks[o].append(t)
        start_periods: dict[int, set[int]] = defaultdict(set)
        for o, _t, q in self.start_at:
            start_periods[o].add(q)
        for o, offer_tasks in sorted(tasks.items()):
            gap = self.index.rest_gap(o)
            for p in sorted(start_periods[o]):
                terms: Terms = []
                for t in offer_tasks:
                    if (x := self.deployed_at.get((o, t, p - gap))) is not None:
                        terms.append((x, 1))
                    terms.extend(self._starts(o, t, p - gap + 1, p))
                if len(terms) > 1:
                    offer = self.index.offers[o]
                    yield Row(names.unit_capacity(offer.id, p), terms, "<=", offer.units)

    def one_period_only(self, i: int) -> bool:
        return self.index.offers[self.columns[i].offer].max_tour == 1

    def tour_counts(self, values: list[int]) -> dict[Tour, int]:
        """Tours matched first in, first out from deployed and started units."""
        counts: dict[Tour, int] = defaultdict(int)
        for (o, t), runs in sorted(self.runs.items()):
            for run_first, _last in runs:
                waiting: deque[list[int]] = deque()  # [start, units]
                total = 0  # units waiting
                for p in self._cells(o, t, run_first):
                    if (start := self.start_at.get((o, t, p))) is not None and values[start]:
                        waiting.append([p, values[start]])
                        total += values[start]
                    deployed = values[self.deployed_at[o, t, p]]
                    # In a plan of the model, the units waiting are those deployed.  With a
                    # tour-length row dropped (an explanation's plan) a unit may start without
                    # being deployed: the oldest such starts are forgotten, so that every tour
                    # read is deployed throughout and no more units end than are waiting.
                    while total > deployed:
                        dropped = min(total - deployed, waiting[0][1])
                        waiting[0][1] -= dropped
                        total -= dropped
                        if not waiting[0][1]:
                            waiting.popleft()
                    after = self.deployed_at.get((o, t, p + 1))
                    following = self.start_at.get((o, t, p + 1))
                    going_on = max(  # deployed at p + 1, not started there
                        0,
                        (values[after] if after is not None else 0)
                        - (values[following] if following is not None else 0),
                    )
                    ending = min(deployed - going_on, total)
                    total -= max(0, ending)
                    while ending > 0:
                        first = waiting[0]
                        taken = min(ending, first[1])
                        # each start is taken from once per end: '=' equals '+=' here
                        counts[Tour(o, t, first[0], p - first[0] + 1)] += taken  # pragma: no mutate
                        first[1] -= taken
                        ending -= taken
                        if not first[1]:
                            waiting.popleft()
        return dict(counts)

    def column_values(self, counts: Mapping[Tour, int]) -> list[int]:
        values = [0] * len(self.columns)
        for tour, count in counts.items():
            values[self.start_at[tour.offer, tour.task, tour.start]] += count
            for p in range(tour.start, tour.end + 1):
                values[self.deployed_at[tour.offer, tour.task, p]] += count
        return values


def _periods_of(tours: list[Tour], check: Check | None) -> Iterator[tuple[int, int]]:
    """(position, period) for every period of every tour; `check` called every 4,096 tours."""
    for i, r in enumerate(tours):
        if check is not None and not i % 4096:
            check()
        for p in range(r.start, r.end + 1):
            yield i, p


def _runs(mask: Any, T: int) -> list[tuple[int, int]]:
    """Maximal runs [first, last] of periods 1..T where mask is true."""
    runs: list[tuple[int, int]] = []
    p = 1
    while p <= T:
        if mask[p]:
            first = p
            while p + 1 <= T and mask[p + 1]:  # pragma: no mutate -- mask[T + 1] is False anyway
                p += 1
            runs.append((first, p))
        p += 1
    return runs


@dataclass
class RelaxableFlowStructure(FlowStructure):
    """The flow formulation with every tour shape possible, for explanations.

    A unit may start a tour in any period it may serve; the ``tour-length`` rows alone hold tours
    to `min_tour`..`max_tour`, so dropping the rule instance ``tour-length[OFFER>TASK@P]`` lets
    tours around P be shorter or longer.  Rows past the end of a run keep a tour that starts less
    than `min_tour` periods before the run ends from stopping short (unless it ends in the
    horizon's last period).
    """

    def _add_pair(self, o: int, t: int, mask: Any) -> None:
        runs = _runs(mask, self.index.T)
        self.runs[o, t] = runs
        for first, last in runs:
            for p in range(first, last + 1):
                self.deployed_at[o, t, p] = len(self.columns)
                self.columns.append(Column(o, t, 1, 0))
                self.start_at[o, t, p] = len(self.columns)
                self.columns.append(Column(o, t, 0, 1))

    def formulation_rows(self) -> Iterator[Row]:
        yield from super().formulation_rows()
        for (o, t), runs in sorted(self.runs.items()):
            offer = self.index.offers[o]
            for _first, last in runs:
                for p in range(last + 1, min(last + offer.min_tour - 1, self.index.T) + 1):
                    recent = self._starts(o, t, p - offer.min_tour + 1, p)
                    if recent:
                        name = names.tour_length(offer.id, self.index.tasks[t].id, p)
                        yield Row(name, recent, "<=", 0)
