"""The reproducible mode: the same solution file on every run (but for the seconds it took), one
thread, CP-SAT alone, limits in deterministic work."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

import allocator
from allocator.options import SolveOptions
from tests.helpers.instances import EXAMPLES, ROOT

#: The seconds a solution records: the only part of its file that may differ between two runs.
SECONDS = ("wall_time", "build_time", "first_plan_time")


def without_seconds(document: dict[str, Any]) -> str:
    """A solution document as text, without the seconds it records."""
    solver = document["solver"]
    for key in SECONDS:
        solver.pop(key, None)
    for level in solver.get("levels", []):
        level.pop("wall_time", None)
    return json.dumps(document, indent=2, sort_keys=True)


def twice(path: Path, work: float) -> tuple[str, str]:
    runs = [allocator.solve(path, reproducible=True, time_limit=work) for _ in range(2)]
    assert all(run.has_plan for run in runs)
    assert runs[0].to_json()["solver"]["reproducible"] is True
    return without_seconds(runs[0].to_json()), without_seconds(runs[1].to_json())


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_two_runs_give_the_same_solution_file(path: Path) -> None:
    first, second = twice(path, 2.0)
    assert first == second


SYNTHETIC = ROOT / "instances" / "synthetic"


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [
        ROOT / "instances" / "reassurance.yaml",
        SYNTHETIC / "small" / "small-1.yaml",
        SYNTHETIC / "medium" / "medium-2.yaml",
        SYNTHETIC / "leads" / "leads-60-40-52.yaml",
    ],
    ids=lambda p: p.stem,
)
def test_two_runs_of_a_shipped_instance_give_the_same_solution_file(path: Path) -> None:
    """One instance of each shipped set, with a little work each (the point is the sameness, not
    the plan; every shipped instance is measured in BENCHMARKS.md)."""
    first, second = twice(path, 1.0)
    assert first == second


def test_the_mode_runs_one_thread_and_cp_sat_alone(caplog: pytest.LogCaptureFixture) -> None:
    assert SolveOptions(reproducible=True).threads == 1
    with pytest.raises(ValueError, match="one thread"):
        SolveOptions(reproducible=True, threads=2)
    with pytest.raises(ValueError, match="CP-SAT alone"):
        SolveOptions(reproducible=True, backend="highs")
    with caplog.at_level(logging.INFO):
        allocator.solve(EXAMPLES / "basic.yaml", reproducible=True, time_limit=1)
    assert "auto: reproducible mode, CP-SAT alone" in caplog.text
    assert "LP relaxation" not in caplog.text and "shortfall relaxation" not in caplog.text


def test_the_limit_counts_work_not_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the clock made to run ten thousand times too fast, a solve in seconds has no time for
    any level; the reproducible mode does not look at the clock and solves them all."""
    import time as real_time

    from allocator.backends import levels

    started = real_time.perf_counter()

    class FastClock:
        @staticmethod
        def perf_counter() -> float:
            return started + 10_000 * (real_time.perf_counter() - started)

    monkeypatch.setattr(levels, "time", FastClock)
    path = EXAMPLES / "lead-rotation.yaml"
    fast = allocator.solve(path, threads=1, time_limit=5)
    steady = allocator.solve(path, reproducible=True, time_limit=5)
    assert steady.status == "optimal"
    assert fast.status != "optimal"
