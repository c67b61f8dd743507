"""Why an offer does not serve a task in a period: from the data alone, or from the data and a plan.

Every reason is a fact a test can check against the instance and the plan (tests/explain).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from allocator.instance.index import Index
from allocator.instance.model import Instance
from allocator.instance.parts import Offer, Task
from allocator.solution.plan import Assignment
from allocator.solution.summary import period_labels

#: Reason codes, in the order they are looked for.
REASONS = (
    "caveat",
    "availability",
    "tour-length",
    "deployed-elsewhere",
    "resting",
    "personnel-cap",
    "budget",
    "max-nations",
    "other-rules",
)


@dataclass(frozen=True)
class Reason:
    """Why `offer` does not serve there (`reason`, one of :data:`REASONS`), in `periods`."""

    offer: str
    reason: str
    text: str
    periods: tuple[int, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"offer": self.offer, "reason": self.reason, "text": self.text, "periods": list(self.periods)}


class Facts:
    """Look-ups of an instance (and optionally a plan) for the reasons."""

    def __init__(self, instance: Instance, plan: list[Assignment] | None = None):
        self.instance = instance
        self.index = Index.of(instance)
        self.T = instance.periods
        self.labels = period_labels(instance)
        self.months = instance.horizon.first_month is not None
        self.offers = {o.id: o for o in instance.offers}
        self.tasks = {t.id: t for t in instance.tasks}
        self.nations = {n.id: n for n in instance.nations}
        self.plan = plan or []
        self.by_unit: dict[tuple[str, int], list[Assignment]] = defaultdict(list)
        self.personnel: dict[tuple[str, int], float] = defaultdict(float)
        self.cost: dict[str, float] = defaultdict(float)
        self.present: dict[tuple[str, int], set[str]] = defaultdict(set)
        for a in self.plan:
            offer = self.offers[a.offer]
            self.by_unit[a.offer, a.unit].append(a)
            for p in range(a.start, a.end + 1):
                self.personnel[offer.nation, p] += offer.personnel
                self.cost[offer.nation] += offer.cost
                self.present[a.task, p].add(offer.nation)

    def label(self, p: int) -> str:
        """'2027-03' for a horizon of months from a start, 'period 3' otherwise."""
        return self.labels[p - 1] if self.months else f"period {p}"

    def span(self, a: int, b: int) -> str:
        if a == b:
            return self.label(a)
        return f"{self.labels[a - 1]}..{self.labels[b - 1]}" if self.months else f"periods {a}..{b}"

    def offer_name(self, offer: Offer) -> str:
        return f"{offer.id} ({self.nations[offer.nation].label})"

    def open_run(self, offer: Offer, task: Task, p: int) -> tuple[int, int] | None:
        """The longest run of periods around p in which the data let `offer` serve `task`
        (availability, caveat, the task's active window, a requirement of the offer's
        capability), or None when they do not in p."""
        mask = self.index.serve.get((self.index.offer_pos[offer.id], self.index.task_pos[task.id]))
        if mask is None or not mask[p]:
            return None
        a, b = p, p
        while a > 1 and mask[a - 1]:
            a -= 1
        while b < self.T and mask[b + 1]:
            b += 1
        return a, b

    def fits(self, offer: Offer, a: int, b: int) -> bool:
        """Whether a tour fits in periods a..b (min_tour, or the run reaches the horizon's end)."""
        return b - a + 1 >= offer.min_tour or b == self.T


def data_reason(facts: Facts, offer: Offer, task: Task, p: int) -> Reason | None:
    """Why the data alone keep `offer` from serving `task` in period p; None when they do not."""
    if offer.tasks is not None and task.id not in offer.tasks:
        return Reason(
            offer.id, "caveat", f"{facts.offer_name(offer)} may serve only {', '.join(offer.tasks)}"
        )
    first, last = offer.available or (1, facts.T)
    if not first <= p <= last:
        return Reason(
            offer.id, "availability", f"{facts.offer_name(offer)} is available {facts.span(first, last)} only"
        )
    run = facts.open_run(offer, task, p)
    if run is not None and not facts.fits(offer, *run):
        return Reason(
            offer.id,
            "tour-length",
            f"{facts.offer_name(offer)} serves tours of at least {offer.min_tour} periods, and only "
            f"{facts.span(*run)} ({run[1] - run[0] + 1}) are open to it on {task.id}",
        )
    return None


def plan_reason(facts: Facts, offer: Offer, task: Task, p: int) -> Reason:
    """Why `offer` does not serve `task` in period p in the plan of `facts`."""
    reason = data_reason(facts, offer, task, p)
    if reason is not None:
        return reason
    name = facts.offer_name(offer)
    gap = max(1, offer.min_rest)
    states, free = [], []
    for unit in range(1, offer.units + 1):
        tours = sorted(facts.by_unit.get((offer.id, unit), []), key=lambda a: a.start)
        state = _unit_state(facts, tours, p, gap)
        if state is None:
            window = _free_window(facts, tours, p, gap, offer, task)
            free.append((unit, window))
        else:
            states.append((state[0], f"unit {unit} {state[1]}"))
    if not free:
        code = "resting" if any(kind == "resting" for kind, _ in states) else "deployed-elsewhere"
        said = "; ".join(text for _, text in states)
        return Reason(offer.id, code, f"{name}: every unit is busy in {facts.label(p)}: {said}")
    if all(not facts.fits(offer, *window) for _, window in free):
        windows = ", ".join(f"unit {u} {facts.span(*w)}" for u, w in free)
        return Reason(
            offer.id,
            "tour-length",
            f"{name} serves tours of at least {offer.min_tour} periods; the free units are free too "
            f"briefly around {facts.label(p)} ({windows})",
        )
    nation = facts.nations[offer.nation]
    if (
        nation.max_personnel is not None
        and facts.personnel[nation.id, p] + offer.personnel > nation.max_personnel + 1e-6
    ):
        return Reason(
            offer.id,
            "personnel-cap",
            f"{nation.label} already deploys {facts.personnel[nation.id, p]:g} personnel "
            f"in {facts.label(p)}; "
            f"a unit of {offer.id} ({offer.personnel:g}) would pass its cap of {nation.max_personnel:g}",
        )
    shortest = min(offer.min_tour, facts.T - p + 1)
    if nation.budget is not None and facts.cost[nation.id] + shortest * offer.cost > nation.budget + 1e-6:
        return Reason(
            offer.id,
            "budget",
            f"{nation.label} has spent {facts.cost[nation.id]:g} of its budget of {nation.budget:g}; a "
            f"tour of {offer.id} costs at least {shortest * offer.cost:g}",
        )
    present = facts.present.get((task.id, p), set())
    if task.max_nations is not None and nation.id not in present and len(present) >= task.max_nations:
        return Reason(
            offer.id,
            "max-nations",
            f"{task.id} already has {len(present)} nations in {facts.label(p)} "
            f"(max_nations {task.max_nations}): "
            f"{', '.join(sorted(present))}",
        )
    units = ", ".join(str(u) for u, _ in free)
    return Reason(
        offer.id,
        "other-rules",
        f"{name} has unit(s) {units} free in {facts.label(p)}; a tour there would break a rule in "
        "another period (rest, tour length, a cap) or cost a more important objective",
    )


def _unit_state(facts: Facts, tours: list[Assignment], p: int, gap: int) -> tuple[str, str] | None:
    """What a unit does in period p: ("deployed", where), ("resting", between which tours), or
    None (free)."""
    for a in tours:
        if a.start <= p <= a.end:
            return "deployed", f"is deployed on {a.task} {facts.span(a.start, a.end)}"
        if a.end < p <= a.end + gap:
            until = facts.label(min(a.end + gap, facts.T))
            return "resting", f"rests until {until} after its tour on {a.task} {facts.span(a.start, a.end)}"
        if a.start - gap <= p < a.start:
            return "resting", f"must be idle before its tour on {a.task} from {facts.label(a.start)}"
    return None


def _free_window(
    facts: Facts, tours: list[Assignment], p: int, gap: int, offer: Offer, task: Task
) -> tuple[int, int]:
    """The periods around p in which a free unit could serve `task` without touching its tours
    or their rest."""
    run = facts.open_run(offer, task, p) or (p, p)
    a, b = run
    for tour in tours:
        if tour.end + gap < p:
            a = max(a, tour.end + gap + 1)
        elif tour.start - gap > p:
            b = min(b, tour.start - gap - 1)
    return a, b
