"""One function per rule of ``docs/rules.md``, each returning its violations in words.

Deliberately independent of model building: plain dictionaries over the solution's tours.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from allocator import names
from allocator.checker.solution import Solution, UnitTour
from allocator.instance.model import Instance
from allocator.instance.parts import Offer, Task


@dataclass(frozen=True)
class Violation:
    """A broken `rule`, in words; `name` is the rule instance (``personnel-cap[FR@3]``, the name
    the model and explanations give it) where the rule has instances."""

    rule: str
    message: str
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.name or self.rule}: {self.message}"


@dataclass(frozen=True)
class Named:
    """A finding of one rule instance: its `name` and what is wrong, in words."""

    name: str
    text: str


#: What a rule function finds: words, or words of a named rule instance.
Finding = str | Named


class Facts:
    """Look-ups of the instance and the solution's deployment, for the rule functions.

    A re-plan is checked with its `baseline`: periods before ``start`` (its ``from``) are history,
    kept as the baseline has them and judged by rule ``history`` alone; the other rules judge
    periods from ``start`` on (``start`` is 1 for a plain plan: every period).
    """

    def __init__(self, instance: Instance, solution: Solution, baseline: Solution | None = None):
        self.instance = instance
        self.solution = solution
        self.baseline = baseline
        self.start = solution.replan.start if baseline is not None and solution.replan else 1
        self.T = instance.horizon.periods
        self.offers = {o.id: o for o in instance.offers}
        self.tasks = {t.id: t for t in instance.tasks}
        self.nations = {n.id: n for n in instance.nations}
        self.valid = [a for a in solution.tours if self.references_ok(a)]
        # units deployed per (offer, task, period)
        self.units: dict[tuple[str, str, int], int] = defaultdict(int)
        for a in self.valid:
            for p in range(a.start, a.end + 1):
                self.units[a.offer, a.task, p] += 1
        self.by_nation: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.by_capability: dict[tuple[str, str, int], int] = defaultdict(int)
        for (offer_id, task, p), n in self.units.items():
            offer = self.offers[offer_id]
            self.by_nation[task, p][offer.nation] += n
            self.by_capability[task, offer.capability, p] += n
        self.leads = self._leads_by_period()

    def planned(self) -> list[UnitTour]:
        """The tours the rules judge: those reaching `start` (all of them in a plain plan)."""
        return [a for a in self.valid if a.end >= self.start]

    def references_ok(self, a: UnitTour) -> bool:
        offer = self.offers.get(a.offer)
        return offer is not None and a.task in self.tasks and 1 <= a.unit <= offer.units and a.start <= a.end

    def active(self, task: Task) -> range:
        lo, hi = task.active or (1, self.T)
        return range(lo, hi + 1)

    def judged(self, task: Task) -> range:
        """The task's active periods from `start` on: those the period rules judge."""
        lo, hi = task.active or (1, self.T)
        return range(max(lo, self.start), hi + 1)

    def required(self, task: Task, capability: str, p: int) -> int:
        """Units of `capability` the task requires in period p (requirement windows lie inside the
        task's active window, so nothing is required outside it)."""
        lo, hi = task.active or (1, self.T)
        total = 0
        for req in task.requirements:
            first, last = req.periods or (lo, hi)
            if req.capability == capability and first <= p <= last:
                total += req.units
        return total

    def nation_units(self, task: str, p: int) -> dict[str, int]:
        """Units each nation deploys on `task` in period p (nations with none are absent)."""
        return self.by_nation.get((task, p), {})

    def _leads_by_period(self) -> dict[str, dict[int, list[str]]]:
        out: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
        for term in self.solution.terms:
            if term.task in self.tasks:
                for p in range(term.start, term.end + 1):
                    out[term.task][p].append(term.nation)
        return out

    def lead_terms(self, task: Task) -> list[list[int]]:
        """The task's lead terms as lists of periods, counted from its first active period."""
        assert task.lead is not None
        active = list(self.active(task))
        return [active[i : i + task.lead.term] for i in range(0, len(active), task.lead.term)]

    def single_leads(self, task: Task) -> dict[int, str]:
        """Period -> lead, where exactly one lead is given."""
        return {p: names[0] for p, names in self.leads.get(task.id, {}).items() if len(names) == 1}

    def term_leads(self, task: Task) -> list[str | None]:
        """The lead of each term (its first period's), None where not given."""
        single = self.single_leads(task)
        return [single.get(periods[0]) for periods in self.lead_terms(task)]


def _unit(a: UnitTour) -> str:
    return f"{a.offer} unit {a.unit}"


def reference(f: Facts) -> list[str]:
    out = []
    for a in f.solution.tours:
        offer = f.offers.get(a.offer)
        if offer is None:
            out.append(f"{a.where}: unknown offer '{a.offer}'")
            continue
        if a.task not in f.tasks:
            out.append(f"{a.where}: unknown task '{a.task}'")
        if not 1 <= a.unit <= offer.units:
            out.append(f"{a.where}: unit {a.unit} outside 1..{offer.units} of offer '{a.offer}'")
        if a.start > a.end:
            out.append(f"{a.where}: start {a.start} after end {a.end}")
    for term in f.solution.terms:
        if term.task not in f.tasks:
            out.append(f"{term.where}: unknown task '{term.task}'")
        if term.nation not in f.nations:
            out.append(f"{term.where}: unknown nation '{term.nation}'")
    return out


def placement(f: Facts) -> list[str]:
    """Inside the offer's availability and the task's window, where its capability is required;
    for a re-plan, the part of each tour from `start` on (history was placed in its time)."""
    out = []
    for a in f.planned():
        offer, task = f.offers[a.offer], f.tasks[a.task]
        begin = max(a.start, f.start)
        first, last = offer.available or (1, f.T)
        if begin < first or a.end > last:
            out.append(
                f"{a.where}: {_unit(a)} deployed {a.start}-{a.end}, outside its availability {first}-{last}"
            )
        lo, hi = task.active or (1, f.T)
        if begin < lo or a.end > hi:
            out.append(f"{a.where}: task '{a.task}' is active {lo}-{hi}, tour is {a.start}-{a.end}")
        idle = [
            p for p in range(max(begin, lo), min(a.end, hi) + 1) if f.required(task, offer.capability, p) <= 0
        ]
        if idle:
            out.append(
                f"{a.where}: task '{a.task}' requires no '{offer.capability}' in period(s) "
                f"{', '.join(map(str, idle))}"
            )
    return out


def caveat(f: Facts) -> list[str]:
    out = []
    for a in f.planned():
        allowed = f.offers[a.offer].tasks
        if allowed is not None and a.task not in allowed:
            out.append(f"{a.where}: offer '{a.offer}' may serve only {', '.join(allowed)}, not '{a.task}'")
    return out


def tour_length(f: Facts) -> list[Finding]:
    """min_tour to max_tour periods, shorter only when ending in the last period; a tour that
    ends before a re-plan's `start` is history, or a history tour cut at `start` - 1."""
    out: list[Finding] = []
    for a in f.planned():
        offer: Offer = f.offers[a.offer]
        length = a.end - a.start + 1
        name = names.tour_length(a.offer, a.task, a.start)
        if offer.max_tour is not None and length > offer.max_tour:
            out.append(
                Named(
                    name, f"{a.where}: {_unit(a)} tour of {length} periods exceeds max_tour {offer.max_tour}"
                )
            )
        if length < offer.min_tour and a.end != f.T:
            out.append(
                Named(
                    name,
                    f"{a.where}: {_unit(a)} tour of {length} periods is shorter than "
                    f"min_tour {offer.min_tour} and does not end in the last period",
                )
            )
    return out


def unit_capacity(f: Facts) -> list[Finding]:
    """One task at a time; at least max(1, min_rest) idle periods between two tours."""
    out: list[Finding] = []
    by_unit: dict[tuple[str, int], list[UnitTour]] = defaultdict(list)
    for a in f.valid:
        by_unit[a.offer, a.unit].append(a)
    for (offer_id, unit), tours in sorted(by_unit.items()):
        need = max(1, f.offers[offer_id].min_rest)
        tours.sort(key=lambda a: (a.start, a.end))
        for before, after in itertools.pairwise(tours):
            if after.end < f.start:  # both history: what happened, happened
                continue
            idle = after.start - before.end - 1
            name = names.unit_capacity(offer_id, after.start)
            if idle < 0:
                out.append(
                    Named(
                        name,
                        f"{offer_id} unit {unit}: {before.where} ({before.start}-{before.end}) and "
                        f"{after.where} ({after.start}-{after.end}) overlap",
                    )
                )
            elif idle < need:
                out.append(
                    Named(
                        name,
                        f"{offer_id} unit {unit}: {idle} idle period(s) between {before.where} and "
                        f"{after.where}, needs {need}",
                    )
                )
    return out


def personnel_cap(f: Facts) -> list[Finding]:
    totals: dict[tuple[str, int], float] = defaultdict(float)
    for (offer_id, _task, p), n in f.units.items():
        offer = f.offers[offer_id]
        if p >= f.start:
            totals[offer.nation, p] += n * offer.personnel
    out: list[Finding] = []
    for (nation, p), total in sorted(totals.items()):
        cap = f.nations[nation].max_personnel
        # '>' and '>=' differ only at exactly cap + 1e-6: float noise either way
        if cap is not None and total > cap + 1e-6:  # pragma: no mutate
            out.append(
                Named(
                    names.personnel_cap(nation, p),
                    f"nation '{nation}' deploys {total:g} personnel in period {p}, cap {cap:g}",
                )
            )
    return out


def budget(f: Facts) -> list[Finding]:
    """A nation's cost over the horizon <= budget; in a re-plan, history already spent counts, and
    a budget history alone exceeds allows nothing more."""
    totals: dict[str, float] = defaultdict(float)
    spent: dict[str, float] = defaultdict(float)
    for (offer_id, _task, p), n in f.units.items():
        offer = f.offers[offer_id]
        totals[offer.nation] += n * offer.cost
        if p < f.start:
            spent[offer.nation] += n * offer.cost
    out: list[Finding] = []
    for nation, total in sorted(totals.items()):
        cap = f.nations[nation].budget
        # '>' and '>=' differ only at exactly budget + 1e-6: float noise either way
        if cap is not None and total > max(cap, spent[nation]) + 1e-6:  # pragma: no mutate
            out.append(
                Named(
                    names.budget(nation),
                    f"nation '{nation}' costs {total:g} over the horizon, budget {cap:g}",
                )
            )
    return out


def max_nations(f: Facts) -> list[Finding]:
    out: list[Finding] = []
    for task in f.instance.tasks:
        if task.max_nations is None:
            continue
        for p in f.judged(task):
            count = len(f.nation_units(task.id, p))
            if count > task.max_nations:
                out.append(
                    Named(
                        names.max_nations(task.id, p),
                        f"task '{task.id}' period {p}: {count} nations, max_nations {task.max_nations}",
                    )
                )
    return out


def min_nations(f: Facts) -> list[Finding]:
    if f.instance.spec.shortfall != "hard":
        return []
    out: list[Finding] = []
    for task in f.instance.tasks:
        if not task.min_nations:
            continue
        for p in f.judged(task):
            count = len(f.nation_units(task.id, p))
            if count < task.min_nations:
                out.append(
                    Named(
                        names.min_nations(task.id, p),
                        f"task '{task.id}' period {p}: {count} nations, min_nations {task.min_nations}",
                    )
                )
    return out


def demand(f: Facts) -> list[Finding]:
    if f.instance.spec.shortfall != "hard":
        return []
    return [
        Named(
            names.demand(g["task"], g["capability"], g["period"]),
            f"task '{g['task']}' period {g['period']}: {g['units']} '{g['capability']}' unit(s) uncovered",
        )
        for g in recompute_shortfalls(f)
        if "capability" in g and g["period"] >= f.start
    ]


def _led_tasks(f: Facts) -> list[Task]:
    return [task for task in f.instance.tasks if task.lead is not None]


def lead_one(f: Facts) -> list[Finding]:
    """Exactly one eligible lead in every active period, none outside, constant inside a term."""
    out: list[Finding] = []
    for term in f.solution.terms:
        if term.task in f.tasks and f.tasks[term.task].lead is None and term.end >= f.start:
            out.append(f"{term.where}: task '{term.task}' has no lead")
    for task in _led_tasks(f):
        assert task.lead is not None
        given = f.leads.get(task.id, {})
        active = f.judged(task)
        for p in sorted(p for p in set(given) - set(active) if p >= f.start):
            out.append(f"task '{task.id}': lead given for period {p}, outside its active window")
        term_of = {p: k for k, periods in enumerate(f.lead_terms(task)) for p in periods}
        for p in active:
            leading = given.get(p, [])
            name = names.lead_one(task.id, term_of.get(p, 0))
            if len(leading) != 1:
                out.append(
                    Named(name, f"task '{task.id}' period {p}: {len(leading)} leads, needs exactly one")
                )
            elif leading[0] not in task.lead.nations:
                out.append(Named(name, f"task '{task.id}' period {p}: lead '{leading[0]}' is not eligible"))
        single = f.single_leads(task)
        for k, periods in enumerate(f.lead_terms(task)):
            if periods[-1] < f.start:
                continue  # history
            names_in_term = {single[p] for p in periods if p in single}
            past = {single[p] for p in periods if p in single and p < f.start}
            if past and not past & set(task.lead.nations):
                # a re-plan's one exception: the term's lead is no longer eligible, and may change
                # at `start` for the rest of the term
                names_in_term -= past
            if len(names_in_term) > 1:
                out.append(
                    Named(
                        names.lead_one(task.id, k),
                        f"task '{task.id}' term {k + 1} ({periods[0]}-{periods[-1]}): "
                        f"lead changes inside the term ({', '.join(sorted(names_in_term))})",
                    )
                )
    return out


def lead_first(f: Facts) -> list[Finding]:
    out: list[Finding] = []
    for task in _led_tasks(f):
        assert task.lead is not None
        leads = f.term_leads(task)
        if f.lead_terms(task)[0][0] < f.start:
            continue  # the first term began in history
        if task.lead.first is not None and leads and leads[0] not in (None, task.lead.first):
            out.append(
                Named(
                    names.lead_first(task.id),
                    f"task '{task.id}': first term led by '{leads[0]}', must be '{task.lead.first}'",
                )
            )
    return out


def lead_rotate(f: Facts) -> list[Finding]:
    out: list[Finding] = []
    for task in _led_tasks(f):
        assert task.lead is not None
        if not task.lead.rotate or len(set(task.lead.nations)) < 2:
            continue
        single = f.single_leads(task)
        terms = f.lead_terms(task)
        for k in range(len(terms) - 1):
            before, after = terms[k], terms[k + 1]
            if after[-1] < f.start:
                continue  # history
            # the lead that ends term k and the one that follows it (a term of a re-plan that
            # changed its lead at `start`: the lead from `start` on)
            first = after[0] if after[0] >= f.start else f.start
            if after[0] < f.start and single.get(f.start) == single.get(after[0]):
                continue  # unchanged since history
            a, b = single.get(before[-1]), single.get(first)
            if a is not None and a == b:
                out.append(
                    Named(
                        names.lead_rotate(task.id, k),
                        f"task '{task.id}': terms {k + 1} and {k + 2} both led by '{a}'",
                    )
                )
    return out


def lead_contribution(f: Facts) -> list[Finding]:
    out: list[Finding] = []
    for task in _led_tasks(f):
        assert task.lead is not None
        for p, nation in sorted(f.single_leads(task).items()):
            if p < f.start:
                continue
            got = f.nation_units(task.id, p).get(nation, 0)
            if got < task.lead.contribution:
                out.append(
                    Named(
                        names.lead_contribution(task.id, nation, p),
                        f"task '{task.id}' period {p}: lead '{nation}' deploys {got} unit(s), "
                        f"contribution {task.lead.contribution}",
                    )
                )
    return out


def history(f: Facts) -> list[str]:
    """A re-plan keeps the baseline's history: before `start`, the same units of the same offers on
    the same tasks, and the same leads, period by period."""
    if f.baseline is None:
        return []
    out = []
    plan, base = _cells(f.solution.tours, f.start), _cells(f.baseline.tours, f.start)
    for offer, unit, task, p in sorted(base - plan):
        out.append(f"period {p}: {offer} unit {unit} served {task} in the baseline, not in the plan")
    for offer, unit, task, p in sorted(plan - base):
        out.append(f"period {p}: {offer} unit {unit} serves {task}, not in the baseline")
    plan_leads, base_leads = _lead_cells(f.solution, f.start), _lead_cells(f.baseline, f.start)
    for task, p in sorted(set(plan_leads) | set(base_leads)):
        if plan_leads.get((task, p)) != base_leads.get((task, p)):
            out.append(
                f"task '{task}' period {p}: lead {plan_leads.get((task, p))!r}, "
                f"the baseline's {base_leads.get((task, p))!r}"
            )
    return out


def _cells(tours: tuple[UnitTour, ...], start: int) -> set[tuple[str, int, str, int]]:
    return {(a.offer, a.unit, a.task, p) for a in tours for p in range(a.start, min(a.end, start - 1) + 1)}


def _lead_cells(solution: Solution, start: int) -> dict[tuple[str, int], str]:
    return {(t.task, p): t.nation for t in solution.terms for p in range(t.start, min(t.end, start - 1) + 1)}


def recompute_changes(f: Facts) -> int:
    """A re-plan's `changes`: from `start` on, sum over (offer, task, period) of |units - the
    baseline's units|, plus the (task, period) whose lead differs from the baseline's."""
    assert f.baseline is not None
    before: dict[tuple[str, str, int], int] = defaultdict(int)
    for a in f.baseline.tours:
        for p in range(max(a.start, f.start), a.end + 1):
            before[a.offer, a.task, p] += 1
    after = {key: n for key, n in f.units.items() if key[2] >= f.start}
    units = sum(abs(after.get(key, 0) - before.get(key, 0)) for key in set(before) | set(after))
    led_before = _lead_cells(f.baseline, f.T + 1)
    led_after = _lead_cells(f.solution, f.T + 1)
    leads = sum(
        1
        for key in set(led_before) | set(led_after)
        if key[1] >= f.start and led_before.get(key) != led_after.get(key)
    )
    return units + leads


def recompute_shortfalls(f: Facts) -> list[dict[str, Any]]:
    """Every (task, capability, period) with uncovered units, every (task, period) missing nations."""
    out: list[dict[str, Any]] = []
    for task in f.instance.tasks:
        capabilities = sorted({r.capability for r in task.requirements})
        for p in f.active(task):
            for cap in capabilities:
                need = f.required(task, cap, p)
                got = f.by_capability.get((task.id, cap, p), 0)
                if need > got:
                    out.append({"task": task.id, "capability": cap, "period": p, "units": need - got})
            if task.min_nations:
                count = len(f.nation_units(task.id, p))
                if count < task.min_nations:
                    out.append({"task": task.id, "period": p, "nations": task.min_nations - count})
    return out


def recompute_surplus(f: Facts) -> int:
    """Units deployed beyond the requirement, summed over (task, capability, period)."""
    return sum(max(0, n - f.required(f.tasks[t], cap, p)) for (t, cap, p), n in f.by_capability.items())


def recompute_objectives(f: Facts) -> dict[str, float]:
    """Every objective of ``docs/objectives.md``, from the tours alone."""
    spec = f.instance.spec
    priority = {t.id: t.priority for t in f.instance.tasks}
    shortfall = sum(
        priority[g["task"]] * (g.get("units", 0) + g.get("nations", 0)) for g in recompute_shortfalls(f)
    )
    burden = {n.id: 0.0 for n in f.instance.nations}
    measure = {"units": lambda o: 1.0, "personnel": lambda o: o.personnel, "cost": lambda o: o.cost}
    for (offer_id, _t, _p), n in f.units.items():
        offer = f.offers[offer_id]
        # excluded from mutation: '-=' negates every burden and so the total, and
        # |(-b) - share x (-total)| = |b - share x total| leaves fairness unchanged (an equivalent mutant)
        burden[offer.nation] += n * measure[spec.fairness](offer)  # pragma: no mutate
    total_share = sum(n.share for n in f.instance.nations)
    total_burden = sum(burden.values())
    fairness = sum(abs(burden[n.id] - n.share / total_share * total_burden) for n in f.instance.nations)
    cost = sum(n * f.offers[o].cost for (o, _t, _p), n in f.units.items())
    values = {
        "shortfall": shortfall,
        "surplus": float(recompute_surplus(f)),
        "fairness": fairness,
        "deployments": float(len(f.valid)),
        "cost": cost,
    }
    if f.baseline is not None:
        values["changes"] = float(recompute_changes(f))
    return values


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def report(f: Facts) -> list[str]:
    """The reported objectives and shortfalls agree with the plan."""
    out = []
    actual = recompute_objectives(f)
    for name in f.instance.spec.objective_names:
        if name not in f.solution.objectives:
            out.append(f"objectives.{name} missing (the model optimises it)")
    for name in ("surplus", "changes"):
        if (
            name in actual
            and name not in f.solution.objectives
            and name not in f.instance.spec.objective_names
        ):
            reporter = "re-plan" if name == "changes" else "solution"
            out.append(f"objectives.{name} missing (every {reporter} reports it)")
    for name, value in sorted(f.solution.objectives.items()):
        if name in actual and not _close(value, actual[name]):
            out.append(f"objectives.{name} is {value:g} but the plan gives {actual[name]:g}")

    def key(g: dict[str, Any]) -> tuple[object, ...]:
        return (
            g.get("task"),
            g.get("capability"),
            g.get("period"),
            g.get("units"),
            g.get("nations"),
        )

    expected = {key(g) for g in recompute_shortfalls(f)}
    listed = {key(g) for g in f.solution.shortfalls}
    # sorted by str first, so that entries alike in task, period and capability keep one order
    for g in sorted(sorted(expected - listed, key=str), key=_in_order):
        out.append(f"shortfalls: not listed: {_gap_in_words(g)}")
    for g in sorted(sorted(listed - expected, key=str), key=_in_order):
        out.append(f"shortfalls: listed, but not in the plan: {_gap_in_words(g)}")
    return out


def _in_order(g: tuple[object, ...]) -> tuple[str, int, str]:
    """Shortfall entries by task, period (odd ones first), missing nations before capabilities."""
    task, capability, period = g[0], g[1], g[2]
    return (
        str(task),
        period if isinstance(period, int) else -1,
        "" if capability is None else str(capability),
    )


def _gap_in_words(g: tuple[object, ...]) -> str:
    """A shortfall entry (task, capability, period, units, nations) as a planner reads it."""
    task, capability, period, units, nations = g
    if capability is not None:
        return f"task '{task}' period {period}: {units} '{capability}' unit(s) short"
    return f"task '{task}' period {period}: {nations} nation(s) short"


#: rule name -> function; the names are those of :data:`allocator.formulation.rules.RULES`.
CHECKS: dict[str, Callable[[Facts], Sequence[Finding]]] = {
    "reference": reference,
    "history": history,
    "placement": placement,
    "caveat": caveat,
    "tour-length": tour_length,
    "unit-capacity": unit_capacity,
    "personnel-cap": personnel_cap,
    "budget": budget,
    "max-nations": max_nations,
    "min-nations": min_nations,
    "lead-one": lead_one,
    "lead-first": lead_first,
    "lead-rotate": lead_rotate,
    "lead-contribution": lead_contribution,
    "demand": demand,
    "report": report,
}
