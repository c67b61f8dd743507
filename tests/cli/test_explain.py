"""``allocator explain`` and the explanation ``allocator solve`` prints when infeasible."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import medium_instance, run, terminated, write
from tests.explanations.test_conflict import CASES
from tests.helpers.instances import EXAMPLES, base_instance


def test_explain_an_infeasible_instance_writes_the_conflict(tmp_path: Path) -> None:
    path = write(tmp_path, CASES["budget"])
    out = tmp_path / "why.json"
    result = run("explain", path, "-o", str(out), "--time-limit", "20", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "cannot all hold (proven minimal)" in result.output
    assert "raise BE's budget from 15 to 40" in result.output
    doc = json.loads(out.read_text())
    assert doc["status"] == "infeasible" and doc["conflict"]["minimal"]
    assert "budget[BE]" in [item["name"] for item in doc["conflict"]["items"]]


def test_solve_says_why_when_infeasible(tmp_path: Path) -> None:
    result = run("solve", write(tmp_path, CASES["personnel-cap"]), "--threads", "1")
    assert result.exit_code == 3
    assert "personnel-cap[BE@" in result.output
    assert "raise BE's personnel cap from 150 to 200" in result.output


def test_explain_a_solution_with_shortfalls(tmp_path: Path) -> None:
    instance = str(EXAMPLES / "shortfall.yaml")
    plan = tmp_path / "plan.json"
    assert run("solve", instance, "-o", str(plan), "-q", "--threads", "1").exit_code == 0
    out = tmp_path / "why.json"
    result = run("explain", instance, str(plan), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "Why tasks stay short" in result.output and "What makes up each objective" in result.output
    doc = json.loads(out.read_text())
    (gap,) = doc["shortfalls"]
    assert (gap["task"], gap["capability"], gap["periods"]) == ("patrol", "frigate", [1, 5])
    assert {r["offer"] for r in gap["reasons"]} == {"IT-fremm", "GR-meko"}
    assert sum(row["value"] for row in doc["breakdown"]["shortfall"]) == 5


def test_explain_without_a_solution_solves_first(tmp_path: Path) -> None:
    result = run("explain", str(EXAMPLES / "shortfall.yaml"), "--time-limit", "10", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "patrol" in result.output and "IT-fremm" in result.output


def test_a_broken_plan_is_bad_input(tmp_path: Path) -> None:
    instance = str(EXAMPLES / "basic.yaml")
    plan = tmp_path / "plan.json"
    assert run("solve", instance, "-o", str(plan), "-q").exit_code == 0
    doc = json.loads(plan.read_text())
    doc["assignments"].append(dict(doc["assignments"][0]))
    plan.write_text(json.dumps(doc))
    out = tmp_path / "why.json"
    result = run("explain", instance, str(plan), "-o", str(out))
    assert result.exit_code == 2
    assert "breaks" in result.output and "unit-capacity" in result.output
    assert not out.exists()


def test_a_plan_of_another_instance_is_bad_input(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    assert run("solve", str(EXAMPLES / "basic.yaml"), "-o", str(plan), "-q").exit_code == 0
    result = run("explain", str(EXAMPLES / "caps.yaml"), str(plan))
    assert result.exit_code == 2 and "instance" in result.output


def test_bad_instance_exit_2_nothing_written(tmp_path: Path) -> None:
    doc = base_instance()
    doc["offers"][0]["nation"] = "XX"
    out = tmp_path / "why.json"
    result = run("explain", write(tmp_path, doc), "-o", str(out))
    assert result.exit_code == 2
    assert "offers[0].nation" in result.output
    assert not out.exists()


def test_the_output_must_not_be_the_instance(tmp_path: Path) -> None:
    path = write(tmp_path, base_instance(), "i.json")
    result = run("explain", path, "-o", path)
    assert result.exit_code == 2 and "instance file itself" in result.output


def test_a_claim_of_infeasibility_is_checked_not_trusted(tmp_path: Path) -> None:
    instance = str(EXAMPLES / "shortfall.yaml")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"instance": "shortfall", "status": "infeasible", "solver": {}}))
    out = tmp_path / "why.json"
    result = run("explain", instance, str(plan), "-o", str(out), "--threads", "1")
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["status"] == "optimal" and doc["shortfalls"][0]["task"] == "patrol"


def test_wrong_objectives_in_the_file_do_not_stop_an_explanation(tmp_path: Path) -> None:
    instance = str(EXAMPLES / "shortfall.yaml")
    plan = tmp_path / "plan.json"
    assert run("solve", instance, "-o", str(plan), "-q", "--threads", "1").exit_code == 0
    doc = json.loads(plan.read_text())
    doc["objectives"]["cost"] += 1
    plan.write_text(json.dumps(doc))
    assert run("explain", instance, str(plan)).exit_code == 0


def test_the_output_must_not_be_the_solution(tmp_path: Path) -> None:
    instance = str(EXAMPLES / "basic.yaml")
    plan = tmp_path / "plan.json"
    assert run("solve", instance, "-o", str(plan), "-q").exit_code == 0
    before = plan.read_text()
    result = run("explain", instance, str(plan), "-o", str(plan))
    assert result.exit_code == 2 and "solution file" in result.output
    assert plan.read_text() == before


def test_sigterm_explains_the_best_plan_found(tmp_path: Path) -> None:
    """SIGTERM during the solve that comes first: the search stops, its best plan is explained."""
    instance = medium_instance(tmp_path)
    out = tmp_path / "why.json"
    args = ["explain", str(instance), "-o", str(out), "--time-limit", "300", "--threads", "1"]
    code, stderr, seconds = terminated(tmp_path, args)
    assert code == 0, stderr
    assert seconds < 60, "the search did not stop promptly"
    explanation = json.loads(out.read_text())
    assert explanation["status"] == "feasible" and explanation["shortfalls"]
