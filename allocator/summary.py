"""Tables that summarise a plan for people: burden against fair share, shortfalls by task."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from allocator.instance import Instance
from allocator.result import SolveResult

MEASURES = ("units", "personnel", "cost")


def burdens(instance: Instance, tours: Iterable[tuple[str, int]]) -> pd.DataFrame:
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


def burden_table(instance: Instance, result: SolveResult) -> pd.DataFrame:
    """Per nation: burden under the model's fairness measure, fair share, and the difference."""
    measure = instance.spec.fairness
    every = burdens(instance, ((a.offer, a.end - a.start + 1) for a in result.assignments))
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


def shortfall_table(result: SolveResult) -> pd.DataFrame:
    """Uncovered unit-periods per (task, capability) and missing nation-periods per task."""
    rows = [
        {
            "task": s.task,
            "what": s.capability if s.capability is not None else "(nations)",
            "periods": 1,
            "amount": s.units if s.capability is not None else s.nations,
            "first": s.period,
            "last": s.period,
        }
        for s in result.shortfalls
    ]
    frame = pd.DataFrame(rows, columns=["task", "what", "periods", "amount", "first", "last"])
    if frame.empty:
        return frame
    return (
        frame.groupby(["task", "what"], sort=True)
        .agg(
            periods=("periods", "sum"),
            amount=("amount", "sum"),
            first=("first", "min"),
            last=("last", "max"),
        )
        .reset_index()
    )
