"""The README's usage blocks run as written, in order, in a scratch copy of the repository
(how: :mod:`tests.helpers.markdown`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.markdown import run_block, scratch_copy, usage_blocks


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return scratch_copy(tmp_path)


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
