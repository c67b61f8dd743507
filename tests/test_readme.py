"""The README's usage blocks run as written, in order, in a scratch copy of the repository.

Every ```console block is run command by command (lines starting with ``$ ``) through a shell;
the lines shown after a command are its expected output (each must appear in what it prints),
and a block that shows ``error:`` lines expects exit code 2, any other exit code 0. Every ```python
block runs as a script. Time limits are shortened (a solve runs a few seconds here); nothing else
is changed. The two set-up commands (```bash blocks) are what CI runs anyway, so they are left out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.instances import ROOT

README = ROOT / "README.md"
#: Seconds a README solve may take here: long enough for a plan of the reassurance scenario.
SHORT_LIMIT = "10"


@dataclass(frozen=True)
class Command:
    line: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    language: str
    first_line: int
    text: str

    @property
    def commands(self) -> list[Command]:
        out: list[Command] = []
        for line in self.text.splitlines():
            if line.startswith("$ "):
                out.append(Command(line[2:], ()))
            elif out and out[-1].line.endswith("\\"):  # a command continued on the next line
                out[-1] = Command(out[-1].line[:-1] + line.strip(), ())
            elif out and line.strip():
                out[-1] = Command(out[-1].line, (*out[-1].expected, line.strip()))
        return out

    @property
    def needs_gap_data(self) -> bool:
        return "../shared/data/gap" in self.text


def usage_blocks() -> list[Block]:
    """The README's console and python blocks, in order."""
    text = README.read_text()
    blocks = []
    for match in re.finditer(r"^```(\w+)\n(.*?)^```", text, re.S | re.M):
        if match[1] in ("console", "python"):
            blocks.append(Block(match[1], text.count("\n", 0, match.start()) + 1, match[2]))
    return blocks


def shorten(text: str) -> str:
    """Time limits of solves cut to SHORT_LIMIT seconds, in shell and in Python."""
    text = re.sub(r"--time-limit \d+(\.\d+)?", f"--time-limit {SHORT_LIMIT}", text)
    return re.sub(r"time_limit=\d+(\.\d+)?", f"time_limit={SHORT_LIMIT}", text)


def _normal(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A copy of the repository's instances, as a fresh clone would have."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copytree(ROOT / "instances", checkout / "instances")
    shutil.copy(README, checkout / "README.md")
    return checkout


def _environment() -> dict[str, str]:
    """The shell finds the `allocator` installed beside this Python; no terminal, wide lines."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "200"}


def run_block(block: Block, where: Path) -> None:
    if block.language == "python":
        script = where / f"readme_{block.first_line}.py"
        script.write_text(shorten(block.text))
        done = subprocess.run(
            [sys.executable, str(script)], cwd=where, capture_output=True, text=True, env=_environment()
        )
        assert done.returncode == 0, f"README.md line {block.first_line}:\n{done.stdout}\n{done.stderr}"
        return
    shows_errors = any(line.startswith("error:") for c in block.commands for line in c.expected)
    for command in block.commands:
        done = subprocess.run(
            ["bash", "-c", shorten(command.line)],
            cwd=where,
            capture_output=True,
            text=True,
            env=_environment(),
        )
        output = done.stdout + done.stderr
        where_said = f"README.md line {block.first_line}: $ {command.line}\n{output}"
        assert done.returncode == (2 if shows_errors else 0), where_said
        assert "Traceback" not in output, where_said
        for line in command.expected:
            assert _normal(line) in _normal(output), f"expected «{line}»\n{where_said}"


def test_the_readme_has_usage_blocks_to_run() -> None:
    blocks = usage_blocks()
    commands = [c.line for b in blocks for c in b.commands]
    assert sum(b.language == "python" for b in blocks) >= 1
    assert any(c.startswith("allocator template") for c in commands)
    assert any(c.startswith("allocator check my-plan.xlsx my-plan.json") for c in commands)


@pytest.mark.slow
def test_readme_usage_blocks_run_in_order(scratch: Path) -> None:
    """Every block but the benchmarking one (which needs the shared GAP data), in README order."""
    for block in usage_blocks():
        if not block.needs_gap_data:
            run_block(block, scratch)
    assert (scratch / "my-plan.json").exists() and (scratch / "my-report" / "report.html").exists()
    assert (scratch / "plan.json").exists() and (scratch / "reassurance-report" / "report.html").exists()


@pytest.mark.slow
def test_readme_benchmarking_block_runs(scratch: Path, needs_gap_data: Path) -> None:
    """The benchmarking block, with the shared GAP data beside the scratch copy as the README has it."""
    (scratch.parent / "shared" / "data").mkdir(parents=True)
    (scratch.parent / "shared" / "data" / "gap").symlink_to(needs_gap_data)
    blocks = [b for b in usage_blocks() if b.needs_gap_data]
    assert blocks, "the README shows how to benchmark the published GAP files"
    for block in blocks:
        run_block(block, scratch)
    assert (scratch / "results.csv").exists()
