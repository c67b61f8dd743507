"""A first plan in a fraction of a second: greedy tours that keep every hard rule.

The lexicographic search starts from it (a warm start for every backend), and a solve that finds
nothing better in time still returns it.  Leads come first: for each term an eligible nation that
can deploy its contribution throughout the term (rotation and `first` kept).  Then demand, tasks by
priority: at the first period a requirement is short, the tour that covers the most wanted
unit-periods (and brings a missing nation where a task lacks one) among those that fit the offer's
availability, tour lengths, its units' rest, the nation's personnel cap and budget and the task's
max_nations.  Every tour is checked before it is added, so the plan stays valid whenever the search
stops; with hard demand, a plan that leaves a gap is no plan.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from allocator.formulation.scales import Scales, scaled
from allocator.instance.index import Index, Tour
from allocator.solution.plan import deployed, shortfalls

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FirstPlan:
    """Units starting each tour, and (task, term) -> lead nation (positions in the index)."""

    counts: dict[Tour, int]
    leads: dict[tuple[int, int], int]
    complete: bool  # False when the deadline cut the demand pass short


@dataclass(frozen=True)
class Fixed:
    """What a re-plan's first plan takes as given: the greedy plans from period `start` on.

    `tours`: units on tours placed as they are (history's, and those running across `start`);
    `leads`: (task, term) -> nation, for terms that ended before `start` (history, needed only
    for rotation) and running terms that keep their lead.  Only terms from `start` on are
    returned in :attr:`FirstPlan.leads`."""

    start: int = 1
    tours: Mapping[Tour, int] = field(default_factory=dict)
    leads: Mapping[tuple[int, int], int] = field(default_factory=dict)


def first_plan(
    index: Index, hard: bool, deadline: float | None = None, fixed: Fixed | None = None
) -> FirstPlan | None:
    """A plan that keeps every hard rule, or None when the greedy finds none (a lead term no
    eligible nation can serve; with hard demand, a gap left).  With `fixed` (a re-plan), its
    tours are placed first and only tours from its `start` on are added."""
    state = _State(index, fixed or Fixed())
    if not state.assign_leads():
        log.info("first plan: no lead for every term")
        return None
    complete = state.cover_demand(deadline)
    start = state.fixed.start
    if hard and any(s.period >= start for s in shortfalls(index, deployed(index, state.counts))):
        log.info("first plan: demand not met in full")
        return None
    return FirstPlan(dict(state.counts), dict(state.leads), complete)


class _State:
    """The plan under construction and what it uses: units busy, personnel, budget, nations."""

    def __init__(self, index: Index, fixed: Fixed):
        self.index = index
        self.fixed = fixed
        T = self.T = index.T
        scales = Scales.of(index)
        self.personnel = [scaled(o.personnel, scales.personnel) for o in index.offers]
        self.cost = [scaled(o.cost, scales.cost) for o in index.offers]
        self.personnel_cap = [
            None if n.max_personnel is None else scaled(n.max_personnel, scales.personnel)
            for n in index.nations
        ]
        self.budget = [None if n.budget is None else scaled(n.budget, scales.cost) for n in index.nations]
        self.busy = [[0] * (T + 2) for _ in index.offers]  # units on tour or resting, per period
        self.personnel_used = [[0] * (T + 2) for _ in index.nations]
        self.spent = [0] * len(index.nations)
        # (task, period) -> nation -> units deployed
        self.on_task: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
        # (task, capability) -> units deployed per period
        self.have: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0] * (T + 2))
        self.counts: dict[Tour, int] = defaultdict(int)
        self.leads: dict[tuple[int, int], int] = {}
        self.offers_of: dict[tuple[int, str], list[int]] = defaultdict(list)  # (task, capability) -> offers
        self.nation_offers: dict[tuple[int, int], list[int]] = defaultdict(list)  # (task, nation) -> offers
        for o, t in sorted(index.serve):
            self.offers_of[t, index.offers[o].capability].append(o)
            self.nation_offers[t, index.offer_nation[o]].append(o)
        for tour, units in fixed.tours.items():
            self.add(tour, units)

    # the plan ----------------------------------------------------------------------------------
    def fits(self, tour: Tour) -> bool:
        """Whether one more unit on `tour` keeps every hard rule."""
        index, o, t = self.index, tour.offer, tour.task
        offer, n = index.offers[o], index.offer_nation[o]
        periods = range(tour.start, tour.end + 1)
        busy = self.busy[o]
        resting_until = min(tour.end + index.rest_gap(o), self.T)
        if any(busy[p] >= offer.units for p in range(tour.start, resting_until + 1)):
            return False
        cap = self.personnel_cap[n]
        if cap is not None and self.personnel[o]:
            used = self.personnel_used[n]
            if any(used[p] + self.personnel[o] > cap for p in periods):
                return False
        budget = self.budget[n]
        if budget is not None and self.spent[n] + self.cost[o] * tour.length > budget:
            return False
        most = index.tasks[t].max_nations
        if most is not None:
            for p in periods:
                present = self.on_task.get((t, p), {})
                if n not in present and len(present) >= most:
                    return False
        return True

    def add(self, tour: Tour, units: int = 1) -> None:
        """Add `units` units on `tour` (a negative number takes them away)."""
        index, o, t = self.index, tour.offer, tour.task
        n = index.offer_nation[o]
        for p in range(tour.start, min(tour.end + index.rest_gap(o), self.T) + 1):
            self.busy[o][p] += units
        have = self.have[t, index.offers[o].capability]
        for p in range(tour.start, tour.end + 1):
            self.personnel_used[n][p] += units * self.personnel[o]
            have[p] += units
            present = self.on_task[t, p]
            present[n] += units
            if not present[n]:
                del present[n]
        self.spent[n] += units * self.cost[o] * tour.length
        self.counts[tour] += units
        if not self.counts[tour]:
            del self.counts[tour]

    def place(self, t: int, p: int, offers: list[int], worth: Callable[[int, int], int]) -> Tour | None:
        """Add the best tour from period p of one of `offers` on task t, or None if none fits.

        `worth(nation, period)` is what one more unit of that nation in that period brings; the
        best tour brings the most in total (ties: the fewest periods, then the offer's order)."""
        best: tuple[int, int, int] | None = None
        chosen: Tour | None = None
        for o in offers:
            tours = self._tours_from(o, t, p)  # longest first
            if not tours:
                continue
            n = self.index.offer_nation[o]
            gains = list(accumulate(worth(n, p + i) for i in range(tours[0].length)))  # by length - 1
            for tour in tours:
                gain = gains[tour.length - 1]
                if gain <= 0 or (best is not None and gain < best[0]):
                    break  # a shorter tour brings no more
                key = (gain, -tour.length, -o)
                if (best is None or key > best) and self.fits(tour):
                    best, chosen = key, tour
        if chosen is not None:
            self.add(chosen)
        return chosen

    def _tours_from(self, o: int, t: int, p: int) -> list[Tour]:
        """Tours of offer o on task t starting at p, longest first (rules placement, tour-length)."""
        mask = self.index.serve.get((o, t))
        if mask is None or not mask[p]:
            return []
        offer = self.index.offers[o]
        longest = offer.max_tour or self.T
        length = 0
        while length < longest and mask[p + length]:
            length += 1
        return [Tour(o, t, p, n) for n in range(length, 0, -1) if n >= offer.min_tour or p + n - 1 == self.T]

    # leads -------------------------------------------------------------------------------------
    def assign_leads(self) -> bool:
        """A lead for every term of every task with a lead rule, with its contribution deployed."""
        for t, task in enumerate(self.index.tasks):
            rule = task.lead
            if rule is None:
                continue
            eligible = sorted(self.index.nation_pos[n] for n in rule.nations)
            previous: int | None = None
            start = self.fixed.start
            for k, (first, last) in enumerate(self.index.terms[t]):
                given = self.fixed.leads.get((t, k))
                if last < start:  # history: only the rotation needs it
                    previous = given
                    continue
                if given is not None:
                    candidates = [given]
                elif k == 0 and rule.first is not None:
                    candidates = [self.index.nation_pos[rule.first]]
                else:
                    rotating = rule.rotate and len(eligible) > 1
                    candidates = [n for n in eligible if not (rotating and n == previous)]
                # a nation that may lead the next term too is worth serving on past this one
                until = last if rule.rotate and len(eligible) > 1 else self.index.active[t][1]
                lead = next(
                    (
                        n
                        for n in candidates
                        if self._contribute(t, n, max(first, start), last, until, rule.contribution)
                    ),
                    None,
                )
                if lead is None:
                    return False
                self.leads[t, k] = previous = lead
        return True

    def _contribute(self, t: int, n: int, first: int, last: int, until: int, units: int) -> bool:
        """Deploy `units` of nation n's units on task t in every period first..last (tours worth
        extending up to `until`), or nothing."""
        added: list[Tour] = []

        def worth(nation: int, q: int) -> int:
            return int(nation == n and first <= q <= until and self.on_task.get((t, q), {}).get(n, 0) < units)

        for p in range(first, last + 1):
            while self.on_task.get((t, p), {}).get(n, 0) < units:
                tour = self.place(t, p, self.nation_offers.get((t, n), []), worth)
                if tour is None:
                    for undo in added:
                        self.add(undo, -1)
                    return False
                added.append(tour)
        return True

    # demand ------------------------------------------------------------------------------------
    def cover_demand(self, deadline: float | None) -> bool:
        """Cover requirements, most important task first; False if the deadline cut it short."""
        index = self.index
        order = sorted(range(len(index.tasks)), key=lambda t: (-index.tasks[t].priority, t))
        for t in order:
            lo, hi = index.active[t]
            for cap, need in index.demand[t].items():
                have = self.have[t, cap]
                offers = self.offers_of.get((t, cap), [])
                worth = self._demand_worth(t, need, have)
                for p in range(max(lo, self.fixed.start), hi + 1):
                    while need[p] > have[p] and self.place(t, p, offers, worth) is not None:
                        if deadline is not None and time.perf_counter() > deadline:
                            return False
        return True

    def _demand_worth(self, t: int, need: Any, have: list[int]) -> Callable[[int, int], int]:
        """What one more unit of a nation brings task t in a period: a unit still required, and
        a nation the task lacks (min_nations) with it."""
        fewest = self.index.tasks[t].min_nations

        def worth(n: int, q: int) -> int:
            if need[q] <= have[q]:
                return 0
            present = self.on_task.get((t, q), {})
            return 1 + int(n not in present and len(present) < fewest)

        return worth
