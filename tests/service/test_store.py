"""The job store: jobs and results survive reopening; a job ends once."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from allocator.service.store import JobStore, QueueFull


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


def test_the_store_is_its_owners_only_whatever_the_umask(tmp_path: Path) -> None:
    """jobs.sqlite holds every instance sent: 0600 for it, its -wal and -shm files, 0700 for the
    folder made for it, even under umask 000."""
    old = os.umask(0)
    try:
        store = JobStore(tmp_path / "data")
        store.add("c" * 16, "solve", None, {"instance": {"name": "secret"}})
        store.keep_incumbent("c" * 16, '{"plan": 1}')
        still_open = sqlite3.connect(tmp_path / "data" / "jobs.sqlite")  # keeps the -wal and -shm
        still_open.execute("SELECT 1 FROM jobs").fetchall()
    finally:
        os.umask(old)
    try:
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "data").iterdir()}
    finally:
        still_open.close()
    assert {"jobs.sqlite", "jobs.sqlite-wal", "jobs.sqlite-shm"} <= set(files)
    assert set(files.values()) == {0o600}, files
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


def test_a_store_made_readable_is_made_private_again(tmp_path: Path) -> None:
    JobStore(tmp_path)
    (tmp_path / "jobs.sqlite").chmod(0o644)
    JobStore(tmp_path)
    assert stat.S_IMODE((tmp_path / "jobs.sqlite").stat().st_mode) == 0o600


def _finished(store: JobStore, count: int, size: int = 0) -> list[str]:
    ids = []
    for k in range(count):
        job_id = f"{k:016x}"
        store.add(job_id, "solve", None, {"k": k})
        store.finish(job_id, "done", solution="x" * size)
        ids.append(job_id)
    return ids


def _disk(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def test_retention_by_count_removes_the_oldest_finished_jobs_and_frees_their_space(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    ids = _finished(store, 6, size=1_000_000)
    store.add("f" * 16, "solve", None, {})  # active: never purged
    full = _disk(tmp_path)
    assert store.purge(max_age=None, max_jobs=2) == 4
    assert [j.id for j in store.jobs()] == ["f" * 16, ids[5], ids[4]]
    assert _disk(tmp_path) < full - 3_500_000, (full, _disk(tmp_path))


def test_retention_by_age_removes_jobs_that_ended_long_ago(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    old, new = _finished(store, 2)
    with sqlite3.connect(tmp_path / "jobs.sqlite") as db:
        db.execute("UPDATE jobs SET finished = finished - 31 * 86400 WHERE id = ?", (old,))
    assert store.purge(max_age=30 * 86400, max_jobs=None) == 1
    assert [j.id for j in store.jobs()] == [new]
    assert store.purge(max_age=30 * 86400, max_jobs=1000) == 0


def test_a_finished_job_is_removed_on_request_an_active_one_is_not(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    (done,) = _finished(store, 1, size=2_000_000)
    store.add("e" * 16, "solve", None, {})
    full = _disk(tmp_path)
    assert store.remove(done) and store.get(done) is None
    assert not store.remove("e" * 16) and store.get("e" * 16) is not None
    assert not store.remove(done)
    assert _disk(tmp_path) < full - 1_500_000


def test_queued_work_is_bounded_per_client_and_in_all(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    for k in range(2):
        store.add(f"a{k:015x}", "solve", None, {}, client="10.0.0.1", per_client=2, total=3)
    with pytest.raises(QueueFull) as mine:
        store.add("a" * 16, "solve", None, {}, client="10.0.0.1", per_client=2, total=3)
    store.add("b" * 16, "solve", None, {}, client="10.0.0.2", per_client=2, total=3)
    with pytest.raises(QueueFull) as everyone:
        store.add("c" * 16, "solve", None, {}, client="10.0.0.3", per_client=2, total=3)
    assert mine.value.scope == "client" and everyone.value.scope == "service"
    store.finish(f"a{0:015x}", "done")
    store.add("a" * 16, "solve", None, {}, client="10.0.0.1", per_client=2, total=3)
    assert len(store.active()) == 3 and len(store.active("10.0.0.1")) == 2


def test_the_incumbent_is_kept_while_the_job_runs_and_let_go_at_its_end(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    store.add("d" * 16, "solve", None, {})
    assert store.keep_incumbent("d" * 16, '{"status": "feasible"}')
    job = store.get("d" * 16)
    assert job is not None and job.has_incumbent and not job.has_solution
    assert JobStore(tmp_path).result("d" * 16, "incumbent") == '{"status": "feasible"}'
    store.finish("d" * 16, "done", solution="{}")
    assert store.result("d" * 16, "incumbent") is None
    assert not store.keep_incumbent("d" * 16, "{}")


def test_a_store_of_version_1_is_brought_up_to_date(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "jobs.sqlite") as db:
        db.executescript(V1)
        db.execute(
            "INSERT INTO jobs (id, seq, kind, status, created, request, solution)"
            " VALUES ('aaaaaaaaaaaaaaaa', 1, 'solve', 'done', 1.0, '{}', '{}')"
        )
        db.execute("PRAGMA user_version=1")
    store = JobStore(tmp_path)
    job = store.get("a" * 16)
    assert job is not None and job.has_solution and job.client is None
    store.add("b" * 16, "solve", None, {}, client="127.0.0.1", time_limit=5.0)
    assert store.active("127.0.0.1")[0].time_limit == 5.0
    with sqlite3.connect(tmp_path / "jobs.sqlite") as db:
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental: removals free space


V1 = """
CREATE TABLE jobs (
    id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, name TEXT,
    created REAL NOT NULL, started REAL, finished REAL, request TEXT NOT NULL, progress TEXT,
    result_status TEXT, verified INTEGER, reason TEXT, solution TEXT, explanation TEXT, report TEXT
);
CREATE INDEX jobs_seq ON jobs (seq);
"""
