"""Re-planning on the model side (SPEC v2 section 7, ``docs/replanning.md``): the baseline's
history over the instance's positions, and the tours structure that keeps it.

Periods before ``start`` (the re-plan's ``from``) are history.  The structure's columns are the
tours that start at ``start`` or later, as in any solve, plus the history's own tours: those the
baseline ended before ``start - 1`` (held at their units), and for each tour that ran across
``start`` (or up to it) every way it may end: at ``start - 1`` (cut short by the re-plan, whatever
its ``min_tour``) or later, as far as the new data allows it to go on.  Rows named
``history[...]`` hold these.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from allocator import names
from allocator.formulation.linear import Row
from allocator.formulation.scales import Scales
from allocator.formulation.structure import Column, TourStructure
from allocator.instance.index import Index, Tour
from allocator.solution.greedy import Fixed
from allocator.solution.plan import Assignment, LeadTerm
from allocator.solution.summary import equal_runs

V = TypeVar("V")


@dataclass(frozen=True)
class BaselineTour:
    """A tour of the baseline plan, by ids (as its solution file has it)."""

    offer: str
    unit: int
    task: str
    start: int
    end: int


@dataclass
class PlanHistory:
    """A baseline plan split at period `start`, over the instance's positions.

    `kept` holds the units of every tour that ended before `start - 1`; `crossing` the units of
    each (offer, task, start) whose tours ran across `start` or up to it (they may go on);
    `before` the baseline's units per (offer, task, period) from `start` on, and `gone` those of
    offers or tasks no longer in the instance (changes whatever the plan); `lead_before` the
    baseline's lead per (task, period).
    """

    start: int
    kept: dict[Tour, list[int]] = field(default_factory=dict)
    crossing: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)
    before: dict[tuple[int, int, int], int] = field(default_factory=dict)
    gone: int = 0
    lead_before: dict[tuple[str, int], str] = field(default_factory=dict)
    #: the baseline's lead terms cut at start - 1 (ids)
    history_leads: tuple[LeadTerm, ...] = ()
    #: changes allowed at most (a hard rule), or None
    max_changes: int | None = None
    #: the baseline's units per (offer id, task id, period) from `start` on, gone ones included
    before_by_id: dict[tuple[str, str, int], int] = field(default_factory=dict)
    #: how the re-plan names its baseline, and the digest of the baseline's plan
    baseline: str = ""
    digest: str = ""
    #: the baseline's own tours: those from `start` on (offers and tasks that exist), and the
    #: lengths of the tours that ran across it, per (offer, task, start)
    baseline_planned: dict[Tour, int] = field(default_factory=dict)
    crossing_lengths: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)
    #: the baseline's solution document, for the checker
    document: dict[str, Any] | None = None

    @classmethod
    def of(
        cls,
        index: Index,
        start: int,
        tours: Iterable[BaselineTour],
        leads: Iterable[LeadTerm],
        max_changes: int | None = None,
        baseline: str = "",
        digest: str = "",
        document: dict[str, Any] | None = None,
    ) -> PlanHistory:
        """The history of a baseline (tours and lead terms by id) whose history names only
        offers and tasks of the instance (:func:`allocator.replanning.history.history_of` checks)."""
        out = cls(start, max_changes=max_changes, baseline=baseline, digest=digest, document=document)
        by_id: dict[tuple[str, str, int], int] = defaultdict(int)
        kept: dict[Tour, list[int]] = defaultdict(list)
        crossing: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        before: dict[tuple[int, int, int], int] = defaultdict(int)
        planned: dict[Tour, int] = defaultdict(int)
        lengths: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        for tour in sorted(tours, key=lambda r: (r.offer, r.unit, r.start)):
            o, t = index.offer_pos.get(tour.offer), index.task_pos.get(tour.task)
            for p in range(max(tour.start, start), tour.end + 1):
                by_id[tour.offer, tour.task, p] += 1
            if tour.end >= start:
                if o is None or t is None:
                    out.gone += tour.end - max(tour.start, start) + 1
                else:
                    for p in range(max(tour.start, start), tour.end + 1):
                        before[o, t, p] += 1
            if tour.start >= start:
                if o is not None and t is not None:
                    planned[Tour(o, t, tour.start, tour.end - tour.start + 1)] += 1
                continue
            assert o is not None and t is not None  # the history names what exists
            if tour.end < start - 1:
                kept[Tour(o, t, tour.start, tour.end - tour.start + 1)].append(tour.unit)
            else:  # across `start`, or up to it: it may go on (its history stays as it was)
                crossing[o, t, tour.start].append(tour.unit)
                lengths[o, t, tour.start].append(tour.end - tour.start + 1)
        out.kept, out.crossing, out.before = dict(kept), dict(crossing), dict(before)
        out.baseline_planned, out.crossing_lengths = dict(planned), dict(lengths)
        out.before_by_id = dict(by_id)
        terms = sorted(leads)
        out.lead_before = {(r.task, p): r.nation for r in terms for p in range(r.start, r.end + 1)}
        out.history_leads = tuple(
            LeadTerm(r.task, r.nation, r.start, min(r.end, start - 1)) for r in terms if r.start < start
        )
        return out

    def planned(self, p: int) -> bool:
        """Whether period p is planned (not history)."""
        return p >= self.start

    def endings(self, index: Index, o: int, t: int, s: int) -> list[int]:
        """Lengths a tour of offer o on task t that began at s and ran across `start` may have:
        cut at start - 1, or going on through periods the offer may serve the task, within
        max_tour, and at least min_tour unless it ends in the horizon's last period."""
        offer = index.offers[o]
        mask = index.serve.get((o, t))
        out = [self.start - s]
        if mask is None:
            return out
        longest = offer.max_tour or index.T
        end = self.start
        while end <= index.T and mask[end] and end - s + 1 <= longest:
            if end - s + 1 >= offer.min_tour or end == index.T:
                out.append(end - s + 1)
            end += 1
        return out

    def baseline_plan(
        self, index: Index, columns: Collection[Tour]
    ) -> tuple[dict[Tour, int], dict[tuple[int, int], int]]:
        """The baseline as a plan of the new data, the start a re-plan searches from: history as
        it was, each tour that ran across `start` as long as the new data let it go on (at most
        its baseline length), the baseline's later tours that are still tours (`columns`), and
        each term's baseline lead where still eligible; else an eligible nation (not its rotating
        neighbours') that contributes, with tours of its own added where it must.  Not always a
        plan (fewer units now, say): its caller checks it."""
        counts = self.history_counts(index)
        for tour, n in self.baseline_planned.items():
            if tour in columns:
                counts[tour] += n
        leads: dict[tuple[int, int], int] = {}
        for t, task in enumerate(index.tasks):
            if task.lead is None:
                continue
            for k, (_first, last) in enumerate(index.terms[t]):
                if last >= self.start:
                    leads[t, k] = self._lead_of(index, columns, counts, leads, t, k)
        return dict(counts), leads

    def history_counts(self, index: Index) -> defaultdict[Tour, int]:
        """Units per tour of the history: the tours that ended before `start - 1`, and each tour
        that ran across `start` going on as long as the new data let it (at most its baseline
        length)."""
        counts: defaultdict[Tour, int] = defaultdict(int)
        for tour, units in self.kept.items():
            counts[tour] += len(units)
        for (o, t, s), lengths in self.crossing_lengths.items():
            allowed = self.endings(index, o, t, s)
            for length in lengths:
                counts[Tour(o, t, s, max(x for x in allowed if x <= length))] += 1
        return counts

    def fixed(self, index: Index) -> Fixed:
        """What a re-plan's greedy first plan keeps (:class:`allocator.solution.greedy.Fixed`):
        the history's tours (:meth:`history_counts`), the lead of every term that ended before
        `start`, and that of every term running across it whose lead is still eligible (rule 3);
        nothing of the baseline's plan from `start` on."""
        leads: dict[tuple[int, int], int] = {}
        for t, task in enumerate(index.tasks):
            if task.lead is None:
                continue
            for k, (first, last) in enumerate(index.terms[t]):
                was = index.nation_pos.get(self.lead_before.get((task.id, first)) or "")
                if first >= self.start or was is None:
                    continue
                if last < self.start or index.nations[was].id in task.lead.nations:
                    leads[t, k] = was
        return Fixed(self.start, dict(self.history_counts(index)), leads)

    def _lead_of(
        self,
        index: Index,
        columns: Collection[Tour],
        counts: dict[Tour, int],
        leads: dict[tuple[int, int], int],
        t: int,
        k: int,
    ) -> int:
        """Term k of task t's lead in the baseline plan (:meth:`baseline_plan`); `counts` gains
        the tours a new lead needs to contribute."""
        task = index.tasks[t]
        assert task.lead is not None
        first, last = index.terms[t][k]
        periods = range(max(first, self.start), last + 1)
        eligible = sorted(index.nation_pos[n] for n in task.lead.nations)
        was = index.nation_pos.get(self.lead_before.get((task.id, periods[0])) or "")
        # the neighbours' leads (the previous term's, chosen or history's, and the next term's in
        # the baseline), which a rotating lead must not repeat
        around = {self.lead_before.get((task.id, first - 1)), self.lead_before.get((task.id, last + 1))}
        if (t, k - 1) in leads:
            around.add(index.nations[leads[t, k - 1]].id)
        rotating = task.lead.rotate and len(eligible) > 1
        if was in eligible and not (rotating and index.nations[was].id in around):
            return was
        others = [n for n in eligible if not (rotating and index.nations[n].id in around)] or eligible
        deployed = _deployed(index, counts, t)
        need = task.lead.contribution
        others.sort(key=lambda n: (-min(deployed.get((n, p), 0) for p in periods), n))
        for n in others:
            extra = _contribution_tours(index, columns, counts, deployed, n, t, periods, need, self.start)
            if extra is not None:
                for tour in extra:
                    counts[tour] += 1
                return n
        return others[0]

    def history_tours(self, index: Index) -> dict[tuple[int, int, int], dict[int, int]]:
        """(offer, task, start) of the history -> {length: units held at it (kept)}, every
        length a crossing tour may take listed (with 0 kept units when none ended there)."""
        groups: dict[tuple[int, int, int], dict[int, int]] = defaultdict(dict)
        for tour, units in self.kept.items():
            groups[tour.offer, tour.task, tour.start][tour.length] = len(units)
        for o, t, s in self.crossing:
            for length in self.endings(index, o, t, s):
                groups[o, t, s].setdefault(length, 0)
        return dict(groups)

    def changes(self, index: Index, counts: Mapping[Tour, int], leads: Mapping[tuple[int, int], int]) -> int:
        """The objective `changes` of a plan (tour counts; (task, term) -> lead nation): from
        `start` on, |units - the baseline's| per (offer, task, period), plus the (task, period)
        whose lead differs from the baseline's."""
        units = sum(abs(was - now) for was, now in self._unit_cells(index, counts).values())
        return units + len(self._lead_cells(index, leads))

    def records(
        self, index: Index, counts: Mapping[Tour, int], leads: Mapping[tuple[int, int], int]
    ) -> list[dict[str, object]]:
        """What moved (SPEC section 7, the solution's `changes`): per offer and task, each run of
        periods from `start` on with the same units before and after, where they differ; per
        task, each run of periods whose lead differs."""
        out: list[dict[str, object]] = []
        for (offer, task, first, last), (before, after) in _runs(self._unit_cells(index, counts)):
            out.append(
                {"offer": offer, "task": task, "periods": [first, last], "before": before, "after": after}
            )
        for (task, _, first, last), (led, leads_now) in _runs(self._lead_cells(index, leads)):
            out.append({"task": task, "periods": [first, last], "lead_before": led, "lead_after": leads_now})
        return out

    def _unit_cells(
        self, index: Index, counts: Mapping[Tour, int]
    ) -> dict[tuple[str, str, int], tuple[int, int]]:
        """(offer id, task id, period from `start` on) -> (the baseline's units, the plan's),
        where they differ."""
        after: dict[tuple[str, str, int], int] = defaultdict(int)
        for tour, n in counts.items():
            for p in range(max(tour.start, self.start), tour.end + 1):
                after[index.offers[tour.offer].id, index.tasks[tour.task].id, p] += n
        return {
            key: (self.before_by_id.get(key, 0), after.get(key, 0))
            for key in set(after) | set(self.before_by_id)
            if self.before_by_id.get(key, 0) != after.get(key, 0)
        }

    def _lead_cells(
        self, index: Index, leads: Mapping[tuple[int, int], int]
    ) -> dict[tuple[str, str, int], tuple[str | None, str | None]]:
        """(task id, "", period from `start` on) -> (the baseline's lead, the plan's), where they differ."""
        led = self.leads_by_period(index, leads)
        return {
            (task, "", p): (self.lead_before.get((task, p)), led.get((task, p)))
            for task, p in set(led) | set(self.lead_before)
            if p >= self.start and self.lead_before.get((task, p)) != led.get((task, p))
        }

    def leads_by_period(
        self, index: Index, leads: Mapping[tuple[int, int], int]
    ) -> dict[tuple[str, int], str]:
        """A plan's lead nation per (task id, period) from `start` on."""
        out = {}
        for (t, k), n in leads.items():
            first, last = index.terms[t][k]
            for p in range(max(first, self.start), last + 1):
                out[index.tasks[t].id, p] = index.nations[n].id
        return out

    def lead_terms(self, index: Index, leads: Mapping[tuple[int, int], int]) -> list[LeadTerm]:
        """The plan's lead terms: history's as the baseline had them, a term that runs across
        `start` with its lead from `start` on (one term when the lead stays, two when it changed),
        and the later terms'."""
        out = {(r.task, r.start): r for r in self.history_leads}
        for (t, k), n in sorted(leads.items()):
            first, last = index.terms[t][k]
            task, nation = index.tasks[t].id, index.nations[n].id
            if first >= self.start:
                out[task, first] = LeadTerm(task, nation, first, last)
                continue
            past = out.get((task, first))
            if past is not None and past.nation == nation:
                out[task, first] = LeadTerm(task, nation, first, last)
            else:
                out[task, self.start] = LeadTerm(task, nation, self.start, last)
        return sorted(out.values(), key=lambda r: (r.task, r.start))

    def plan_document(
        self, index: Index, counts: Mapping[Tour, int], leads: Mapping[tuple[int, int], int]
    ) -> dict[str, Any]:
        """A re-plan's plan (tour counts; (task, term) -> lead nation) as the solution document
        the checker reads, with its `replan` record; RuntimeError as :meth:`assignments`."""
        return {
            "status": "feasible",
            "replan": {"baseline": self.baseline, "from": self.start},
            "assignments": [vars(a) for a in self.assignments(index, counts)],
            "leads": [vars(lead) for lead in self.lead_terms(index, leads)],
        }

    def assignments(self, index: Index, counts: Mapping[Tour, int]) -> list[Assignment]:
        """Units for a plan's tours: history's keep the baseline's unit numbers (a tour that ran
        across `start` keeps its unit, however it ends), later tours get the lowest unit free
        (from its history's last tour and rest on)."""
        free_from: dict[int, dict[int, int]] = defaultdict(dict)  # offer -> unit -> first free period
        out: list[Assignment] = []

        def hold(o: int, unit: int, tour: Tour) -> None:
            gap = index.rest_gap(o)
            free_from[o][unit] = max(free_from[o].get(unit, 0), tour.end + gap + 1)
            out.append(Assignment(index.offers[o].id, unit, index.tasks[tour.task].id, tour.start, tour.end))

        left = dict(counts)
        for tour, units in sorted(self.kept.items(), key=lambda kv: (kv[0].offer, kv[0].start, kv[0].task)):
            for unit in units:
                hold(tour.offer, unit, tour)
            left[tour] = left.get(tour, 0) - len(units)
        for (o, t, s), units in sorted(self.crossing.items()):
            lengths = sorted(
                length
                for length in self.endings(index, o, t, s)
                for _ in range(max(left.get(Tour(o, t, s, length), 0), 0))
            )
            for unit, length in zip(sorted(units), lengths, strict=False):
                tour = Tour(o, t, s, length)
                hold(o, unit, tour)
                left[tour] -= 1
        for tour in sorted(
            (r for r, n in left.items() for _ in range(n) if n > 0),
            key=lambda r: (r.offer, r.start, r.task, r.length),
        ):
            busy_until = free_from[tour.offer]
            free_unit = next(
                (
                    u
                    for u in range(1, index.offers[tour.offer].units + 1)
                    if busy_until.get(u, 0) <= tour.start
                ),
                None,
            )
            if free_unit is None:
                raise RuntimeError(
                    f"offer '{index.offers[tour.offer].id}' has more overlapping tours than units"
                )
            hold(tour.offer, free_unit, tour)
        return sorted(out)


def _deployed(index: Index, counts: Mapping[Tour, int], t: int) -> dict[tuple[int, int], int]:
    """Units each nation deploys on task t per period: (nation, period) -> units."""
    out: dict[tuple[int, int], int] = defaultdict(int)
    for tour, n in counts.items():
        if tour.task == t:
            for p in range(tour.start, tour.end + 1):
                out[index.offer_nation[tour.offer], p] += n
    return out


def _busy(index: Index, counts: Mapping[Tour, int], offers: set[int]) -> dict[tuple[int, int], int]:
    """Units of each of `offers` busy per period (deployed, or resting after a tour)."""
    out: dict[tuple[int, int], int] = defaultdict(int)
    for tour, n in counts.items():
        if tour.offer in offers:
            for p in range(tour.start, tour.end + index.rest_gap(tour.offer) + 1):
                out[tour.offer, p] += n
    return out


def _fits(index: Index, busy: Mapping[tuple[int, int], int], tour: Tour) -> bool:
    """Whether a unit of the tour's offer is free for the tour and its rest."""
    units = index.offers[tour.offer].units
    last = tour.end + index.rest_gap(tour.offer)
    return all(busy.get((tour.offer, p), 0) < units for p in range(tour.start, last + 1))


def _contribution_tours(
    index: Index,
    columns: Collection[Tour],
    counts: Mapping[Tour, int],
    deployed: Mapping[tuple[int, int], int],
    n: int,
    t: int,
    periods: range,
    need: int,
    start: int,
) -> list[Tour] | None:
    """Tours of nation n's offers on task t (from `columns`, starting at `start` or later, with a
    unit free for them and their rest) that bring its units up to `need` in every one of
    `periods`: none when it has them already, None when its offers cannot.  Greedy: at the first
    short period, the tour covering most short ones."""
    short = {p: need - deployed.get((n, p), 0) for p in periods if deployed.get((n, p), 0) < need}
    mine = [c for c in columns if c.task == t and c.start >= start and index.offer_nation[c.offer] == n]
    busy = _busy(index, counts, {c.offer for c in mine})
    added: list[Tour] = []
    while short:
        p = min(short)
        covering = [c for c in mine if c.start <= p <= c.end and _fits(index, busy, c)]
        if not covering:
            return None
        best = max(
            covering, key=lambda c: (sum(1 for q in range(c.start, c.end + 1) if q in short), -c.length)
        )
        added.append(best)
        for q in range(best.start, best.end + index.rest_gap(best.offer) + 1):
            busy[best.offer, q] += 1
        for q in range(best.start, best.end + 1):
            if q in short:
                short[q] -= 1
                if not short[q]:
                    del short[q]
    return added


def _runs(
    cells: Mapping[tuple[str, str, int], V],
) -> Iterator[tuple[tuple[str, str, int, int], V]]:
    """Consecutive periods of one (id, id) with the same value, as (id, id, first, last)."""
    grouped: dict[tuple[str, str], dict[int, V]] = defaultdict(dict)
    for (a, b, p), value in cells.items():
        grouped[a, b][p] = value
    for (a, b), by_period in sorted(grouped.items()):
        for first, last in equal_runs(by_period):
            yield (a, b, first, last), by_period[first]


@dataclass
class ReplanTourStructure(TourStructure):
    """The tours structure of a re-plan: tours from `start` on, and the history's (module doc)."""

    history: PlanHistory = field(default_factory=lambda: PlanHistory(1))
    #: (offer, task, start) of the history -> {length: column position}
    history_columns: dict[tuple[int, int, int], dict[int, int]] = field(default_factory=dict)

    @classmethod
    def build_replan(cls, index: Index, history: PlanHistory) -> ReplanTourStructure:
        future = [r for r in index.tours() if r.start >= history.start]
        groups = history.history_tours(index)
        past = [
            Tour(o, t, s, length)
            for (o, t, s), lengths in sorted(groups.items())
            for length in sorted(lengths)
        ]
        tours = past + future
        columns = [Column(r.offer, r.task, r.length, 1) for r in tours]
        structure = cls(index, Scales.of(index), columns, tours=tours, history=history)
        for i, r in enumerate(past):
            structure.history_columns.setdefault((r.offer, r.task, r.start), {})[r.length] = i
        structure._index_covers((i, p) for i, r in enumerate(tours) for p in range(r.start, r.end + 1))
        return structure

    def upper_bound(self, i: int) -> int:
        tour = self.tours[i]
        units = self.index.offers[tour.offer].units
        if tour.start >= self.history.start:
            return units
        key = (tour.offer, tour.task, tour.start)
        held = len(self.history.crossing.get(key, [])) + len(self.history.kept.get(tour, []))
        return max(units, held)

    def formulation_rows(self) -> Iterator[Row]:
        """history[OFFER>TASK@S]: the tours that ended before `start` keep their units; those that
        ran across it end once each, at start - 1 or later."""
        h = self.history
        for (o, t, s), lengths in sorted(self.history_columns.items()):
            name = names.history(self.index.offers[o].id, self.index.tasks[t].id, s)
            going_on = set(h.endings(self.index, o, t, s)) if (o, t, s) in h.crossing else set()
            for length, i in sorted(lengths.items()):
                held = len(h.kept.get(Tour(o, t, s, length), []))
                if length not in going_on:
                    yield Row(name, [(i, 1)], "==", held)
                elif held:
                    yield Row(name, [(i, 1)], ">=", held)
            if going_on:
                positions = [lengths[length] for length in sorted(going_on)]
                held = sum(len(h.kept.get(Tour(o, t, s, length), [])) for length in going_on)
                units = len(h.crossing[o, t, s])
                yield Row(name, [(i, 1) for i in positions], "==", units + held)

    def capacity_cells(self) -> Iterator[tuple[int, int, list[int]]]:
        """As in any solve, at the periods from `start` on (history's capacity was its own)."""
        return ((o, p, cells) for o, p, cells in super().capacity_cells() if self.history.planned(p))

    def capacity(self, o: int, p: int) -> int:
        """The offer's units or, where the history alone holds more busy in p (fewer units now,
        longer rest), that many: what happened, happened."""
        h, gap = self.history, self.index.rest_gap(o)
        kept = sum(len(units) for r, units in h.kept.items() if r.offer == o and r.start <= p <= r.end + gap)
        cut = sum(
            len(units) for (oo, _t, _s), units in h.crossing.items() if oo == o and p <= h.start - 1 + gap
        )
        return max(self.index.offers[o].units, kept + cut)
