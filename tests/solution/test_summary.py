"""Tables for people: period runs, tours with their labels (cut to the horizon), supply against demand."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from allocator.solution.summary import assignments_table, period_runs, supply_table
from tests.helpers.instances import base_instance, build


@dataclass(frozen=True)
class T:
    offer: str
    unit: int
    task: str
    start: int
    end: int


@pytest.mark.parametrize(
    "periods, text",
    [
        ([], ""),
        ([3], "2027-03"),
        ([5, 6, 7, 9], "2027-05..2027-07, 2027-09"),
        ([2, 1, 2], "2027-01..2027-02"),
    ],
)
def test_period_runs(periods: list[int], text: str) -> None:
    labels = [f"2027-{m:02d}" for m in range(1, 13)]
    assert period_runs(periods, labels) == text


def test_assignments_table_cuts_a_tour_to_the_horizon_and_drops_what_cannot_be_placed() -> None:
    instance = build(base_instance(horizon={"periods": 4, "start": "2027-11"}))
    tours = [
        T("FR-a", 1, "air", 3, 20),
        T("GB-a", 1, "air", 0, 1),
        T("nope", 1, "air", 1, 2),
        T("FR-a", 2, "air", 9, 9),
    ]
    frame = assignments_table(instance, tours)
    rows = frame[["offer", "start", "end", "from", "to", "periods", "cost"]].values.tolist()
    assert rows == [
        ["FR-a", 3, 4, "2028-01", "2028-02", 2, 2.0],
        ["GB-a", 1, 1, "2027-11", "2027-11", 1, 2.0],
    ]
    assert frame["nation"].tolist() == ["FR", "GB"] and set(frame["capability"]) == {"fighter"}


def test_supply_table_counts_available_units_per_period() -> None:
    doc = base_instance(horizon={"periods": 6})
    doc["offers"][0]["available"] = [1, 3]  # FR's 2 units only in 1-3; GB's 2 throughout
    doc["tasks"][0]["requirements"] = [
        {"capability": "fighter", "units": 3},
        {"capability": "fighter", "units": 2, "periods": [3, 4]},
    ]
    (row,) = supply_table(build(doc)).to_dict("records")
    # required 3, 3, 5, 5, 3, 3; available 4, 4, 4, 2, 2, 2: short by 1, 3, 1, 1 in periods 3-6
    assert row == {
        "capability": "fighter",
        "required_peak": 5,
        "offered": 4,
        "short_by": 3,
        "short_periods": "3..6",
    }
