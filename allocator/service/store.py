"""The job store: one SQLite database under the service's data folder.

A job's request, status, progress and results (solution, explanation, check, report) live in one
row, written in transactions, so that they survive a restart of the service.  A connection per
call (WAL mode) lets the web threads, the progress monitor and the Dask callbacks share it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATABASE = "jobs.sqlite"
SCHEMA_VERSION = 1
ACTIVE = ("queued", "running")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    name TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    request TEXT NOT NULL,
    progress TEXT,
    result_status TEXT,
    verified INTEGER,
    reason TEXT,
    solution TEXT,
    explanation TEXT,
    report TEXT
);
CREATE INDEX IF NOT EXISTS jobs_seq ON jobs (seq);
"""


@dataclass(frozen=True)
class Job:
    """A job's row, without its (large) results."""

    id: str
    kind: str
    status: str
    name: str | None
    created: float
    started: float | None
    finished: float | None
    progress: dict[str, Any] | None
    result_status: str | None
    verified: bool | None
    reason: str | None
    has_solution: bool
    has_explanation: bool
    has_report: bool


_SUMMARY = (
    "id, kind, status, name, created, started, finished, progress, result_status, verified, reason,"
    " solution IS NOT NULL, explanation IS NOT NULL, report IS NOT NULL"
)


def _job(row: tuple[Any, ...]) -> Job:
    progress = json.loads(row[7]) if row[7] else None
    verified = None if row[9] is None else bool(row[9])
    solution, explanation, report = (bool(v) for v in row[11:14])
    return Job(
        id=row[0],
        kind=row[1],
        status=row[2],
        name=row[3],
        created=row[4],
        started=row[5],
        finished=row[6],
        progress=progress,
        result_status=row[8],
        verified=verified,
        reason=row[10],
        has_solution=solution,
        has_explanation=explanation,
        has_report=report,
    )


class JobStore:
    """Jobs under `folder` (created if needed)."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / DATABASE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise RuntimeError(
                    f"{self.path}: job store version {version}, this allocator reads {SCHEMA_VERSION}"
                )
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def add(self, job_id: str, kind: str, name: str | None, request: dict[str, Any]) -> None:
        with self._connection() as db:
            db.execute(
                "INSERT INTO jobs (id, seq, kind, status, name, created, request) "
                "VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), ?, 'queued', ?, ?, ?)",
                (job_id, kind, name, time.time(), json.dumps(request)),
            )

    def get(self, job_id: str) -> Job | None:
        with self._connection() as db:
            row = db.execute(f"SELECT {_SUMMARY} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def jobs(self, status: str | None = None, limit: int = 100, offset: int = 0) -> list[Job]:
        """Jobs, newest first."""
        where, args = ("WHERE status = ?", [status]) if status else ("", [])
        with self._connection() as db:
            rows = db.execute(
                f"SELECT {_SUMMARY} FROM jobs {where} ORDER BY seq DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        return [_job(row) for row in rows]

    def active(self) -> list[Job]:
        with self._connection() as db:
            rows = db.execute(
                f"SELECT {_SUMMARY} FROM jobs WHERE status IN (?, ?) ORDER BY seq", ACTIVE
            ).fetchall()
        return [_job(row) for row in rows]

    def request(self, job_id: str) -> dict[str, Any]:
        with self._connection() as db:
            (text,) = db.execute("SELECT request FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return dict(json.loads(text))

    def result(self, job_id: str, column: str) -> str | None:
        """A job's solution, explanation or report text."""
        if column not in ("solution", "explanation", "report"):
            raise ValueError(column)
        with self._connection() as db:
            row = db.execute(f"SELECT {column} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def started(self, job_id: str, progress: dict[str, Any] | None) -> None:
        """The job runs: its status and latest progress (only while it is still active)."""
        with self._connection() as db:
            db.execute(
                "UPDATE jobs SET status = 'running', started = COALESCE(started, ?), progress = ? "
                "WHERE id = ? AND status IN (?, ?)",
                (time.time(), json.dumps(progress) if progress else None, job_id, *ACTIVE),
            )

    def finish(
        self,
        job_id: str,
        status: str,
        *,
        reason: str | None = None,
        result_status: str | None = None,
        verified: bool | None = None,
        solution: str | None = None,
        explanation: str | None = None,
        started: float | None = None,
        progress: dict[str, Any] | None = None,
    ) -> bool:
        """End an active job with its results (and when it `started`, its last `progress`, where
        the worker says); False (nothing written) if it had ended already."""
        with self._connection() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = ?, finished = ?, reason = ?, result_status = ?, verified = ?,"
                " solution = ?, explanation = ?, started = COALESCE(started, ?),"
                " progress = COALESCE(?, progress) WHERE id = ? AND status IN (?, ?)",
                (
                    status,
                    time.time(),
                    reason,
                    result_status,
                    None if verified is None else int(verified),
                    solution,
                    explanation,
                    started,
                    json.dumps(progress) if progress else None,
                    job_id,
                    *ACTIVE,
                ),
            )
            return cursor.rowcount == 1

    def keep_report(self, job_id: str, report: str) -> None:
        with self._connection() as db:
            db.execute("UPDATE jobs SET report = ? WHERE id = ?", (report, job_id))
