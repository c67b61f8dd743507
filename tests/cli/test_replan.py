"""``allocator replan``, ``allocator withdraw`` and ``allocator check --baseline``."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cli.test_cli import medium_instance, run, terminated, write
from tests.replanning.test_replan import baseline, ships


def _event(tmp_path: Path) -> tuple[str, str, str]:
    """The ships instance, BE withdrawn from 3 (written by `withdraw`), and a baseline of BE's."""
    instance = write(tmp_path, ships())
    withdrawn = str(tmp_path / "without-be.yaml")
    result = run("withdraw", instance, "BE", "--from", "3", "-o", withdrawn)
    assert result.exit_code == 0, result.output
    assert "nation BE withdrawn from period 3" in result.output
    base = tmp_path / "base.json"
    base.write_text(json.dumps(baseline([("BE-1", 1, "mcm", 1, 6)])))
    return instance, withdrawn, str(base)


def test_withdraw_replan_and_check_with_the_baseline(tmp_path: Path) -> None:
    _, withdrawn, base = _event(tmp_path)
    assert yaml.safe_load(Path(withdrawn).read_text())["offers"][0]["available"] == [1, 2]
    out = tmp_path / "replan.json"
    result = run(
        "replan", withdrawn, base, "--from", "3", "-o", str(out), "--threads", "1", "--time-limit", "20"
    )
    assert result.exit_code == 0, result.output
    assert "Changes against the baseline (8 in all)" in result.output and "BE-1" in result.output
    doc = json.loads(out.read_text())
    assert doc["replan"]["from"] == 3 and doc["replan"]["baseline"] == "base.json"
    assert doc["objectives"]["changes"] == 8
    checked = run("check", withdrawn, str(out), "--baseline", base)
    assert checked.exit_code == 0, checked.output
    assert "changes 8" in checked.output
    without = run("check", withdrawn, str(out))
    assert without.exit_code == 2
    assert "check it with its baseline (--baseline)" in without.output


def test_a_plain_plan_checked_with_a_baseline_is_refused(tmp_path: Path) -> None:
    instance, _, base = _event(tmp_path)
    plan = tmp_path / "plan.json"
    assert run("solve", instance, "-o", str(plan), "-q", "--threads", "1").exit_code == 0
    result = run("check", instance, str(plan), "--baseline", base)
    assert result.exit_code == 2 and "is not a re-plan" in result.output


def test_a_baseline_naming_a_deleted_nation_is_bad_input(tmp_path: Path) -> None:
    doc = ships()
    doc["nations"] = [n for n in doc["nations"] if n["id"] != "BE"]
    doc["offers"] = [o for o in doc["offers"] if o["nation"] != "BE"]
    instance = write(tmp_path, doc)
    base = tmp_path / "base.json"
    base.write_text(json.dumps(baseline([("BE-1", 1, "mcm", 1, 6)], [("mcm", "BE", 1, 6)])))
    out = tmp_path / "replan.json"
    result = run("replan", instance, str(base), "--from", "3", "-o", str(out))
    assert result.exit_code == 2
    assert "assignments[0].offer: offer 'BE-1' of the history is not in the instance" in result.output
    assert "leads[0].nation: nation 'BE' of the history is not in the instance" in result.output
    assert not out.exists()


def test_replan_bad_options_are_bad_input(tmp_path: Path) -> None:
    _, withdrawn, base = _event(tmp_path)
    unknown = run("replan", withdrawn, base, "--from", "3", "--objectives", "shortfall,speed")
    assert unknown.exit_code == 2 and "'speed': unknown objective" in unknown.output
    late = run("replan", withdrawn, base, "--from", "9")
    assert late.exit_code == 2 and "--from: 9 is not a period of 2..6" in late.output
    flow = run("replan", withdrawn, base, "--from", "3", "--formulation", "flow")
    assert flow.exit_code == 2 and "tours formulation" in flow.output
    same = run("replan", withdrawn, base, "--from", "3", "-o", base)
    assert same.exit_code == 2


def test_solve_refuses_a_model_that_optimises_changes(tmp_path: Path) -> None:
    path = write(tmp_path, ships(model={"objectives": ["shortfall", "changes"]}))
    result = run("solve", path)
    assert result.exit_code == 2
    assert "model.objectives[1]: 'changes' needs a baseline plan" in result.output
    assert path in result.output


def test_withdraw_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    instance = write(tmp_path, ships())
    target = str(tmp_path / "new.yaml")
    typo = run("withdraw", instance, "be", "--from", "3", "-o", target)
    assert typo.exit_code == 2 and "did you mean 'BE'?" in typo.output
    assert run("withdraw", instance, "BE", "--from", "3", "-o", instance).exit_code == 2
    assert run("withdraw", instance, "BE", "--from", "3", "-o", str(tmp_path / "new.txt")).exit_code == 2
    assert not Path(target).exists()
    assert run("withdraw", instance, "BE", "--from", "3", "-o", target).exit_code == 0
    again = run("withdraw", instance, "NL", "--from", "3", "-o", target)
    assert again.exit_code == 2 and "--force" in again.output


def test_an_infeasible_replan_says_what_may_make_it_so(tmp_path: Path) -> None:
    """BE's withdrawal from 3 changes 8 unit-periods whatever the plan: at most 2 is exit 3, and
    the message points at --max-changes."""
    _, withdrawn, base = _event(tmp_path)
    result = run("replan", withdrawn, base, "--from", "3", "--max-changes", "2", "--threads", "1")
    assert result.exit_code == 3, result.output
    assert "with at most 2 changes" in result.output


def test_sigterm_keeps_the_best_re_plan(tmp_path: Path) -> None:
    instance = medium_instance(tmp_path)
    base = tmp_path / "base.json"
    solved = run("solve", str(instance), "-o", str(base), "-q", "--time-limit", "5", "--threads", "1")
    assert solved.exit_code == 0, solved.output
    out = tmp_path / "replan.json"
    args = ["replan", str(instance), str(base), "--from", "13", "-o", str(out), "--time-limit", "300"]
    code, stderr, seconds = terminated(tmp_path, [*args, "--threads", "1", "--backend", "cpsat"])
    assert code == 0, stderr
    assert seconds < 30, "the search did not stop promptly"
    plan = json.loads(out.read_text())
    assert plan["solver"]["interrupted"] is True and plan["replan"]["from"] == 13
    checked = run("check", str(instance), str(out), "--baseline", str(base))
    assert checked.exit_code == 0, checked.output
