"""The Python API: solve, result object, determinism, stopping, logging."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pandas as pd
import pytest

import allocator
from tests.helpers.instances import EXAMPLES, base_instance, build


def test_result_object(backend: str, solve_checked: Any) -> None:
    instance = allocator.load_instance(EXAMPLES / "shortfall.yaml")
    result = solve_checked(instance)
    assert result.status == "optimal"
    assert set(result.objectives) == {"shortfall", "surplus", "fairness", "deployments", "cost"}
    recomputed = allocator.check(instance, result).objectives  # independent of the solver's levels
    assert result.bounds == pytest.approx({name: recomputed[name] for name in result.bounds})
    assert list(result.bounds) == [name for name in instance.spec.objective_names]
    frame = result.assignments_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(result.assignments)
    assert (frame["periods"] == frame["end"] - frame["start"] + 1).all()
    offers = {o.id: o for o in instance.offers}
    for row in frame.to_dict("records"):
        offer = offers[row["offer"]]
        assert (row["nation"], row["capability"]) == (offer.nation, offer.capability)
        assert row["personnel"] == offer.personnel and row["cost"] == offer.cost * row["periods"]
        assert (row["from"], row["to"]) == (str(row["start"]), str(row["end"]))  # no start month: numbers
    assert result.shortfalls and result.objectives["shortfall"] > 0
    assert result.to_json()["solver"]["backend"] == backend


def test_assignments_frame_is_the_report_workbooks_sheet(tmp_path: Any) -> None:
    """An integrator gets the same tour table as report.xlsx, period labels included."""
    from openpyxl import load_workbook

    from allocator.report import write_report

    instance = allocator.load_instance(EXAMPLES / "lead-rotation.yaml")
    instance = instance.model_copy(
        update={"horizon": instance.horizon.model_copy(update={"start": "2027-11"})}
    )
    result = allocator.solve(instance, threads=1, time_limit=10)
    frame = result.assignments_frame()
    columns = "nation offer unit capability task start end from to periods personnel cost"
    assert list(frame.columns) == columns.split()
    months = {"2027-11", "2027-12"} | {f"2028-{m:02d}" for m in range(1, 11)}
    assert set(frame["from"]) <= months and set(frame["to"]) <= months
    write_report(instance, result, tmp_path)
    sheet = load_workbook(tmp_path / "report.xlsx")["assignments"]
    rows = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    key = ["task", "start", "offer", "unit"]
    expected = frame.sort_values(key).reset_index(drop=True)
    written = pd.DataFrame(rows, columns=list(frame.columns)).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


def test_same_plan_every_run_with_one_thread(backend: str) -> None:
    instance = allocator.load_instance(EXAMPLES / "caveats.yaml")
    plans = [allocator.solve(instance, backend=backend, threads=1, seed=7).to_json() for _ in range(3)]
    for plan in plans:
        plan["solver"] = None
    assert plans[0] == plans[1] == plans[2]


def test_weighted_level_bound_key(backend: str, solve_checked: Any) -> None:
    result = solve_checked(allocator.load_instance(EXAMPLES / "weighted.yaml"))
    assert list(result.bounds) == ["shortfall+cost", "fairness", "deployments"]
    value = 3 * result.objectives["shortfall"] + result.objectives["cost"]
    assert result.bounds["shortfall+cost"] == pytest.approx(value)


def test_stop_before_search_gives_the_first_plan(backend: str) -> None:
    stop = allocator.StopToken()
    stop.stop()
    result = allocator.solve(build(base_instance()), backend=backend, stop=stop)
    assert result.status == "feasible" and result.interrupted and result.assignments
    # no model built: every level at the first plan's value, with the trivial bound
    assert result.formulation == "none" and result.levels
    assert all(lv.status == "feasible" and lv.bound == 0 for lv in result.levels)
    assert result.levels[0].value == result.objectives["shortfall"]


def test_progress_reports_levels(backend: str) -> None:
    seen: list[allocator.Progress] = []
    lock = threading.Lock()

    def record(p: allocator.Progress) -> None:
        with lock:
            seen.append(p)

    allocator.solve(
        allocator.load_instance(EXAMPLES / "basic.yaml"),
        backend=backend,
        threads=1,
        progress=record,
    )
    assert {p.level for p in seen} >= {"shortfall"}
    assert all(p.levels == 5 for p in seen)
    # the first event is the first plan's, before any search: the first level's value in it
    first = seen[0]
    assert (first.level_number, first.bound) == (1, None) and first.incumbent is not None


def test_logs_through_logging(backend: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="allocator"):
        allocator.solve(build(base_instance()), backend=backend, threads=1)
    assert any("level 1" in r.getMessage() for r in caplog.records)


def test_solve_accepts_a_path() -> None:
    assert allocator.solve(EXAMPLES / "basic.yaml", threads=1).status == "optimal"


def test_unknown_backend() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        allocator.solve(build(base_instance()), backend="gurobi")


def test_the_solution_records_the_settings_to_repeat_it() -> None:
    """A solution file says which seed, threads and time limit made it (a bench run's solutions
    are told apart by them)."""
    result = allocator.solve(EXAMPLES / "basic.yaml", seed=7, threads=1, time_limit=30)
    solver = result.to_json()["solver"]
    assert (solver["seed"], solver["threads"], solver["time_limit"]) == (7, 1, 30.0)
