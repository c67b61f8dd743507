"""Faults: the service stopped cleanly or killed mid-solve and restarted, a Dask worker killed
mid-solve.  Jobs and finished results are never lost silently."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import psutil
import pytest

import allocator
from tests.helpers.service import Server, wait_job, wait_progress

pytestmark = pytest.mark.slow
LONG = {"time_limit": 600}


def dask_workers(server: Server) -> list[psutil.Process]:
    """The local cluster's worker processes (Dask names them 'dask worker [ADDRESS]')."""
    assert server.process is not None
    children = psutil.Process(server.process.pid).children(recursive=True)
    return [p for p in children if (p.cmdline() or [""])[0].startswith("dask worker")]


def _submit(client: Any, instance: dict[str, Any], options: dict[str, Any] | None = None) -> str:
    answer = client.post("/v1/solves", json={"instance": instance, "options": options or {}})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def test_a_killed_service_keeps_its_jobs_and_results(tmp_path: Path, basic: Any, reassurance: Any) -> None:
    server = Server(tmp_path / "data").start()
    with server.client() as client:
        finished = _submit(client, basic)
        wait_job(client, finished)
        running = _submit(client, reassurance, LONG)
        wait_progress(client, running)
    server.kill()  # SIGKILL: no shutdown at all

    again = Server(tmp_path / "data").start()
    try:
        with again.client() as client:
            done = client.get(f"/v1/solves/{finished}").json()
            solution = client.get(f"/v1/solves/{finished}/solution")
            lost = client.get(f"/v1/solves/{running}").json()
            fresh = _submit(client, basic)
            after = wait_job(client, fresh)
    finally:
        again.stop()
    assert done["status"] == "done" and solution.status_code == 200
    assert allocator.check(allocator.build_instance(basic, "basic"), solution.json()).ok
    assert lost["status"] == "stopped" and "without a clean shutdown" in lost["reason"]
    assert after["status"] == "done"


@pytest.mark.parametrize("terminal", [False, True], ids=["SIGINT", "Ctrl-C in a terminal"])
def test_a_clean_shutdown_keeps_the_best_plan_and_the_queue(
    tmp_path: Path, basic: Any, reassurance: Any, terminal: bool
) -> None:
    server = Server(tmp_path / "data", "--job-threads", "2").start()  # one worker on 2 cores
    with server.client() as client:
        running = _submit(client, reassurance, LONG)
        wait_progress(client, running)
        queued = _submit(client, basic)  # waits for the only worker
        assert client.get(f"/v1/solves/{queued}").json()["status"] == "queued"
    assert server.stop(terminal=terminal) == 0
    assert "Traceback" not in server.output()

    again = Server(tmp_path / "data", "--job-threads", "2").start()
    try:
        with again.client() as client:
            stopped = client.get(f"/v1/solves/{running}").json()
            plan = client.get(f"/v1/solves/{running}/solution").json()
            rerun = wait_job(client, queued)
    finally:
        again.stop()
    assert stopped["status"] == "stopped" and stopped["verified"] is True
    assert stopped["reason"] == "stopped when the service shut down; the best plan found is kept"
    assert allocator.check(allocator.build_instance(reassurance, "r"), plan).ok
    assert rerun["status"] == "done" and rerun["verified"] is True


def test_a_killed_worker_fails_or_retries_its_job_and_the_service_goes_on(
    tmp_path: Path, basic: Any, reassurance: Any
) -> None:
    server = Server(tmp_path / "data", "--job-threads", "2").start()
    try:
        with server.client() as client:
            job = _submit(client, reassurance, {"time_limit": 10})
            wait_progress(client, job)
            workers = dask_workers(server)
            assert workers, "the local cluster's worker process"
            for worker in workers:
                worker.send_signal(signal.SIGKILL)
            end = wait_job(client, job, timeout=300)
            other = wait_job(client, _submit(client, basic))
    finally:
        server.stop()
    if end["status"] == "failed":
        assert "worker" in end["reason"] and "died" in end["reason"]
    else:  # Dask ran it again on the restarted worker
        assert end["status"] == "done" and end["verified"] is True
    assert other["status"] == "done"


def test_jobs_run_on_an_existing_scheduler(
    tmp_path: Path, dask_cluster: str, basic: Any, reassurance: Any
) -> None:
    """--scheduler: the jobs run on a real `dask scheduler` and `dask worker`, progress and stop
    included."""
    server = Server(tmp_path / "data", "--scheduler", dask_cluster).start()
    try:
        with server.client() as client:
            done = wait_job(client, _submit(client, basic))
            long = _submit(client, reassurance, LONG)
            running = wait_progress(client, long)
            client.delete(f"/v1/solves/{long}")
            stopped = wait_job(client, long, timeout=60)
            report = client.get(f"/v1/solves/{done['id']}/report")
    finally:
        server.stop()
    assert done["status"] == "done" and done["verified"] is True
    assert running["progress"]["level"] and stopped["status"] == "stopped" and stopped["verified"] is True
    assert report.status_code == 200 and "<html" in report.text.lower()
