"""What-if sweeps (SPEC v2 section 8): every case a verified re-plan on Dask, ranked by the
shortfall it adds; a failed case reported, never the sweep lost."""

from __future__ import annotations

import csv
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

import allocator
from allocator.replanning import whatif
from allocator.replanning.sweep import REFERENCE, STOPPED, WhatIf, cases_of, chart_labels, ranked
from tests.cli.test_cli import medium_instance, run, terminated, write
from tests.helpers.instances import build
from tests.replanning.test_replan import baseline, ships

SECONDS = 10.0


def sweep_instance() -> dict:
    """Ships where BE's is the only one in months 4-6: withdrawing BE from 4 leaves them short."""
    doc = ships()
    doc["offers"][1]["available"] = [1, 3]
    doc["offers"][2]["available"] = [1, 3]
    return doc


def test_withdrawing_each_nation_ranks_the_cases_by_the_shortfall_they_add(tmp_path: Path) -> None:
    instance = build(sweep_instance())
    base = baseline([("NL-1", 1, "mcm", 1, 3), ("BE-1", 1, "mcm", 4, 6)])
    result = whatif(instance, 4, baseline=base, withdraw_each="nation", time_limit=SECONDS, threads=1)
    frame = result.frame
    assert frame.loc[0, "case"] == "withdraw BE"  # three months short: the worst case first
    assert frame.loc[0, "shortfall_diff"] == 3 and frame.loc[0, "tasks_losing_coverage"] == "mcm"
    assert set(frame["case"]) == {REFERENCE, "withdraw BE", "withdraw NL", "withdraw FR"}
    assert frame["verified"].all() and (frame["status"] != "error").all()
    reference = frame[frame["case"] == REFERENCE].iloc[0]
    assert reference["changes"] == 0 and reference["shortfall_diff"] == 0
    result.write(tmp_path / "out")
    rows = list(csv.DictReader((tmp_path / "out" / "whatif.csv").open()))
    assert [r["case"] for r in rows] == list(frame["case"])
    assert {
        "shortfall",
        "shortfall_diff",
        "shortfall_bound",
        "changes",
        "tasks_losing_coverage",
        "verified",
    } <= set(rows[0])
    assert all(float(r["shortfall_bound"]) == float(r["shortfall"]) for r in rows)  # proven
    page = (tmp_path / "out" / "whatif.html").read_text()
    assert "data:image/png;base64," in page and "withdraw BE" in page
    cases = sorted(p.name for p in (tmp_path / "out" / "cases").iterdir())
    assert len(cases) == 4 and cases[0] == "000-reference.json"
    solution = json.loads((tmp_path / "out" / "cases" / cases[1]).read_text())
    changed = allocator.withdraw(instance, "BE", 4).instance
    assert allocator.check(changed, solution, baseline=base).ok


def test_scenarios_and_a_case_that_fails(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    grown = sweep_instance()
    grown["tasks"][0]["requirements"][0]["units"] = 2
    (folder / "grown.yaml").write_text(yaml.safe_dump(grown))
    (folder / "broken.yaml").write_text("name: broken\nnations: 3\n")
    (folder / "notes.txt").write_text("not an instance")
    instance = build(sweep_instance())
    base = baseline([("NL-1", 1, "mcm", 1, 3), ("BE-1", 1, "mcm", 4, 6)])
    result = whatif(instance, 4, baseline=base, scenarios=folder, time_limit=SECONDS, threads=1)
    frame = result.frame.set_index("case")
    assert set(frame.index) == {REFERENCE, "scenario grown.yaml", "scenario broken.yaml"}
    assert frame.loc["scenario broken.yaml", "status"] == "error"
    assert "broken.yaml" in frame.loc["scenario broken.yaml", "error"]
    # a second ship wanted every month: short in history (kept as it was) and from 4 on (BE alone)
    assert frame.loc["scenario grown.yaml", "shortfall_diff"] == 6
    assert list(result.frame["case"])[-1] == "scenario broken.yaml"  # no plan: last


def test_ranking_puts_the_worst_first_then_by_the_other_objectives() -> None:
    rows = [
        {"case": REFERENCE, "status": "optimal", "shortfall": 0.0, "cost": 10.0, "short_by_task": {}},
        {"case": "a", "status": "feasible", "shortfall": 0.0, "cost": 15.0, "short_by_task": {}},
        {"case": "b", "status": "feasible", "shortfall": 2.0, "cost": 9.0, "short_by_task": {"t": 2}},
        {"case": "c", "status": "error", "error": "boom"},
    ]
    frame = ranked(rows, ["shortfall", "cost"])
    assert list(frame["case"]) == ["b", "a", REFERENCE, "c"]
    assert list(frame["cost_diff"][:3]) == [-1.0, 5.0, 0.0]
    assert frame.loc[0, "tasks_losing_coverage"] == "t"


def headquarters() -> dict[str, Any]:
    """An HQ only FR may lead (terms of 3 months), and ships where DE's is alone from month 4."""
    return {
        "name": "ships",
        "horizon": {"periods": 6},
        "nations": [{"id": "FR"}, {"id": "GB"}, {"id": "DE"}],
        "capabilities": [{"id": "staff", "domain": "command"}, {"id": "ship", "domain": "maritime"}],
        "offers": [
            {"id": "FR-staff", "nation": "FR", "capability": "staff", "units": 1},
            {"id": "GB-staff", "nation": "GB", "capability": "staff", "units": 1},
            {"id": "DE-ship", "nation": "DE", "capability": "ship", "units": 1},
            {"id": "GB-ship", "nation": "GB", "capability": "ship", "units": 1, "available": [1, 3]},
        ],
        "tasks": [
            {
                "id": "hq",
                "requirements": [{"capability": "staff", "units": 1}],
                "lead": {"nations": ["FR"], "term": 3},
            },
            {"id": "mcm", "requirements": [{"capability": "ship", "units": 1}]},
        ],
        "model": {"objectives": ["shortfall", "cost"]},
    }


def test_a_case_that_leaves_a_task_without_its_lead_says_so(tmp_path: Path) -> None:
    """Withdrawing FR leaves the HQ without a lead from month 4 (SPEC section 8: the task loses
    its lead): GB's staff fills the HQ, so no shortfall shows it; the loss is its own column,
    said in the notes and the chart's label.  The ranking is the contract's: by shortfall."""
    instance = build(headquarters())
    base = baseline(
        [("FR-staff", 1, "hq", 1, 6), ("DE-ship", 1, "mcm", 1, 6)], [("hq", "FR", 1, 3), ("hq", "FR", 4, 6)]
    )
    result = whatif(instance, 4, baseline=base, withdraw_each="nation", time_limit=SECONDS, threads=1)
    frame = result.frame.set_index("case")
    assert list(result.frame["case"][:1]) == ["withdraw DE"]  # the most shortfall first
    assert frame.loc["withdraw FR", "shortfall_diff"] == 0  # what the shortfall alone showed
    assert frame.loc["withdraw DE", "shortfall_diff"] == 3  # (no ship from 4: three months short)
    assert (
        frame.loc["withdraw FR", "leads_lost"] == "hq" and frame.loc["withdraw FR", "lead_periods_lost"] == 3
    )
    assert "task hq has no lead from 4" in frame.loc["withdraw FR", "notes"]
    assert (frame.drop(index="withdraw FR")["lead_periods_lost"] == 0).all()
    assert frame["verified"].all()
    result.write(tmp_path)
    rows = {row["case"]: row for row in csv.DictReader((tmp_path / "whatif.csv").open(newline=""))}
    assert (rows["withdraw FR"]["leads_lost"], rows["withdraw FR"]["lead_periods_lost"]) == ("hq", "3")
    labels = dict(zip(result.frame["case"], chart_labels(result.frame), strict=True))
    assert labels["withdraw FR"] == "withdraw FR (no lead: hq)"
    lost = {"case": "x", "status": "feasible", "shortfall": 0.0, "leads_lost": "hq", "lead_periods_lost": 1}
    short = {"case": "y", "status": "feasible", "shortfall": 9.0}
    ranking = ranked([{"case": REFERENCE, "status": "optimal", "shortfall": 0.0}, short, lost], ["shortfall"])
    assert list(ranking["case"]) == ["y", REFERENCE, "x"]  # by shortfall added (ties: as they came)


def test_whatif_csv_quotes_what_a_spreadsheet_would_read_as_a_formula(tmp_path: Path) -> None:
    """Task ids, notes and errors come from the planners' files: a cell starting with = + - @
    (or a tab, a carriage return) is written with a leading quote, and shows as text."""
    link = '=HYPERLINK("http://evil.example","open")'
    rows = [
        {"case": REFERENCE, "status": "optimal", "shortfall": 0.0, "short_by_task": {}},
        {"case": "scenario x.yaml", "status": "optimal", "shortfall": 3.0, "short_by_task": {link: 3}},
        {"case": "scenario y.yaml", "status": "error", "error": "@SUM(1+1)*cmd", "notes": "-1+1"},
    ]
    result = WhatIf(ranked(rows, ["shortfall"]), {}, {}, 4, ["shortfall"])
    result.write(tmp_path)
    written = {r["case"]: r for r in csv.DictReader((tmp_path / "whatif.csv").open(newline=""))}
    assert written["scenario x.yaml"]["tasks_losing_coverage"] == "'" + link
    assert written["scenario y.yaml"]["error"] == "'@SUM(1+1)*cmd"
    assert written["scenario y.yaml"]["notes"] == "'-1+1"
    assert written["scenario x.yaml"]["shortfall_diff"] == "3.0"  # numbers stay numbers


def test_cases_are_the_reference_and_one_per_nation_or_offer() -> None:
    instance = build(ships())
    names = [c.name for c in cases_of(instance, "nation")]
    assert names == [REFERENCE, "withdraw BE", "withdraw NL", "withdraw FR"]
    assert [c.subject for c in cases_of(instance, "offer")][1:] == ["BE-1", "NL-1", "FR-1"]
    odd_offer = instance.offers[0].model_copy(update={"id": "../x y"})
    odd = cases_of(instance.replace(offers=(odd_offer,)), "offer")
    assert odd[1].file_stem == "withdraw_x_y"


def test_the_whatif_command(tmp_path: Path) -> None:
    path = write(tmp_path, sweep_instance())
    base = tmp_path / "base.json"
    base.write_text(json.dumps(baseline([("NL-1", 1, "mcm", 1, 3), ("BE-1", 1, "mcm", 4, 6)])))
    out = tmp_path / "sweep"
    args = ["whatif", path, "--baseline", str(base), "--from", "4", "--time-limit", "10", "-o", str(out)]
    result = run(*args, "--withdraw-each", "nation")
    assert result.exit_code == 0, result.output
    assert "ranked by the shortfall they add, then the other objectives" in result.output
    assert "withdraw BE" in result.output
    assert (out / "whatif.csv").is_file() and (out / "whatif.html").is_file()
    neither = run(*args)
    assert neither.exit_code == 2 and "exactly one of --withdraw-each and --scenarios" in neither.output


@pytest.mark.slow
def test_a_sweep_through_a_real_scheduler(tmp_path: Path, dask_cluster: str) -> None:
    path = write(tmp_path, sweep_instance())
    out = tmp_path / "sweep"
    result = run(
        "whatif", path, "--from", "4", "--withdraw-each", "nation", "--time-limit", "10",
        "--scheduler", dask_cluster, "-o", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "whatif.csv").open()))
    assert len(rows) == 4 and all(r["verified"] == "True" for r in rows)


def test_bad_input_is_refused_before_any_case_runs(tmp_path: Path) -> None:
    path = write(tmp_path, sweep_instance())
    out = tmp_path / "sweep"
    late = run("whatif", path, "--from", "9", "--withdraw-each", "nation", "-o", str(out))
    assert late.exit_code == 2 and "not a period of 2..6" in late.output
    base = tmp_path / "base.json"
    base.write_text(json.dumps(baseline([("XX-1", 1, "mcm", 1, 3)])))
    gone = run(
        "whatif", path, "--baseline", str(base), "--from", "4", "--withdraw-each", "nation", "-o", str(out)
    )
    assert gone.exit_code == 2 and "offer 'XX-1' of the history" in gone.output
    assert not out.exists()


def test_an_earlier_sweeps_case_files_are_replaced_and_nothing_else_is_touched(tmp_path: Path) -> None:
    instance = build(sweep_instance())
    base = baseline([("NL-1", 1, "mcm", 1, 3), ("BE-1", 1, "mcm", 4, 6)])
    out = tmp_path / "sweep"
    (out / "cases").mkdir(parents=True)
    (out / "cases" / "017-withdraw_XX.json").write_text("{}")
    (out / "cases" / "mine.json").write_text("{}")
    whatif(instance, 4, baseline=base, withdraw_each="nation", time_limit=SECONDS, threads=1).write(out)
    names = sorted(p.name for p in (out / "cases").iterdir())
    assert "017-withdraw_XX.json" not in names and "mine.json" in names and len(names) == 5


def test_a_stop_ends_the_running_cases_with_their_best_plans(tmp_path: Path) -> None:
    """A stop during a sweep (as SIGTERM gives the command): the running re-plans end with
    their best plan, verified, a case not yet started does no work, long before the limit."""
    instance_path = medium_instance(tmp_path)
    instance = allocator.load_instance(instance_path)
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (folder / "a-broken.yaml").write_text("name: broken\nnations: 3\n")  # fails at once
    (folder / "b-copy.yaml").write_text(instance_path.read_text())
    base = allocator.solve(instance, time_limit=5, threads=1, backend="cpsat")
    stop = allocator.StopToken()

    def done(row: dict[str, Any]) -> None:
        if row["case"] == "scenario a-broken.yaml":  # the reference runs now (on the other worker)
            stop.stop()

    started = time.monotonic()
    fallback = threading.Timer(20, stop.stop)  # should Dask put the two cases on one worker
    fallback.start()
    result = whatif(
        instance, 13, baseline=base, scenarios=folder, time_limit=300, threads=1, backend="cpsat",
        on_done=done, stop=stop,
    )  # fmt: skip
    fallback.cancel()
    assert time.monotonic() - started < 120
    frame = result.frame.set_index("case")
    assert frame.loc[REFERENCE, "status"] == "feasible" and frame.loc[REFERENCE, "verified"]
    assert "stopped before its time limit" in frame.loc[REFERENCE, "notes"]
    copy = frame.loc["scenario b-copy.yaml"]
    assert copy["status"] == STOPPED or "stopped before its time limit" in copy["notes"]
    assert set(frame["status"]) <= {"feasible", "optimal", "error", STOPPED}


def test_sigterm_during_the_baselines_solve_writes_it_and_runs_no_case(tmp_path: Path) -> None:
    instance = medium_instance(tmp_path)
    out = tmp_path / "sweep"
    args = ["whatif", str(instance), "--from", "13", "--withdraw-each", "nation", "-o", str(out)]
    code, stderr, seconds = terminated(tmp_path, [*args, "--time-limit", "300", "--backend", "cpsat"])
    assert code == 4, stderr  # cases not run
    assert seconds < 30
    assert json.loads((out / "baseline.json").read_text())["solver"]["interrupted"] is True
    rows = list(csv.DictReader((out / "whatif.csv").open(newline="")))
    assert len(rows) == 31 and {r["status"] for r in rows} == {STOPPED}


def test_an_instance_without_a_plan_is_said_to_be_the_reason(tmp_path: Path) -> None:
    """Without --baseline the instance is solved first; when that gives no plan the message names
    the instance and its status (it named a '<baseline>' the planner never gave)."""
    examples = Path(__file__).resolve().parents[2] / "instances" / "examples"
    text = (examples / "hard-demand.yaml").read_text().replace("units: 3}", "units: 7}")
    path = tmp_path / "short.yaml"
    path.write_text(text)  # 7 units wanted of 6 offered, demand hard: infeasible
    result = run(
        "whatif",
        str(path),
        "--from",
        "2",
        "--withdraw-each",
        "nation",
        "--time-limit",
        "5",
        "-o",
        str(tmp_path / "out"),
    )
    assert result.exit_code == 2, result.output
    assert (
        f"{path}: baseline: solving the instance for the baseline gave status 'infeasible'" in result.output
    )
    assert "<baseline>" not in result.output and "Traceback" not in result.output
