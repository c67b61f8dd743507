"""Tables that summarise an instance or a plan for people: period labels, tours with their
nation, capability, personnel and cost, shortfalls by task, burden against fair share, and supply
against demand per capability."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from allocator.instance.model import Instance
from allocator.solution.plan import Shortfall

MEASURES = ("units", "personnel", "cost")
ASSIGNMENT_COLUMNS = (
    "nation",
    "offer",
    "unit",
    "capability",
    "task",
    "start",
    "end",
    "from",
    "to",
    "periods",
    "personnel",
    "cost",
)


class TourLike(Protocol):
    """One tour of one unit (a solver's assignment or a solution file's)."""

    @property
    def offer(self) -> str: ...
    @property
    def unit(self) -> int: ...
    @property
    def task(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


def period_labels(instance: Instance) -> list[str]:
    """A label per period: '2027-01', '2027-02', ... when the horizon starts at a month, else '1'..'T'."""
    horizon = instance.horizon
    if horizon.first_month is None:
        return [str(p) for p in range(1, horizon.periods + 1)]
    year, month = horizon.first_month
    return [f"{year + (month - 1 + p) // 12}-{(month - 1 + p) % 12 + 1:02d}" for p in range(horizon.periods)]


def period_runs(periods: Iterable[int], labels: Sequence[str]) -> str:
    """Periods as runs of labels: [5, 6, 7, 9] -> '2027-05..2027-07, 2027-09'."""
    runs = consecutive_runs(periods)
    return ", ".join(labels[a - 1] if a == b else f"{labels[a - 1]}..{labels[b - 1]}" for a, b in runs)


def consecutive_runs(periods: Iterable[int]) -> list[tuple[int, int]]:
    """Periods as (first, last) runs of consecutive ones: [5, 6, 7, 9] -> [(5, 7), (9, 9)]."""
    runs: list[list[int]] = []
    for p in sorted(set(periods)):
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return [(a, b) for a, b in runs]


def equal_runs(values: Mapping[int, object]) -> list[tuple[int, int]]:
    """(first, last) runs of consecutive periods holding the same value:
    {3: 'a', 4: 'a', 5: 'b', 7: 'b'} -> [(3, 4), (5, 5), (7, 7)]."""
    runs: list[list[int]] = []
    for p in sorted(values):
        if runs and p == runs[-1][1] + 1 and values[p] == values[runs[-1][0]]:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return [(a, b) for a, b in runs]


def assignments_table(instance: Instance, tours: Iterable[TourLike]) -> pd.DataFrame:
    """One row per tour: nation, offer, unit, capability, task, start, end, from and to (period
    labels), periods, personnel (per period) and cost (of the whole tour).  A tour of a solution
    file that runs past the horizon is shown cut to it (the checker reports it); tours that cannot
    be placed at all (unknown offer or task, no period inside the horizon) are left out."""
    labels = period_labels(instance)
    offers = {o.id: o for o in instance.offers}
    tasks = {t.id for t in instance.tasks}
    rows = []
    for tour in tours:
        offer = offers.get(tour.offer)
        start, end = max(tour.start, 1), min(tour.end, len(labels))
        if offer is None or tour.task not in tasks or start > end:
            continue
        periods = end - start + 1
        rows.append(
            (
                offer.nation,
                tour.offer,
                tour.unit,
                offer.capability,
                tour.task,
                start,
                end,
                labels[start - 1],
                labels[end - 1],
                periods,
                offer.personnel,
                offer.cost * periods,
            )
        )
    return pd.DataFrame(rows, columns=list(ASSIGNMENT_COLUMNS))


def burden_frame(instance: Instance, tours: Iterable[tuple[str, int]]) -> pd.DataFrame:
    """Per nation (instance order) and measure m: ``m``, ``m_fair_share``, ``m_difference``.

    `tours` are (offer id, periods deployed); fair share = share / total share x total burden.
    """
    offers = {o.id: o for o in instance.offers}
    index = [n.id for n in instance.nations]
    totals = {m: dict.fromkeys(index, 0.0) for m in MEASURES}
    for offer_id, periods in tours:
        offer = offers[offer_id]
        for measure, per_period in (("units", 1.0), ("personnel", offer.personnel), ("cost", offer.cost)):
            totals[measure][offer.nation] += periods * per_period
    frame = pd.DataFrame({"nation": index, "share": [n.share for n in instance.nations]}).set_index("nation")
    weight = frame["share"] / frame["share"].sum()
    for measure in MEASURES:
        frame[measure] = pd.Series(totals[measure])
        frame[f"{measure}_fair_share"] = weight * frame[measure].sum()
        frame[f"{measure}_difference"] = frame[measure] - frame[f"{measure}_fair_share"]
    return frame.reset_index()


def burden_table(instance: Instance, tours: Iterable[TourLike]) -> pd.DataFrame:
    """Per nation: burden under the model's fairness measure, fair share, and the difference."""
    measure = instance.spec.fairness
    every = burden_frame(instance, ((a.offer, a.end - a.start + 1) for a in tours))
    frame = pd.DataFrame(
        {
            "nation": every["nation"],
            "name": [n.label for n in instance.nations],
            "burden": every[measure],
            "fair_share": every[f"{measure}_fair_share"],
            "difference": every[f"{measure}_difference"],
        }
    )
    frame.attrs["measure"] = measure
    return frame


def shortfall_table(instance: Instance, gaps: Iterable[Shortfall]) -> pd.DataFrame:
    """Per task and capability (or '(nations)' for missing nations): the periods short as runs of
    labels, the unit-periods (or nation-periods) missing, and the same weighted by the task's
    priority, which is what the `shortfall` objective adds up."""
    labels = period_labels(instance)
    priority = {t.id: t.priority for t in instance.tasks}
    groups: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for s in gaps:
        what = s.capability if s.capability is not None else "(nations)"
        amount = s.units if s.capability is not None else s.nations
        groups.setdefault((s.task, what), []).append((s.period, amount))
    rows = [
        {
            "task": task,
            "what": what,
            "periods": period_runs((p for p, _ in items), labels),
            "missing": sum(a for _, a in items),
            "weighted": priority.get(task, 1.0) * sum(a for _, a in items),
        }
        for (task, what), items in sorted(groups.items())
    ]
    return pd.DataFrame(rows, columns=["task", "what", "periods", "missing", "weighted"])


def supply_table(instance: Instance) -> pd.DataFrame:
    """Per capability with demand: units required at the peak period, units offered (all offers of
    the capability), the largest gap between required and available units in any period (0 when
    supply suffices everywhere) and the periods of that gap as runs of labels.

    Available units in a period are the units of offers whose availability window covers it;
    caveats, tours and rest are not counted, so a gap here is certain, its absence is not a promise.
    """
    T = instance.periods
    labels = period_labels(instance)
    required: dict[str, np.ndarray] = {}
    for task in instance.tasks:
        lo, hi = task.active or (1, T)
        for req in task.requirements:
            first, last = req.periods or (lo, hi)
            profile = required.setdefault(req.capability, np.zeros(T + 1, dtype=np.int64))
            profile[max(first, lo) : min(last, hi) + 1] += req.units
    rows: list[dict[str, Any]] = []
    for capability in instance.capabilities:
        need = required.get(capability.id)
        if need is None or not need.any():
            continue
        have = np.zeros(T + 1, dtype=np.int64)
        offered = 0
        for offer in instance.offers:
            if offer.capability == capability.id:
                a, b = offer.available or (1, T)
                have[a : b + 1] += offer.units
                offered += offer.units
        gap = need - have
        short = [p for p in range(1, T + 1) if gap[p] > 0]
        rows.append(
            {
                "capability": capability.id,
                "required_peak": int(need.max()),
                "offered": offered,
                "short_by": int(gap.max()) if short else 0,
                "short_periods": period_runs(short, labels),
            }
        )
    return pd.DataFrame(rows, columns=["capability", "required_peak", "offered", "short_by", "short_periods"])


def supply_warnings(supply: pd.DataFrame, label: str) -> list[str]:
    """What `allocator validate` warns about a :func:`supply_table`: each capability with fewer
    units available than required in some period (a shortfall no plan can avoid)."""
    return [
        f"{label}: capability '{row['capability']}': {row['short_by']} unit(s) more are required "
        f"than offered in {row['short_periods']}: a shortfall no plan can avoid"
        for row in supply.to_dict("records")
        if row["short_by"]
    ]
