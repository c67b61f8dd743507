"""The job store: one SQLite database under the service's data folder.

A job's request, status, progress, best plan so far and results (solution, explanation, check,
report) live in one row, written in transactions, so that they survive a restart of the service.
A connection per call (WAL mode) lets the web threads, the progress monitor and the Dask callbacks
share it.

The folder and the database's files are its owner's only (0700 and 0600, whatever the umask):
they hold every instance sent to the service.  Finished jobs are removed on request
(:meth:`JobStore.remove`) and by retention (:meth:`JobStore.purge`), and the space they took is
given back to the file system.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATABASE = "jobs.sqlite"
#: The database's companion files (SQLite's write-ahead log and its shared memory).
COMPANIONS = ("-wal", "-shm", "-journal")
SCHEMA_VERSION = 2
ACTIVE = ("queued", "running")
FINAL = ("done", "failed", "stopped")
FOLDER_MODE = 0o700
FILE_MODE = 0o600

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
    report TEXT,
    client TEXT,
    time_limit REAL,
    incumbent TEXT
);
CREATE INDEX IF NOT EXISTS jobs_seq ON jobs (seq);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, client);
"""
#: What a store of an earlier version gains.
_MIGRATIONS = {
    1: (
        "ALTER TABLE jobs ADD COLUMN client TEXT",
        "ALTER TABLE jobs ADD COLUMN time_limit REAL",
        "ALTER TABLE jobs ADD COLUMN incumbent TEXT",
        "CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, client)",
    )
}


@dataclass(frozen=True)
class Job:
    """A job's row, without its (large) request and results."""

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
    client: str | None = None
    time_limit: float | None = None
    has_incumbent: bool = False


_SUMMARY = (
    "id, kind, status, name, created, started, finished, progress, result_status, verified, reason,"
    " solution IS NOT NULL, explanation IS NOT NULL, report IS NOT NULL, client, time_limit,"
    " incumbent IS NOT NULL"
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
        client=row[14],
        time_limit=row[15],
        has_incumbent=bool(row[16]),
    )


class QueueFull(Exception):
    """A job refused because too many are queued or running: the client's own (`scope`
    ``client``) or the service's (``service``), `limit` of them."""

    def __init__(self, scope: str, limit: int):
        self.scope = scope
        self.limit = limit
        whose = "from this client" if scope == "client" else "in this service"
        super().__init__(f"{limit} jobs {whose} are queued or running already; retry when one has ended")


def private_folder(folder: Path) -> None:
    """Make `folder` (and its parents) if needed; one made here is its owner's only (0700, whatever
    the umask); an existing one that others may enter is left as it is, with a warning."""
    if folder.is_dir():
        if folder.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("%s can be entered by other users; its files are its owner's only", folder)
        return
    folder.mkdir(parents=True, mode=FOLDER_MODE, exist_ok=True)
    os.chmod(folder, FOLDER_MODE)  # mkdir's mode passes through the umask


def private_file(path: Path) -> None:
    """Create `path` empty if it does not exist, and make it its owner's only (0600)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)


class JobStore:
    """Jobs under `folder` (created if needed, its owner's only)."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / DATABASE
        private_folder(self.path.parent)
        private_file(self.path)  # SQLite gives its -wal and -shm files the database's mode
        for suffix in COMPANIONS:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(f"{self.path}{suffix}", FILE_MODE)
        with self._connection() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            fresh = db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
            if fresh:  # before the first table: the space of removed jobs goes back to the disk
                db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            db.execute("PRAGMA journal_mode=WAL")
            if version not in (0, *_MIGRATIONS, SCHEMA_VERSION):
                raise RuntimeError(
                    f"{self.path}: job store version {version}, this allocator reads {SCHEMA_VERSION}"
                )
            if version in _MIGRATIONS:
                for statement in _MIGRATIONS[version]:
                    db.execute(statement)
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            if db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0:  # a store made before
                db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                db.execute("VACUUM")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=30000")
            yield db
        finally:
            db.close()

    def add(
        self,
        job_id: str,
        kind: str,
        name: str | None,
        request: dict[str, Any] | str,
        *,
        client: str | None = None,
        time_limit: float | None = None,
        per_client: int | None = None,
        total: int | None = None,
    ) -> None:
        """Queue a job: its `request` (a document, or its JSON text), the `client` that sent it
        and its `time_limit`.  :class:`QueueFull` when `client` has `per_client` jobs queued or
        running already, or the store `total` (checked and added in one transaction)."""
        text = request if isinstance(request, str) else json.dumps(request)
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                if total is not None and self._active(db) >= total:
                    raise QueueFull("service", total)
                if per_client is not None and self._active(db, client) >= per_client:
                    raise QueueFull("client", per_client)
                db.execute(
                    "INSERT INTO jobs (id, seq, kind, status, name, created, request, client, time_limit)"
                    " VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs), ?, 'queued', ?, ?, ?, ?, ?)",
                    (job_id, kind, name, time.time(), text, client, time_limit),
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _active(db: sqlite3.Connection, client: str | None = None) -> int:
        if client is None:
            row = db.execute("SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)", ACTIVE).fetchone()
        else:
            row = db.execute(
                "SELECT COUNT(*) FROM jobs WHERE status IN (?, ?) AND client = ?", (*ACTIVE, client)
            ).fetchone()
        return int(row[0])

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

    def active(self, client: str | None = None) -> list[Job]:
        """Queued and running jobs (of `client`, when given), oldest first."""
        where, args = ("AND client = ?", (client,)) if client is not None else ("", ())
        with self._connection() as db:
            rows = db.execute(
                f"SELECT {_SUMMARY} FROM jobs WHERE status IN (?, ?) {where} ORDER BY seq", (*ACTIVE, *args)
            ).fetchall()
        return [_job(row) for row in rows]

    def request(self, job_id: str) -> dict[str, Any]:
        return dict(json.loads(self.request_text(job_id)))

    def request_text(self, job_id: str) -> str:
        """A job's request as the JSON text it was stored as."""
        with self._connection() as db:
            (text,) = db.execute("SELECT request FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return str(text)

    def result(self, job_id: str, column: str) -> str | None:
        """A job's solution, explanation, report or incumbent (its best plan so far) text."""
        if column not in ("solution", "explanation", "report", "incumbent"):
            raise ValueError(column)
        with self._connection() as db:
            row = db.execute(f"SELECT {column} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def started(self, job_id: str, progress: dict[str, Any] | None) -> bool:
        """The job runs: its status and latest progress (only while it is still active); False
        when it has ended (or is not known)."""
        with self._connection() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = 'running', started = COALESCE(started, ?), progress = ? "
                "WHERE id = ? AND status IN (?, ?)",
                (time.time(), json.dumps(progress) if progress else None, job_id, *ACTIVE),
            )
            return cursor.rowcount == 1

    def keep_incumbent(self, job_id: str, solution: str) -> bool:
        """Keep a running job's best plan so far (a solution's JSON text), which a restart after a
        crash makes its result; False when the job has ended already."""
        with self._connection() as db:
            cursor = db.execute(
                "UPDATE jobs SET incumbent = ? WHERE id = ? AND status IN (?, ?)", (solution, job_id, *ACTIVE)
            )
            return cursor.rowcount == 1

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
        the worker says); its incumbent is let go.  False (nothing written) if it had ended
        already."""
        with self._connection() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = ?, finished = ?, reason = ?, result_status = ?, verified = ?,"
                " solution = ?, explanation = ?, started = COALESCE(started, ?),"
                " progress = COALESCE(?, progress), incumbent = NULL WHERE id = ? AND status IN (?, ?)",
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

    def remove(self, job_id: str) -> bool:
        """Remove a finished job and everything it made; False when there is no such finished
        job (an active job is never removed: stop it first)."""
        with self._connection() as db:
            cursor = db.execute("DELETE FROM jobs WHERE id = ? AND status IN (?, ?, ?)", (job_id, *FINAL))
            removed = cursor.rowcount == 1
        if removed:
            self._free()
        return removed

    def purge(self, max_age: float | None, max_jobs: int | None, now: float | None = None) -> int:
        """Remove the finished jobs that ended more than `max_age` seconds ago, and the oldest
        finished jobs beyond the newest `max_jobs` (None: no such limit); active jobs stay.
        The number removed."""
        now = time.time() if now is None else now
        removed = 0
        with self._connection() as db:
            if max_age is not None:
                cursor = db.execute(
                    "DELETE FROM jobs WHERE status IN (?, ?, ?) AND COALESCE(finished, created) < ?",
                    (*FINAL, now - max_age),
                )
                removed += cursor.rowcount
            if max_jobs is not None:
                cursor = db.execute(
                    "DELETE FROM jobs WHERE status IN (?, ?, ?) AND seq <= (SELECT seq FROM jobs"
                    " WHERE status IN (?, ?, ?) ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                    (*FINAL, *FINAL, max_jobs),
                )
                removed += cursor.rowcount
        if removed:
            log.info("removed %d finished job(s) past the service's retention", removed)
            self._free()
        return removed

    def _free(self) -> None:
        """Give the pages of removed rows back to the file system."""
        with self._connection() as db:
            db.executescript("PRAGMA incremental_vacuum;")  # run to its end (execute frees one page)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
