"""Tables that summarise a plan for people: burden against fair share, shortfalls by task."""

from __future__ import annotations

import pandas as pd

from allocator.instance import Instance
from allocator.result import SolveResult


def burden_table(instance: Instance, result: SolveResult) -> pd.DataFrame:
    """Per nation: burden under the model's fairness measure, fair share, and the difference."""
    measure = instance.spec.fairness
    offers = {o.id: o for o in instance.offers}
    value = {"units": lambda o: 1.0, "personnel": lambda o: o.personnel, "cost": lambda o: o.cost}[measure]
    burden = dict.fromkeys((n.id for n in instance.nations), 0.0)
    for a in result.assignments:
        offer = offers[a.offer]
        burden[offer.nation] += (a.end - a.start + 1) * value(offer)
    total_share = sum(n.share for n in instance.nations)
    total = sum(burden.values())
    rows = [
        {
            "nation": n.id,
            "name": n.label,
            "burden": burden[n.id],
            "fair_share": n.share / total_share * total,
        }
        for n in instance.nations
    ]
    frame = pd.DataFrame(rows, columns=["nation", "name", "burden", "fair_share"])
    frame["difference"] = frame["burden"] - frame["fair_share"]
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
