"""The report's tables on a hand-made plan whose numbers are easy to count."""

from __future__ import annotations

from typing import Any

import pytest

from allocator.checker.solution import parse_solution
from allocator.report.tables import period_labels, plan_tables
from tests.helpers.instances import base_instance, build


@pytest.mark.parametrize(
    "horizon, expected",
    [
        ({"periods": 3, "unit": "month", "start": "2027-11"}, ["2027-11", "2027-12", "2028-01"]),
        ({"periods": 3, "unit": "week", "start": "2027-11"}, ["1", "2", "3"]),
        ({"periods": 2}, ["1", "2"]),
    ],
)
def test_period_labels(horizon: dict[str, Any], expected: list[str]) -> None:
    assert period_labels(build(base_instance(horizon=horizon))) == expected


def _tours() -> list[dict[str, Any]]:
    """FR's unit in periods 1-4, GB's in periods 3-4, both on `air`."""
    return [
        {"offer": "FR-a", "unit": 1, "task": "air", "start": 1, "end": 4},
        {"offer": "GB-a", "unit": 1, "task": "air", "start": 3, "end": 4},
    ]


def _plan() -> tuple[Any, Any]:
    """Two nations, one fighter task needing 2 units in periods 1-4 and two nations (min_nations)."""
    doc = base_instance()
    doc["tasks"][0]["requirements"][0]["units"] = 2
    doc["tasks"][0]["min_nations"] = 2
    doc["offers"][0]["personnel"] = 100
    instance = build(doc)
    solution = parse_solution(
        {
            "instance": "tiny",
            "status": "feasible",
            "assignments": _tours(),
            "leads": [],
            "shortfalls": [],
        },
        "<plan>",
    )
    return instance, solution


def test_coverage_and_shortfalls_count_units_and_nations() -> None:
    tables = plan_tables(*_plan())
    assert tables.deployed.loc[("air", "fighter")].tolist() == [1, 1, 2, 2]
    assert tables.coverage.loc[("air", "fighter")].tolist() == ["1 / 2", "1 / 2", "2 / 2", "2 / 2"]
    rows = {(r["what"], r["period"], r["missing"]) for r in tables.shortfalls.to_dict("records")}
    assert rows == {("fighter", 1, 1), ("fighter", 2, 1), ("(nations)", 1, 1), ("(nations)", 2, 1)}


def test_burden_under_every_measure_with_fair_shares() -> None:
    burden = plan_tables(*_plan()).burden.set_index("nation")
    # FR: 4 unit-periods x 100 personnel, cost 1 each; GB: 2 unit-periods, no personnel, cost 2 each
    assert burden.loc["FR", ["units", "personnel", "cost"]].tolist() == [4, 400, 4]
    assert burden.loc["GB", ["units", "personnel", "cost"]].tolist() == [2, 0, 4]
    assert burden["units_fair_share"].tolist() == [3, 3]  # equal shares of 6
    assert burden.loc["FR", "personnel_difference"] == 200


def test_personnel_by_nation_and_period() -> None:
    grid = plan_tables(*_plan()).personnel
    assert grid.loc["FR"].tolist() == [100, 100, 100, 100]
    assert grid.loc["GB"].tolist() == [0, 0, 0, 0]


def test_coverage_has_a_nations_row_counting_distinct_nations() -> None:
    """Two FR units in periods 1-2 are one nation: the (nations) row reads 1 / 2 there, 2 / 2 after."""
    instance, _ = _plan()
    second = {"offer": "FR-a", "unit": 2, "task": "air", "start": 1, "end": 2}
    solution = parse_solution(
        {"instance": "tiny", "status": "feasible", "assignments": [*_tours(), second], "leads": []}, "<plan>"
    )
    tables = plan_tables(instance, solution)
    assert tables.coverage.loc[("air", "fighter")].tolist() == ["2 / 2"] * 4
    assert tables.coverage.loc[("air", "(nations)")].tolist() == ["1 / 2", "1 / 2", "2 / 2", "2 / 2"]
    assert tables.coverage.index.to_list() == [("air", "fighter"), ("air", "(nations)")]
    nations = tables.shortfalls[tables.shortfalls["what"] == "(nations)"]
    assert nations[["period", "missing"]].values.tolist() == [[1, 1], [2, 1]]


def test_nations_rows_follow_their_tasks_rows_only_where_min_nations_is_set() -> None:
    doc = base_instance()
    doc["tasks"] = [
        {"id": "a", "requirements": [{"capability": "fighter", "units": 1}]},
        {
            "id": "b",
            "active": [2, 3],
            "min_nations": 2,
            "requirements": [{"capability": "fighter", "units": 1}],
        },
        {"id": "c", "requirements": [{"capability": "fighter", "units": 1}]},
    ]
    instance = build(doc)
    empty = parse_solution({"instance": "tiny", "status": "feasible", "assignments": [], "leads": []}, "<p>")
    coverage = plan_tables(instance, empty).coverage
    assert coverage.index.to_list() == [
        ("a", "fighter"),
        ("b", "fighter"),
        ("b", "(nations)"),
        ("c", "fighter"),
    ]
    assert coverage.loc[("b", "(nations)")].tolist() == ["", "0 / 2", "0 / 2", ""]  # required while active
