"""Running a page's usage blocks as written, in order, in a scratch copy of the repository.

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


def usage_blocks(page: Path = README) -> list[Block]:
    """A page's console and python blocks, in order."""
    text = page.read_text()
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


def scratch_copy(tmp_path: Path) -> Path:
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


def run_block(block: Block, where: Path, page: str = "README.md") -> None:
    if block.language == "python":
        script = where / f"readme_{block.first_line}.py"
        script.write_text(shorten(block.text))
        done = subprocess.run(
            [sys.executable, str(script)], cwd=where, capture_output=True, text=True, env=_environment()
        )
        assert done.returncode == 0, f"{page} line {block.first_line}:\n{done.stdout}\n{done.stderr}"
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
        where_said = f"{page} line {block.first_line}: $ {command.line}\n{output}"
        assert done.returncode == (2 if shows_errors else 0), where_said
        assert "Traceback" not in output, where_said
        for line in command.expected:
            assert _normal(line) in _normal(output), f"expected «{line}»\n{where_said}"
