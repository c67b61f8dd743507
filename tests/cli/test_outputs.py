"""Where commands write: every output checked before any work (exit 2, the place named, nothing
computed), and files written atomically without ever replacing what is not a regular file
(``allocator.cli.outputs`` and ``allocator.files.write_atomic``)."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from allocator.errors import InputError
from allocator.files import write_atomic
from tests.cli.test_cli import run
from tests.helpers.instances import EXAMPLES

BASIC = str(EXAMPLES / "basic.yaml")


class Reader:
    """Reads a named pipe in a thread, as a `cat fifo` would."""

    def __init__(self, fifo: Path):
        self.data = b""
        self._thread = threading.Thread(target=self._read, args=(fifo,), daemon=True)
        self._thread.start()

    def _read(self, fifo: Path) -> None:
        with fifo.open("rb") as stream:
            self.data = stream.read()

    def join(self) -> bytes:
        self._thread.join(10)
        return self.data


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


# write_atomic ---------------------------------------------------------------------------------------
def test_a_named_pipe_is_written_to_not_replaced(fifo: Path) -> None:
    reader = Reader(fifo)
    write_atomic(fifo, "through the pipe\n")
    assert reader.join() == b"through the pipe\n"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # still the pipe, not a regular file
    assert sorted(p.name for p in fifo.parent.iterdir()) == ["pipe"]  # no temporary left


def test_a_link_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "real" / "plan.json"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "plan.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_folder_is_refused_as_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        write_atomic(tmp_path, "x")


# the command line -----------------------------------------------------------------------------------
@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every solve, sweep, explanation and benchmark fails the test if it starts."""

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("work started before the outputs were checked")

    for module, name in (
        ("allocator.api", "run_solve"),
        ("allocator.replanning.plan", "run_solve"),
        ("allocator.cli.explain", "explain_instance"),  # (a module the command's name hides)
        ("allocator.replanning.sweep", "whatif"),
        ("allocator.bench", "run_all"),
    ):
        monkeypatch.setattr(importlib.import_module(module), name, refuse)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder that refuses new files, to root too (an immutable folder) where chmod is not
    enough; skipped where neither can be made."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    try:
        probe = folder / "probe"
        try:
            probe.touch()
        except PermissionError:
            pass
        else:  # root: chmod does not bind
            probe.unlink()
            chattr = shutil.which("chattr")
            immutable = chattr is not None and subprocess.run([chattr, "+i", str(folder)]).returncode == 0
            if not immutable:
                pytest.skip("no way to make a folder read-only for this user")
        yield folder
    finally:
        if immutable:
            subprocess.run([str(shutil.which("chattr")), "-i", str(folder)], check=True)
        folder.chmod(0o755)


def one_line(output: str) -> str:
    return " ".join(output.split())


def commands(tmp_path: Path, target: str) -> dict[str, list[str]]:
    """Every command that works long before it writes, writing to `target` (a file or a folder)."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"instance": "basic", "status": "unknown", "objectives": {}}))
    return {
        "solve -o": ["solve", BASIC, "-o", target],
        "solve --report": ["solve", BASIC, "--report", target],
        "replan -o": ["replan", BASIC, str(plan), "--from", "2", "-o", target],
        "replan --report": ["replan", BASIC, str(plan), "--from", "2", "--report", target],
        "explain -o": ["explain", BASIC, "-o", target],
        "whatif -o": ["whatif", BASIC, "--from", "2", "--withdraw-each", "nation", "-o", target],
        "bench --out": ["bench", BASIC, "--out", target],
        "bench --solutions": ["bench", BASIC, "--out", str(tmp_path / "r.csv"), "--solutions", target],
        "report -o": ["report", BASIC, str(plan), "-o", target],
        "withdraw -o": ["withdraw", BASIC, "FR", "--from", "2", "-o", target],
    }


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize(
    "command",
    [
        "solve -o",
        "solve --report",
        "replan -o",
        "replan --report",
        "explain -o",
        "whatif -o",
        "bench --out",
        "bench --solutions",
        "report -o",
        "withdraw -o",
    ],
)
def test_an_output_under_a_file_is_refused_before_any_work(tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file where a folder would be")
    target = str(blocker / "out" / ("plan.yaml" if command == "withdraw -o" else "plan.json"))
    result = run(*commands(tmp_path, target)[command])
    assert result.exit_code == 2, result.output
    assert f"{target}: cannot be created" in one_line(result.output)
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize("command", ["solve -o", "solve --report", "explain -o", "whatif -o", "bench --out"])
def test_an_output_in_a_read_only_folder_is_refused_before_any_work(read_only: Path, command: str) -> None:
    target = str(read_only / "new" / "out.json")
    result = run(*commands(read_only.parent, target)[command])
    assert result.exit_code == 2, result.output
    assert f"{target}: cannot be written" in one_line(result.output) and "refuses new files" in result.output


def test_a_report_folder_never_replaces_an_input(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    workbook = folder / "report.xlsx"  # an instance saved under a name the report writes
    assert run("convert", BASIC, str(workbook)).exit_code == 0
    before = workbook.read_bytes()
    result = run("solve", str(workbook), "--report", str(folder), "-q")
    assert result.exit_code == 2
    assert "the report would replace report.xlsx, the instance file" in one_line(result.output)
    assert workbook.read_bytes() == before
    solution = run("solve", BASIC, "-o", str(folder / "report.html"), "--report", str(folder), "-q")
    assert solution.exit_code == 2
    assert "would replace report.html, the solution file" in one_line(solution.output)


def test_a_sweep_folder_never_replaces_its_baseline_nor_takes_the_scenarios(tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    folder.mkdir()
    base = folder / "baseline.json"
    base.write_text("{}")
    args = ["whatif", BASIC, "--from", "2", "-o", str(folder)]
    kept = run(*args, "--baseline", str(base), "--withdraw-each", "nation")
    assert kept.exit_code == 2 and "would replace baseline.json, the baseline file" in one_line(kept.output)
    same = run(*args, "--scenarios", str(folder))
    assert same.exit_code == 2 and "is the --scenarios folder" in one_line(same.output)
    assert base.read_text() == "{}"


def test_solve_writes_its_plan_into_a_named_pipe(fifo: Path) -> None:
    reader = Reader(fifo)
    result = run("solve", BASIC, "-o", str(fifo), "-q", "--threads", "1")
    assert result.exit_code == 0, result.output
    assert json.loads(reader.join())["status"] == "optimal"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
