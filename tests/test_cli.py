"""The command line: exit codes of SPEC section 5, messages, files written or not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from allocator.cli import main
from tests.conftest import EXAMPLES, ROOT, base_instance

REASSURANCE = ROOT / "instances" / "reassurance.yaml"


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write(tmp_path: Path, doc: dict[str, Any], name: str = "i.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_solve_writes_and_check_accepts(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = run("solve", str(EXAMPLES / "lead-rotation.yaml"), "-o", str(out), "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "optimal" in result.output and "Burden against fair share" in result.output
    plan = json.loads(out.read_text())
    assert plan["status"] == "optimal" and plan["leads"][0]["nation"] == "FR"
    checked = run("check", str(EXAMPLES / "lead-rotation.yaml"), str(out))
    assert checked.exit_code == 0 and "ok" in checked.output


def test_check_finds_violation_exit_1(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert run("solve", str(EXAMPLES / "basic.yaml"), "-o", str(out), "-q").exit_code == 0
    plan = json.loads(out.read_text())
    plan["assignments"].append(dict(plan["assignments"][0]))
    out.write_text(json.dumps(plan))
    result = run("check", str(EXAMPLES / "basic.yaml"), str(out))
    assert result.exit_code == 1
    assert "unit-capacity" in result.output


def test_bad_instance_exit_2_nothing_written(tmp_path: Path) -> None:
    doc = base_instance()
    doc["offers"][0]["nation"] = "XX"
    path = write(tmp_path, doc)
    out = tmp_path / "plan.json"
    result = run("solve", path, "-o", str(out))
    assert result.exit_code == 2
    assert f"{path}: offers[0].nation: unknown nation 'XX'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_validate(tmp_path: Path) -> None:
    assert run("validate", str(EXAMPLES / "basic.yaml")).exit_code == 0
    assert run("validate", str(tmp_path / "missing.yaml")).exit_code == 2


def test_usage_error_exit_2() -> None:
    assert run("solve").exit_code == 2
    assert run("solve", str(EXAMPLES / "basic.yaml"), "--backend", "gurobi").exit_code == 2
    assert run("solve", str(EXAMPLES / "basic.yaml"), "--model", "nope").exit_code == 2


def test_malformed_solution_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "sol.json"
    bad.write_text('{"status": "optimal", "assignments": [{"offer": 1}]}')
    result = run("check", str(EXAMPLES / "basic.yaml"), str(bad))
    assert result.exit_code == 2 and "assignments[0].offer" in result.output


def test_infeasible_exit_3(tmp_path: Path) -> None:
    doc = base_instance(
        model="min-cost",
        tasks=[{"id": "air", "requirements": [{"capability": "fighter", "units": 5}]}],
    )
    out = tmp_path / "plan.json"
    result = run("solve", write(tmp_path, doc), "-o", str(out))
    assert result.exit_code == 3
    written = json.loads(out.read_text())
    assert written["status"] == "infeasible" and "assignments" not in written


def test_no_solution_in_time_exit_4(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = run("solve", str(REASSURANCE), "-o", str(out), "--time-limit", "0.001", "--threads", "1")
    assert result.exit_code == 4, result.output
    assert json.loads(out.read_text())["status"] == "unknown"


def test_model_option_changes_the_model(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert (
        run("solve", str(EXAMPLES / "basic.yaml"), "--model", "min-cost", "-o", str(out), "-q").exit_code == 0
    )
    assert list(json.loads(out.read_text())["solver"]["bounds"]) == ["cost"]


def test_formulation_option_is_recorded(tmp_path: Path, formulation: str) -> None:
    out = tmp_path / "plan.json"
    args = ("solve", str(EXAMPLES / "basic.yaml"), "--formulation", formulation, "-o", str(out), "-q")
    assert run(*args).exit_code == 0
    assert json.loads(out.read_text())["solver"]["formulation"] == formulation


@pytest.mark.slow
def test_ctrl_c_keeps_best_plan(tmp_path: Path, backend: str) -> None:
    """Ctrl-C during a long solve (SIGINT to the process group, as a terminal sends it): the search
    stops, the best plan is written, marked interrupted, and passes the check."""
    if backend == "cbc":
        pytest.skip("CBC runs as a subprocess PuLP owns: a stop takes effect only at the end of a level")
    out = tmp_path / "plan.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "allocator.cli",
            "solve",
            str(REASSURANCE),
            "-o",
            str(out),
            "--time-limit",
            "120",
            "--threads",
            "2",
            "-q",
            "--backend",
            backend,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    time.sleep(12)
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr.decode()
    assert time.monotonic() - started < 30, "the search did not stop promptly"
    plan = json.loads(out.read_text())
    assert plan["solver"]["interrupted"] is True and plan["status"] == "feasible"
    checked = run("check", str(REASSURANCE), str(out))
    assert checked.exit_code == 0, checked.output
