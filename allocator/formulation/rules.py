"""Every rule, written once: the rows it adds to the model, for both formulations and backends.

A rule is a function from the :class:`Formulation` under construction to rows, registered with
its stable name (``docs/rules.md``).  Rows are built in registration order; a rule may add the
variables it needs (shortfall and missing-nation counts).  Placement, caveats and tour shapes are
not rows: the structure's columns only exist where a unit may serve (``reference``,
``placement``, ``caveat``); ``report`` is the checker's alone.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from allocator import names
from allocator.formulation.history import PlanHistory
from allocator.formulation.linear import LinearModel, Objective, Row, Terms
from allocator.formulation.scales import scaled
from allocator.formulation.structure import Structure
from allocator.instance.index import Check, Index, Tour
from allocator.instance.spec import ModelSpec

log = logging.getLogger(__name__)

#: Rows streamed between two calls of a formulation's `check`.
CHECK_ROWS = 1024


@dataclass(frozen=True)
class Rule:
    """A rule's stable name, its number in the rules of ``docs/rules.md`` and what it says."""

    name: str
    number: int
    says: str


@dataclass
class Formulation:
    """What the rules build on: the instance's index and structure, its model, and the linear
    model they add rows (and variables) to."""

    index: Index
    structure: Structure
    spec: ModelSpec
    model: LinearModel
    #: (task, capability, period) -> position of the units-short variable (soft demand)
    short_units: dict[tuple[int, str, int], int] = field(default_factory=dict)
    #: (task, period) -> position of the nations-missing variable (soft min_nations)
    short_nations: dict[tuple[int, int], int] = field(default_factory=dict)
    #: rows that define objectives' helper variables (fairness burdens and deviations)
    definitions: list[Row] = field(default_factory=list)
    #: the objectives to build once every rule's rows are out, by name
    objective_builders: dict[str, Callable[[Formulation], Objective]] = field(default_factory=dict)
    #: a re-plan's history (:mod:`allocator.formulation.history`), None in a plain solve
    history: PlanHistory | None = None
    #: rows over objectives (a re-plan's `max-changes`), streamed after the definitions
    limits: list[Row] = field(default_factory=list)
    #: called every CHECK_ROWS rows as they stream (it raises to stop the building)
    check: Check | None = None
    _streamed: bool = False

    def rows(self, order: Sequence[str] | None = None) -> Iterator[Row]:
        """Every rule's rows, then the objectives' definitions; once.

        The row builders run in `order` (their names, every one of :data:`BUILDERS`), or in
        registration order.  A rule may add variables as it goes (shortfall counts): a consumer
        adds the variables the model has gained before each row.  When the stream ends, the
        objectives are built.
        """
        return (row for _, row in self.sections(order))

    def sections(self, order: Sequence[str] | None = None) -> Iterator[tuple[str, Row]]:
        """:meth:`rows`, each with the name of the builder that wrote it (``"objectives"`` for
        the objectives' definitions), for a consumer that puts them in another order."""
        if self._streamed:
            raise RuntimeError("the rows of a formulation stream once")
        if order is not None and sorted(order) != sorted(BUILDERS):
            raise ValueError(f"a row order names every builder once: {sorted(BUILDERS)}")
        self._streamed = True
        check = self.check
        for name in order or BUILDERS:
            builder = BUILDERS[name]
            started, before = time.perf_counter(), self.model.row_count
            for row in builder(self):
                self.model.row_count += 1
                if check is not None and not self.model.row_count % CHECK_ROWS:
                    check()
                yield name, row
            rows, seconds = self.model.row_count - before, time.perf_counter() - started
            log.debug("rows of %s: %d in %.2fs (with the consumer's time)", name, rows, seconds)
        for name, build in self.objective_builders.items():
            self.model.objectives[name] = build(self)
        self.model.row_count += len(self.definitions) + len(self.limits)
        for row in [*self.definitions, *self.limits]:
            yield OBJECTIVE_ROWS, row

    @property
    def hard(self) -> bool:
        return self.spec.shortfall == "hard"

    def planned(self, p: int) -> bool:
        """Whether period p is the plan's to choose: every period, but a re-plan's history (its
        rules were judged in their time; the history is kept as it was)."""
        return self.history is None or self.history.planned(p)

    def hard_in(self, p: int) -> bool:
        """Whether demand and min_nations are hard in period p (in history they are measured)."""
        return self.hard and self.planned(p)

    def tour_counts(self, values: list[float]) -> dict[Tour, int]:
        """Units starting each tour, in a solution (variable values in model order)."""
        return self.structure.tour_counts(self.model.column_values(values))

    def column_terms(self, positions: list[int]) -> Terms:
        return [(i, 1) for i in positions]


RowBuilder = Callable[[Formulation], Iterator[Row]]

#: The section of :meth:`Formulation.sections` that holds the objectives' definitions.
OBJECTIVE_ROWS = "objectives"

#: Every rule by name, in the order of ``docs/rules.md``.
RULES: dict[str, Rule] = {}
#: The row builders by the name of the first rule each writes, in registration order (the order
#: their rows enter a model unless a backend asks for another).
BUILDERS: dict[str, RowBuilder] = {}


def _declare(*rules: Rule) -> None:
    for rule in rules:
        RULES[rule.name] = rule


def builds(*rules: Rule) -> Callable[[RowBuilder], RowBuilder]:
    """Register a row builder and the rules whose rows it writes (named after the first)."""

    def register(builder: RowBuilder) -> RowBuilder:
        _declare(*rules)
        BUILDERS[rules[0].name] = builder
        return builder

    return register


_declare(
    Rule("reference", 1, "ids exist and units are in range"),
    Rule(
        "placement",
        1,
        "a tour lies inside the offer's availability, the task's active window, "
        "and only where the task requires the offer's capability",
    ),
    Rule("caveat", 2, "an offer with `tasks` serves only those tasks"),
)


# rule 7 (hard) or the shortfall link (soft) -------------------------------------------------
@builds(Rule("demand", 7, "every requirement is met in full (hard)"))
def demand(f: Formulation) -> Iterator[Row]:
    """deployed + short >= required (soft); deployed >= required (hard), = where a cut applies."""
    exact = {(t, cap, p) for t, cap, p, _, _ in capped_demand(f)} if f.hard else set()
    for t, cap, p, positions, need in demand_cells(f.structure):
        name = names.demand(f.index.tasks[t].id, cap, p)
        if f.hard_in(p):
            yield Row(name, f.column_terms(positions), "==" if (t, cap, p) in exact else ">=", need)
            continue
        label = f"short[{f.index.tasks[t].id}:{cap}@{p}]"
        short = f.short_units[t, cap, p] = f.model.add_variable("u", label, need)
        yield Row(name, [*f.column_terms(positions), (short, 1)], ">=", need)


def demand_cells(s: Structure) -> Iterator[tuple[int, str, int, list[int], int]]:
    """(task, capability, period, column positions, units required) of every positive need."""
    for t in range(len(s.index.tasks)):
        lo, hi = s.index.active[t]
        for cap, need in s.index.demand[t].items():
            for p in range(lo, hi + 1):  # pragma: no mutate -- no need outside the active window
                if need[p] > 0:
                    positions = s.capability_cover.get((t, cap, p), [])
                    yield t, cap, p, positions, int(need[p])


def capped_demand(f: Formulation) -> Iterator[tuple[int, str, int, list[int], int]]:
    """(task, capability, period, positions, units required) where extra units can never help.

    Extra units at (task, capability, period) help only through fairness, min_nations or a
    lead's contribution; and they can be removed without touching other periods only if every
    tour covering that period lasts one period.  Where neither can happen, some optimal plan
    deploys no more than required, so a cut `deployed <= required` loses no optimum.  It turns
    one-period assignment problems (GAP) into their exact-cover form.
    """
    if "fairness" in f.spec.objective_names:
        return
    for t, cap, p, positions, need in demand_cells(f.structure):
        task = f.index.tasks[t]
        if not f.planned(p):
            continue  # history may hold more
        if task.min_nations or task.lead is not None:
            continue  # pragma: no mutate -- 'break' omits valid cuts: the optimum stays
        if positions and all(f.structure.one_period_only(i) for i in positions):
            yield t, cap, p, positions, need


# rule 3 ---------------------------------------------------------------------------------------
@builds(
    Rule("tour-length", 3, "a tour lasts between min_tour and max_tour periods"),
    Rule("tour-flow", 3, "the flow formulation's link: deployed units change only as tours start and end"),
)
def tour_shape(f: Formulation) -> Iterator[Row]:
    """The flow formulation's rows (none for tour starts, whose columns are whole tours)."""
    return f.structure.formulation_rows()


@builds(
    Rule(
        "unit-capacity",
        3,
        "a unit serves one task at a time and rests min_rest (at least one) periods between tours",
    )
)
def unit_capacity(f: Formulation) -> Iterator[Row]:
    """Tours plus their rest never need more units of an offer than it has."""
    return f.structure.unit_capacity()


# rule 4 ---------------------------------------------------------------------------------------
@builds(Rule("personnel-cap", 4, "personnel deployed by a nation in a period <= max_personnel"))
def personnel_cap(f: Formulation) -> Iterator[Row]:
    """Personnel of a nation's deployed units in period p <= max_personnel."""
    s, scale = f.structure, f.structure.scales.personnel
    per_nation: dict[tuple[int, int], Terms] = defaultdict(list)
    for (o, _t, p), positions in s.cover.items():
        weight = scaled(f.index.offers[o].personnel, scale)
        if weight:
            per_nation[f.index.offer_nation[o], p].extend((i, weight) for i in positions)
    for (n, p), terms in sorted(per_nation.items()):
        nation = f.index.nations[n]
        if nation.max_personnel is not None and f.planned(p):
            yield Row(names.personnel_cap(nation.id, p), terms, "<=", scaled(nation.max_personnel, scale))


@builds(Rule("budget", 4, "a nation's cost over the horizon <= budget"))
def budget(f: Formulation) -> Iterator[Row]:
    """A nation's cost over the horizon <= budget."""
    s, scale = f.structure, f.structure.scales.cost
    per_nation: dict[int, Terms] = defaultdict(list)
    for i, c in enumerate(s.columns):
        weight = scaled(f.index.offers[c.offer].cost, scale) * c.periods
        if weight:
            per_nation[f.index.offer_nation[c.offer]].append((i, weight))
    spent = spent_in_history(f)
    for n, nation in enumerate(f.index.nations):
        if nation.budget is not None and n in per_nation:
            limit = max(scaled(nation.budget, scale), spent.get(n, 0))
            yield Row(names.budget(nation.id), per_nation[n], "<=", limit)


def spent_in_history(f: Formulation) -> dict[int, int]:
    """Per nation, the (scaled) cost of a re-plan's history: the periods before `start` of its
    tours.  A budget the history alone exceeds allows nothing more, and no less than history."""
    h = f.history
    if h is None:
        return {}
    scale = f.structure.scales.cost
    spent: dict[int, int] = defaultdict(int)
    for tour, units in h.kept.items():
        spent[f.index.offer_nation[tour.offer]] += (
            scaled(f.index.offers[tour.offer].cost, scale) * tour.length * len(units)
        )
    for (o, _t, s), units in h.crossing.items():
        spent[f.index.offer_nation[o]] += scaled(f.index.offers[o].cost, scale) * (h.start - s) * len(units)
    return dict(spent)


# rule 5 ---------------------------------------------------------------------------------------
@builds(Rule("nation-presence", 5, "a nation counts on a task in a period iff it deploys a unit there"))
def nation_presence(f: Formulation) -> Iterator[Row]:
    """presence = 1 only if the nation deploys (min_nations); = 1 if it deploys (max_nations)."""
    for (n, t, p), y in sorted(f.model.presence.items()):
        task = f.index.tasks[t]
        positions = f.structure.nation_cover[n, t, p]
        name = names.nation_presence(f.index.nations[n].id, task.id, p)
        if task.min_nations:
            yield Row(name, f.column_terms(positions), ">=", 1, when=(y, 1))
        if task.max_nations is not None:
            largest = f.structure.units_bound(positions)
            yield Row(name, f.column_terms(positions), "<=", 0, when=(y, 0), largest=largest)


@builds(
    Rule("max-nations", 5, "at most max_nations distinct nations on a task in a period"),
    Rule("min-nations", 5, "at least min_nations distinct nations on a task in a period (hard)"),
)
def nation_counts(f: Formulation) -> Iterator[Row]:
    """At most max_nations; at least min_nations (hard) or count the nations missing (soft)."""
    for t, p, nations in counted_cells(f):
        task = f.index.tasks[t]
        present: Terms = [(f.model.presence[n, t, p], 1) for n in nations]
        if task.max_nations is not None and len(present) > task.max_nations and f.planned(p):
            yield Row(names.max_nations(task.id, p), present, "<=", task.max_nations)
        if not task.min_nations:
            continue
        if not f.hard_in(p):
            label = f"missing-nations[{task.id}@{p}]"
            missing = f.short_nations[t, p] = f.model.add_variable("v", label, task.min_nations)
            present = [*present, (missing, 1)]
        yield Row(names.min_nations(task.id, p), present, ">=", task.min_nations)


def presence_keys(s: Structure) -> list[tuple[int, int, int]]:
    """(nation, task, period) needing a presence indicator: tasks with min or max nations."""
    tasks = s.index.tasks
    return [
        key
        for key in sorted(s.nation_cover)
        if tasks[key[1]].min_nations or tasks[key[1]].max_nations is not None
    ]


def counted_cells(f: Formulation) -> Iterator[tuple[int, int, list[int]]]:
    """(task, period, nations that could serve) of every active period of a task with min or max nations."""
    present: dict[tuple[int, int], list[int]] = defaultdict(list)
    for n, t, p in sorted(f.model.presence):
        present[t, p].append(n)
    for t, task in enumerate(f.index.tasks):
        if not task.min_nations and task.max_nations is None:
            continue
        lo, hi = f.index.active[t]
        for p in range(lo, hi + 1):
            yield t, p, present.get((t, p), [])


# rule 7: a cut, not a rule ----------------------------------------------------------------------
@builds(
    Rule(
        "demand-cap",
        7,
        "a dominance cut, not a rule: no more units than required where extra units "
        "can never help (one-period tours, no fairness, min_nations or lead)",
    )
)
def demand_cap(f: Formulation) -> Iterator[Row]:
    """deployed <= required where extra units never help (with hard demand, part of `demand`)."""
    for t, cap, p, positions, need in capped_demand(f):
        if f.hard_in(p):
            continue  # part of `demand`
        yield Row(names.demand_cap(f.index.tasks[t].id, cap, p), f.column_terms(positions), "<=", need)


# rule 6 ---------------------------------------------------------------------------------------
@builds(
    Rule("lead-one", 6, "exactly one eligible lead per term"),
    Rule("lead-first", 6, "`first` leads the first term"),
    Rule("lead-rotate", 6, "consecutive terms have different leads"),
    Rule("lead-contribution", 6, "the lead deploys at least `contribution` units in each period it leads"),
)
def lead(f: Formulation) -> Iterator[Row]:
    """One lead per term from the eligible nations, `first` first, rotation, contribution."""
    for (t, k), nations in lead_terms(f.index, f.history).items():
        task = f.index.tasks[t]
        rule = task.lead
        assert rule is not None
        chosen = {n: f.model.lead[t, k, n] for n in nations}
        first, last = f.index.terms[t][k]
        yield Row(names.lead_one(task.id, k), [(chosen[n], 1) for n in nations], "==", 1, choice=True)
        yield from history_lead(f, t, k, chosen)
        if k == 0 and rule.first is not None and f.planned(first):
            yield Row(names.lead_first(task.id), [(chosen[f.index.nation_pos[rule.first]], 1)], "==", 1)
        if rule.rotate and len(nations) > 1 and (t, k + 1, nations[0]) in f.model.lead:
            for n in nations:
                pair = [(chosen[n], 1), (f.model.lead[t, k + 1, n], 1)]
                yield Row(names.lead_rotate(task.id, k), pair, "<=", 1, choice=True)
        if rule.contribution <= 0:
            continue
        for n in nations:
            for p in range(max(first, f.history.start if f.history else 1), last + 1):
                name = names.lead_contribution(task.id, f.index.nations[n].id, p)
                positions = f.structure.nation_cover.get((n, t, p), [])
                if positions:
                    yield Row(name, f.column_terms(positions), ">=", rule.contribution, when=(chosen[n], 1))
                else:
                    yield Row(name, [(chosen[n], 1)], "==", 0)


def lead_terms(index: Index, history: PlanHistory | None = None) -> dict[tuple[int, int], list[int]]:
    """(task, term) -> the nations eligible to lead it, for every task with a lead (in a re-plan,
    the terms that reach its `start`: earlier ones are history)."""
    start = 1 if history is None else history.start
    return {
        (t, k): sorted(index.nation_pos[n] for n in task.lead.nations)
        for t, task in enumerate(index.tasks)
        if task.lead is not None
        for k in range(len(index.terms[t]))
        if index.terms[t][k][1] >= start
    }


def history_lead(f: Formulation, t: int, k: int, chosen: dict[int, int]) -> Iterator[Row]:
    """A re-plan's term that began in history keeps the baseline's lead while that nation is still
    eligible (``history[TASK#K]``); otherwise the lead may change at `start`, to a nation other
    than the previous term's when the lead rotates (``lead-rotate[TASK#K-1]``)."""
    h = f.history
    first, _last = f.index.terms[t][k]
    if h is None:
        return
    task = f.index.tasks[t]
    assert task.lead is not None
    if first < h.start:
        was = h.lead_before.get((task.id, h.start - 1))
        if was is not None and was in task.lead.nations:
            yield Row(names.history_lead(task.id, k), [(chosen[f.index.nation_pos[was]], 1)], "==", 1)
            return
    if k == 0 or not task.lead.rotate or len(task.lead.nations) < 2:
        return
    before = f.index.terms[t][k - 1]
    previous = h.lead_before.get((task.id, before[1]))
    if before[1] < h.start and previous is not None and previous in task.lead.nations:
        yield Row(names.lead_rotate(task.id, k - 1), [(chosen[f.index.nation_pos[previous]], 1)], "<=", 0)


_declare(Rule("report", 4, "the solution's objectives and shortfalls agree with its plan"))
_declare(
    Rule(
        "history",
        8,
        "a re-plan keeps the baseline's units and leads before `from` "
        "(rows of the re-plan's structure, :mod:`allocator.formulation.history`)",
    )
)
