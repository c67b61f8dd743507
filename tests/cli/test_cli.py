"""The command line: exit codes of SPEC section 5, messages, files written or not."""

from __future__ import annotations

import importlib
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

import allocator
from allocator.cli import main
from tests.helpers.instances import EXAMPLES, ROOT, base_instance

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
    path = write(tmp_path, doc)
    result = run("solve", path, "-o", str(out))
    assert result.exit_code == 3
    written = json.loads(out.read_text())
    assert written["status"] == "infeasible" and "assignments" not in written
    checked = run("check", path, str(out))  # nothing to check, and it says so
    assert checked.exit_code == 0 and "holds no plan (infeasible): nothing to check" in checked.output


def test_no_solution_in_time_exit_4(tmp_path: Path) -> None:
    """Hard demand and no time: the greedy first plan is cut short, so no plan at all."""
    out = tmp_path / "plan.json"
    args = ["--model", "min-cost", "--time-limit", "0.001", "--threads", "1"]
    result = run("solve", str(REASSURANCE), "-o", str(out), *args)
    assert result.exit_code == 4, result.output
    assert json.loads(out.read_text())["status"] == "unknown"


def test_soft_demand_always_gets_a_plan(tmp_path: Path) -> None:
    """Soft demand and no time: the greedy first plan, cut short but valid, is the answer."""
    out = tmp_path / "plan.json"
    result = run("solve", str(REASSURANCE), "-o", str(out), "--time-limit", "0.001", "--threads", "1")
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["status"] == "feasible" and written["leads"]
    assert "first_plan_time" in written["solver"]
    args = ["--time-limit", "0.001", "--threads", "1", "--no-first-plan"]
    assert run("solve", str(REASSURANCE), "-o", str(out), *args).exit_code == 4


def test_reproducible_gives_the_same_file_but_for_its_seconds(tmp_path: Path) -> None:
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    for out in files:
        args = (
            "solve",
            str(EXAMPLES / "caveats.yaml"),
            "--reproducible",
            "--time-limit",
            "2",
            "-o",
            str(out),
            "-q",
        )
        assert run(*args).exit_code == 0
    docs = [json.loads(out.read_text()) for out in files]
    for doc in docs:
        assert doc["solver"]["reproducible"] is True and doc["solver"]["threads"] == 1
        for key in ("wall_time", "build_time", "first_plan_time"):
            doc["solver"].pop(key, None)
        for level in doc["solver"]["levels"]:
            level.pop("wall_time")
    assert docs[0] == docs[1]


@pytest.mark.parametrize("extra", [("--threads", "2"), ("--backend", "highs")])
def test_reproducible_refuses_what_it_cannot_keep(tmp_path: Path, extra: tuple[str, str]) -> None:
    out = tmp_path / "plan.json"
    result = run("solve", str(EXAMPLES / "basic.yaml"), "--reproducible", *extra, "-o", str(out))
    assert result.exit_code == 2 and "reproducible mode" in result.output and not out.exists()
    assert "Traceback" not in result.output


def test_model_option_changes_the_model(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert (
        run("solve", str(EXAMPLES / "basic.yaml"), "--model", "min-cost", "-o", str(out), "-q").exit_code == 0
    )
    assert list(json.loads(out.read_text())["solver"]["bounds"]) == ["cost", "surplus"]


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
            "-v",
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
        # a test run started in the background (`cmd &` in a script) ignores SIGINT, and a child
        # inherits that: the solve must hear Ctrl-C as a terminal's foreground job does
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Ctrl-C once the search runs (-v logs each level): a signal during start-up, on a busy
    # machine, could land in library code that swallows it
    assert proc.stderr is not None
    seen = b""
    while b"level 1 (" not in seen and proc.poll() is None:
        seen += proc.stderr.readline()
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    _, rest = proc.communicate(timeout=60)
    stderr = seen + rest
    assert proc.returncode == 0, stderr.decode()
    assert time.monotonic() - started < 30, "the search did not stop promptly"
    plan = json.loads(out.read_text())
    assert plan["solver"]["interrupted"] is True and plan["status"] == "feasible"
    checked = run("check", str(REASSURANCE), str(out))
    assert checked.exit_code == 0, checked.output


def test_a_reader_that_closes_the_pipe_early_gets_the_plan_file_and_no_error(tmp_path: Path) -> None:
    """`allocator solve ... | head`: the reader goes before the summary is printed; the solution
    file is whole, the exit code is SIGPIPE's (141) and nothing is said of an internal error."""
    out = tmp_path / "plan.json"
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    try:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "allocator.cli", "solve", str(EXAMPLES / "basic.yaml")),
                *("-o", str(out), "--threads", "1", "--time-limit", "10"),
            ],
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr.decode()
    assert b"internal error" not in done.stderr and b"Traceback" not in done.stderr, done.stderr.decode()
    assert run("check", str(EXAMPLES / "basic.yaml"), str(out)).exit_code == 0


def test_a_closed_pipe_outside_rich_leaves_with_the_same_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write to the closed pipe that rich does not make (a library's own print) ends the same way."""
    from allocator.cli import common

    dropped: list[bool] = []
    monkeypatch.setattr(common, "_drop_stdout", lambda: dropped.append(True))  # not pytest's own stdout
    with pytest.raises(SystemExit) as stopped, common.guarded(debug=False):
        raise BrokenPipeError(32, "Broken pipe")
    assert stopped.value.code == common.EXIT_PIPE_CLOSED and dropped


# files the user named are not replaced by surprise ------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ["template", "{target}"],
        ["convert", str(EXAMPLES / "basic.yaml"), "{target}"],
        ["generate", "--nations", "3", "--tasks", "2", "--periods", "6", "-o", "{target}"],
    ],
    ids=["template", "convert", "generate"],
)
def test_an_existing_file_is_kept_unless_force(tmp_path: Path, command: list[str]) -> None:
    target = tmp_path / ("plan.yaml" if command[0] == "generate" else "plan.xlsx")
    target.write_bytes(b"a planner's filled-in workbook")
    args = [a.replace("{target}", str(target)) for a in command]
    refused = run(*args)
    assert refused.exit_code == 2, refused.output
    assert f"{target}: exists; add --force to replace it" in " ".join(refused.output.split())
    assert target.read_bytes() == b"a planner's filled-in workbook"
    forced = run(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert allocator.load_instance(target).name


def test_solve_never_writes_its_solution_over_an_instance(tmp_path: Path) -> None:
    workbook = tmp_path / "plan.xlsx"
    assert run("convert", str(EXAMPLES / "basic.yaml"), str(workbook)).exit_code == 0
    before = workbook.read_bytes()
    same = run("solve", str(workbook), "-o", str(workbook), "-q")
    assert same.exit_code == 2 and "is the instance file itself" in same.output
    other = run("solve", str(EXAMPLES / "basic.yaml"), "-o", str(tmp_path / "other.xlsx"), "-q")
    assert other.exit_code == 2 and "name a .json file" in other.output
    assert workbook.read_bytes() == before and not (tmp_path / "other.xlsx").exists()


# a plan of another instance -------------------------------------------------------------------------
def test_check_and_report_refuse_another_instances_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    solved = run("solve", str(EXAMPLES / "lead-rotation.yaml"), "-o", str(plan), "--time-limit", "20", "-q")
    assert solved.exit_code == 0, solved.output
    checked = run("check", str(EXAMPLES / "basic.yaml"), str(plan))
    assert checked.exit_code == 2, checked.output
    lines = checked.output.strip().splitlines()
    assert len(lines) == 1, lines
    assert "the solution is for instance 'lead-rotation', not 'basic'" in lines[0]
    reported = run("report", str(EXAMPLES / "basic.yaml"), str(plan), "-o", str(tmp_path / "report"))
    assert reported.exit_code == 2, reported.output
    assert "not 'basic'" in reported.output
    assert not (tmp_path / "report").exists()


# validate: supply against demand ----------------------------------------------------------------------
def test_validate_shows_supply_against_demand_and_warns_where_short(tmp_path: Path) -> None:
    doc = base_instance(horizon={"periods": 6, "start": "2027-01"}, offers=[])
    doc["tasks"][0]["requirements"].append({"capability": "fighter", "units": 2, "periods": [3, 4]})
    empty = write(tmp_path, doc)
    result = run("validate", empty)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Supply against demand" in text
    assert "fighter │ 3 │ 0 │ 3 in 2027-01..2027-06" in text, text
    assert "warning:" in text and "capability 'fighter': 3 unit(s) more are required than offered" in text

    doc["offers"] = [{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 2}]
    result = run("validate", write(tmp_path, doc))
    text = " ".join(result.output.split())
    assert "fighter │ 3 │ 2 │ 1 in 2027-03..2027-04" in text, text
    doc["offers"][0]["units"] = 3
    result = run("validate", write(tmp_path, doc))
    assert "warning" not in result.output and result.exit_code == 0


# the solve summary -------------------------------------------------------------------------------------
def test_summary_gives_shortfall_runs_and_the_priority_weighting(tmp_path: Path) -> None:
    doc = yaml.safe_load((EXAMPLES / "shortfall.yaml").read_text())
    doc["horizon"]["start"] = "2027-05"
    path = write(tmp_path, doc)
    out = tmp_path / "plan.json"
    result = run("solve", path, "--threads", "1", "-o", str(out))
    assert result.exit_code == 0, result.output
    plan = json.loads(out.read_text())
    instance = allocator.load_instance(path)
    priority = {t.id: t.priority for t in instance.tasks}
    text = " ".join(result.output.split())
    assert "priority-weighted" in text
    for task in ("escort", "patrol"):
        gaps = [s for s in plan["shortfalls"] if s["task"] == task]
        if not gaps:
            continue
        missing = sum(s["units"] for s in gaps)
        weighted = priority[task] * missing
        periods = sorted(s["period"] for s in gaps)
        labels = [f"2027-{p + 4:02d}" if p + 4 <= 12 else f"2028-{p - 8:02d}" for p in periods]
        assert periods == list(range(periods[0], periods[-1] + 1)) and len(periods) > 1, "one run"
        row = f"│ {task} │ frigate │ {labels[0]}..{labels[-1]} │ {missing:g} unit-periods │ {weighted:g} │"
        assert row in text, text
    assert (
        sum(priority[s["task"]] * s["units"] for s in plan["shortfalls"]) == plan["objectives"]["shortfall"]
    )


def test_markup_in_ids_is_printed_as_typed(tmp_path: Path) -> None:
    doc = base_instance()
    doc["nations"][0]["id"] = "[/bold]FR[red]"
    doc["offers"][0]["nation"] = "[/bold]FR[red]"
    result = run("solve", write(tmp_path, doc), "--threads", "1")
    assert result.exit_code == 0, result.output
    assert "[/bold]FR[red]" in result.output
    doc["offers"][0]["nation"] = "[/x]"
    bad = run("validate", write(tmp_path, doc))
    assert bad.exit_code == 2 and "unknown nation '[/x]'" in bad.output


def test_a_plan_for_edited_data_of_the_same_name_is_checked_with_a_warning(tmp_path: Path) -> None:
    doc = yaml.safe_load((EXAMPLES / "basic.yaml").read_text())
    path = write(tmp_path, doc)
    plan = tmp_path / "plan.json"
    assert run("solve", path, "-o", str(plan), "-q").exit_code == 0
    assert "warning" not in run("check", path, str(plan)).output
    doc["nations"][0]["share"] = 3
    edited = run("check", write(tmp_path, doc), str(plan))
    text = " ".join(edited.output.split())
    assert "warning:" in text and "made for other data of instance 'basic'" in text
    assert edited.exit_code in (0, 1)  # judged against the data given


def test_warnings_are_printed_when_loading_fails_and_hidden_by_quiet(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    workbook = tmp_path / "plan.xlsx"
    assert run("convert", str(EXAMPLES / "basic.yaml"), str(workbook)).exit_code == 0
    book = load_workbook(workbook)
    book.create_sheet("notes")
    book["offers"]["B2"] = "XX"
    book.save(workbook)
    failed = run("validate", str(workbook))
    assert failed.exit_code == 2
    assert "sheet 'notes' ignored" in failed.output and "unknown nation 'XX'" in failed.output
    book["offers"]["B2"] = "FR"
    book.save(workbook)
    quiet = run("solve", str(workbook), "-q", "--threads", "1")
    assert quiet.exit_code == 0 and quiet.output == ""


def test_counts_and_signs_read_well(tmp_path: Path) -> None:
    from allocator.cli.common import count as _count
    from allocator.cli.common import signed as _signed

    assert (_count(1, "nation"), _count(3, "task"), _count(1200, "tour")) == (
        "1 nation",
        "3 tasks",
        "1,200 tours",
    )
    assert (_signed(-0.01), _signed(0.04), _signed(1.25), _signed(-6)) == ("0", "0", "+1.2", "-6.0")


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".xlsx"])
def test_generate_writes_the_format_its_extension_names(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"gen{suffix}"
    result = run("generate", "--nations", "3", "--tasks", "2", "--periods", "6", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert allocator.load_instance(target).name == "coalition-n3-k2-t6-s0"
    refused = run(
        "generate", "--nations", "3", "--tasks", "2", "--periods", "6", "-o", str(tmp_path / "g.txt")
    )
    assert refused.exit_code == 2 and "unknown format '.txt'" in refused.output
    assert not (tmp_path / "g.txt").exists()


def test_the_wrong_file_in_the_solution_place_is_named(tmp_path: Path) -> None:
    workbook = tmp_path / "plan.xlsx"
    assert run("convert", str(EXAMPLES / "basic.yaml"), str(workbook)).exit_code == 0
    as_workbook = run("check", str(workbook), str(workbook))
    assert as_workbook.exit_code == 2 and "a workbook holds an instance, not a solution" in as_workbook.output
    as_instance = run("check", str(workbook), str(EXAMPLES / "basic.yaml"))
    assert as_instance.exit_code == 2 and "this is an instance, not a solution" in as_instance.output


def test_a_workbook_can_come_through_standard_input(tmp_path: Path) -> None:
    workbook = tmp_path / "plan.xlsx"
    assert run("convert", str(EXAMPLES / "basic.yaml"), str(workbook)).exit_code == 0
    result = CliRunner().invoke(main, ["validate", "-"], input=workbook.read_bytes())
    assert result.exit_code == 0 and "(basic)" in result.output, result.output
    broken = CliRunner().invoke(main, ["validate", "-"], input=b"PK\x03\x04 not a workbook")
    assert broken.exit_code == 2 and "<stdin>" in broken.output and "Traceback" not in broken.output


def test_solve_keeps_an_instance_and_says_when_it_writes_nothing(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    assert run("convert", str(EXAMPLES / "caveats.yaml"), str(other)).exit_code == 0
    before = other.read_text()
    refused = run("solve", str(EXAMPLES / "basic.yaml"), "-o", str(other), "-q")
    assert refused.exit_code == 2 and "holds an instance" in refused.output
    assert other.read_text() == before
    unsaved = run("solve", str(EXAMPLES / "basic.yaml"), "--threads", "1")
    assert "no solution file written (add -o FILE.json to keep the plan)" in unsaved.output


def test_the_command_line_starts_without_the_report_libraries() -> None:
    """matplotlib, jinja2 and openpyxl load only when a report or a workbook is written, Dask and
    the web libraries only when used: every command would otherwise pay their start-up time and
    memory."""
    heavy = "('matplotlib', 'jinja2', 'openpyxl', 'dask', 'distributed', 'fastapi', 'uvicorn', 'starlette')"
    code = f"import sys, allocator.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_terminal_closed_early_loses_no_plan(tmp_path: Path) -> None:
    """`allocator solve ... -o plan.json | head` where the reader is gone before anything is
    printed: the solution and the report are written all the same."""
    plan, report = tmp_path / "plan.json", tmp_path / "report"
    command = [sys.executable, "-m", "allocator", "solve", str(EXAMPLES / "basic.yaml"), "--threads", "1"]
    child = subprocess.Popen(
        [*command, "-o", str(plan), "--report", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdout is not None
    child.stdout.close()  # the reader is gone: every print fails with a broken pipe
    child.wait(timeout=120)
    assert json.loads(plan.read_text())["status"] == "optimal"
    assert (report / "report.html").exists()


@pytest.mark.parametrize("where", ["before", "after"])
def test_the_shared_options_go_before_or_after_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """-v/-vv, -q and --debug: one definition on the group and every command, the same meaning."""
    basic = str(EXAMPLES / "basic.yaml")

    def placed(option: str, *command: str) -> list[str]:
        return [option, *command] if where == "before" else [*command, option]

    # the log level (in a subprocess: there the command line configures logging, not pytest)
    code = (
        "import logging, sys\nfrom allocator.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "finally:\n    print(logging.getLevelName(logging.getLogger().level))"
    )
    for option, level in (("-v", "INFO"), ("-vv", "DEBUG"), ("-q", "ERROR")):
        args = placed(option, "validate", basic)
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[-1] == level
    # -vv says more than -v on a solve: the rows of each rule and the solver's settings
    args = [
        sys.executable,
        "-m",
        "allocator",
        *placed("-vv", "solve", basic, "--threads", "1", "--time-limit", "5"),
    ]
    debug = subprocess.run(args, capture_output=True, text=True)
    assert debug.returncode == 0 and "DEBUG allocator.formulation.rules: rows of demand" in debug.stderr
    quiet = run(*placed("-q", "solve", basic, "--threads", "1"))
    assert quiet.exit_code == 0 and quiet.output == ""
    plan = tmp_path / "plan.json"
    assert run("solve", basic, "-o", str(plan), "-q", "--threads", "1").exit_code == 0

    def boom(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(importlib.import_module("allocator.cli.check"), "check_file", boom)
    assert run("check", basic, str(plan)).exit_code == 1
    with pytest.raises(RuntimeError, match="a bug"):
        run(*placed("--debug", "check", basic, str(plan)))


# SIGTERM ----------------------------------------------------------------------------------------------
def medium_instance(tmp_path: Path) -> Path:
    """A generated coalition of 30 nations, 12 tasks and 24 months: a search of minutes."""
    path = tmp_path / "medium.yaml"
    made = run("generate", "--nations", "30", "--tasks", "12", "--periods", "24", "-o", str(path))
    assert made.exit_code == 0, made.output
    return path


def terminated(tmp_path: Path, args: list[str], after: bytes = b"first plan") -> tuple[int, str, float]:
    """Run ``allocator -v ARGS`` in a subprocess and send it SIGTERM (to it alone, as a service
    manager or `timeout` does) a second after its log says `after` (the search runs then); its
    exit code, its standard error, and the seconds it took to end after the signal."""
    with (tmp_path / "stdout.txt").open("wb") as stdout:
        proc = subprocess.Popen(
            [sys.executable, "-m", "allocator", "-v", *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stderr is not None
        seen = b""
        while after not in seen and proc.poll() is None:
            seen += proc.stderr.readline()
        assert proc.poll() is None, f"ended before {after!r}: {seen.decode()}"
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        _, rest = proc.communicate(timeout=120)
    return proc.returncode, (seen + rest).decode(), time.monotonic() - signalled


def test_sigterm_keeps_the_best_plan(tmp_path: Path) -> None:
    """SIGTERM during the search stops it as Ctrl-C does: the best plan is written, marked
    interrupted, checked, and the exit code is the status's (0 with a plan)."""
    instance = medium_instance(tmp_path)
    out = tmp_path / "plan.json"
    args = [
        "solve",
        str(instance),
        "-o",
        str(out),
        "--time-limit",
        "300",
        "--threads",
        "1",
        "--backend",
        "cpsat",
    ]
    code, stderr, seconds = terminated(tmp_path, args)
    assert code == 0, stderr
    assert "SIGTERM: stopping the search and keeping the best plan found" in stderr
    assert seconds < 30, "the search did not stop promptly"
    plan = json.loads(out.read_text())
    assert plan["solver"]["interrupted"] is True and plan["status"] == "feasible"
    assert run("check", str(instance), str(out)).exit_code == 0


def every_command_with_bad_input(tmp_path: Path) -> dict[str, list[str]]:
    """A bad input for every command: a missing file, a malformed one, or an option out of range."""
    missing = str(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nnations: 3\n")
    basic = str(EXAMPLES / "basic.yaml")
    out = str(tmp_path / "out")
    return {
        "solve": ["solve", str(broken), "-o", f"{out}.json"],
        "check": ["check", basic, missing],
        "explain": ["explain", missing],
        "replan": ["replan", basic, missing, "--from", "2"],
        "withdraw": ["withdraw", str(broken), "FR", "--from", "2", "-o", f"{out}.yaml"],
        "whatif": ["whatif", missing, "--from", "2", "--withdraw-each", "nation", "-o", out],
        "report": ["report", basic, str(broken), "-o", out],
        "validate": ["validate", str(broken)],
        "convert": ["convert", missing, f"{out}.json"],
        "template": ["template", f"{out}.txt"],
        "generate": ["generate", "--nations", "1", "--tasks", "1", "--periods", "4", "-o", f"{out}.yaml"],
        "import gap": ["import", "gap", missing, "-o", out],
        "bench": ["bench", missing],
        "serve": ["serve", "--port", "-1"],
    }


COMMANDS = [*(c for c in main.commands if c != "import"), "import gap"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_bad_input_with_exit_2_and_no_traceback(tmp_path: Path, command: str) -> None:
    args = every_command_with_bad_input(tmp_path)[command]
    for placed in (args, ["-q", *args]):
        result = run(*placed)  # (an exception would escape: catch_exceptions=False)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and "internal error" not in result.output
    assert not (tmp_path / "out").exists() and not any(tmp_path.glob("out.*"))
