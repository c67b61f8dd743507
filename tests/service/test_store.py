"""The job store: jobs and results survive reopening; a job ends once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from allocator.service.store import JobStore


def test_jobs_and_results_survive_reopening(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    store.add("a" * 16, "solve", "basic", {"kind": "solve", "instance": {"name": "basic"}})
    store.started("a" * 16, {"level": "shortfall", "incumbent": 3.0})
    assert store.finish("a" * 16, "done", result_status="optimal", verified=True, solution='{"x": 1}')
    again = JobStore(tmp_path)
    job = again.get("a" * 16)
    assert job is not None and job.status == "done" and job.verified is True and job.has_solution
    assert job.progress == {"level": "shortfall", "incumbent": 3.0}
    assert again.result("a" * 16, "solution") == '{"x": 1}' and again.result("a" * 16, "report") is None
    assert again.request("a" * 16)["instance"] == {"name": "basic"}


def test_a_job_ends_once_and_progress_never_revives_it(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    store.add("b" * 16, "solve", None, {})
    assert store.finish("b" * 16, "stopped", reason="asked")
    assert not store.finish("b" * 16, "done", solution="{}")  # a late result does not overwrite
    store.started("b" * 16, {"level": "cost"})
    job = store.get("b" * 16)
    assert job is not None and job.status == "stopped" and not job.has_solution and job.progress is None


def test_jobs_are_listed_newest_first_by_status(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    for k in range(5):
        store.add(f"{k:016x}", "solve", None, {})
    store.finish(f"{1:016x}", "failed", reason="x")
    assert [j.id for j in store.jobs(limit=3)] == [f"{k:016x}" for k in (4, 3, 2)]
    assert [j.id for j in store.jobs("failed")] == [f"{1:016x}"]
    assert [j.id for j in store.active()] == [f"{k:016x}" for k in (0, 2, 3, 4)]


def test_a_store_of_another_version_is_refused(tmp_path: Path) -> None:
    JobStore(tmp_path)
    with sqlite3.connect(tmp_path / "jobs.sqlite") as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(RuntimeError, match="version 99"):
        JobStore(tmp_path)
