"""``allocator bench`` on the command line: stopped by SIGTERM, it keeps what it found."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.cli.test_cli import medium_instance, terminated


def test_sigterm_stops_the_runs_and_writes_the_results(tmp_path: Path) -> None:
    """SIGTERM once the run has started on its worker (the worker's client connects to look for
    a stop): the solve ends with its best plan, the results table is written, exit 0."""
    instance = medium_instance(tmp_path)
    out = tmp_path / "results.csv"
    args = ["bench", str(instance), "--time-limit", "60", "--backend", "cpsat", "--out", str(out)]
    code, stderr, seconds = terminated(tmp_path, args, after=b"Client-worker")
    assert code == 0, stderr
    assert seconds < 30
    (row,) = list(csv.DictReader(out.open(newline="")))
    assert row["status"] == "feasible" and row["verified"] == "True"
    assert float(row["wall_time"]) < 40  # of 60 s
