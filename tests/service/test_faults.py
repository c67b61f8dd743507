"""Faults: the service stopped cleanly or killed mid-solve and restarted, a Dask worker killed
mid-solve, a job that does not stop.  Jobs, finished results and the best plans found are never
lost silently, and one job never holds the queue."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

import allocator
from allocator.service.jobs import UNCLEAN_KEPT
from allocator.service.store import JobStore
from allocator.sources.generator import generate
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


def test_a_job_running_at_a_crash_is_stopped_with_the_plan_kept(tmp_path: Path, basic: Any) -> None:
    """A running job's best plan so far is in the store: after a crash the restarted service makes
    it the job's result (checked), as a clean shutdown would have."""
    instance = allocator.build_instance(basic, "basic")
    plan = allocator.solve(instance, time_limit=10, threads=1).to_json()
    store = JobStore(tmp_path / "data")
    request = {
        "kind": "solve",
        "instance": basic,
        "options": {"backend": "auto", "time_limit": 60, "threads": 1, "seed": 0, "model": None},
    }
    store.add("a" * 16, "solve", "basic", request, time_limit=60)
    store.started("a" * 16, {"level": "cost", "incumbent": 44.0})
    store.keep_incumbent("a" * 16, json.dumps(plan))
    server = Server(tmp_path / "data").start()
    try:
        with server.client() as client:
            job = client.get(f"/v1/solves/{'a' * 16}").json()
            solution = client.get(f"/v1/solves/{'a' * 16}/solution").json()
    finally:
        server.stop()
    assert job["status"] == "stopped" and job["verified"] is True and job["result_status"] == plan["status"]
    assert job["reason"] == UNCLEAN_KEPT
    assert solution == plan and allocator.check(instance, solution).ok


def test_a_killed_service_keeps_the_best_plan_found_so_far(tmp_path: Path, reassurance: Any) -> None:
    server = Server(tmp_path / "data").start()
    with server.client() as client:
        job = _submit(client, reassurance, LONG)
        wait_progress(client, job)
    store = JobStore(tmp_path / "data")
    deadline = time.monotonic() + 60
    while not (kept := store.get(job)) or not kept.has_incumbent:
        if time.monotonic() > deadline:
            server.kill()
            raise AssertionError("no plan was kept while the job ran")
        time.sleep(0.5)
    server.kill()  # SIGKILL: the service and its workers

    again = Server(tmp_path / "data").start()
    try:
        with again.client() as client:
            end = client.get(f"/v1/solves/{job}").json()
            plan = client.get(f"/v1/solves/{job}/solution").json()
    finally:
        again.stop()
    assert end["status"] == "stopped" and end["verified"] is True and end["reason"] == UNCLEAN_KEPT
    assert allocator.check(allocator.build_instance(reassurance, "r"), plan).ok


#: An instance whose model takes half a minute to build (263,000 columns).
def _slow_to_build() -> dict[str, Any]:
    return generate(150, 70, 52, seed=0, name="slow-to-build")


def test_delete_reaches_a_job_while_its_model_is_built(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", "--job-threads", "2", "--stop-grace", "120").start()
    try:
        with server.client() as client:
            job = _submit(client, _slow_to_build(), LONG)
            wait_job(client, job, until=("running",))
            time.sleep(2.0)  # building its model
            asked = time.monotonic()
            assert client.delete(f"/v1/solves/{job}").status_code == 202
            end = wait_job(client, job, timeout=300)
            seconds = time.monotonic() - asked
    finally:
        server.stop()
    assert end["status"] == "stopped"
    assert seconds < 10, f"the job stopped {seconds:.0f} s after DELETE"


@pytest.mark.parametrize("how", ["DELETE", "time limit"])
def test_a_job_that_does_not_stop_is_ended_and_the_queue_goes_on(
    tmp_path: Path, basic: Any, how: str
) -> None:
    """A job that does not stop on its own is ended --stop-grace seconds after DELETE, or past its
    time limit: stopped (its worker restarted if it had to be), and the queued job behind it runs.
    Here the job builds a large model, which the engine now interrupts itself."""
    server = Server(tmp_path / "data", "--job-threads", "2", "--stop-grace", "3").start()
    try:
        with server.client() as client:
            options = LONG if how == "DELETE" else {"time_limit": 2}
            slow = _submit(client, _slow_to_build(), options)
            wait_job(client, slow, until=("running",))
            started = time.monotonic()
            queued = _submit(client, basic)
            if how == "DELETE":
                time.sleep(1.0)
                assert client.delete(f"/v1/solves/{slow}").status_code == 202
            end = wait_job(client, slow, timeout=300)
            seconds = time.monotonic() - started
            after = wait_job(client, queued, timeout=120)
    finally:
        server.stop()
    print(f"{how}: ended after {seconds:.1f} s: {end['reason']}")
    # stopped by DELETE; at its time limit, done with its first plan (building ends there)
    assert end["status"] == ("stopped" if how == "DELETE" else "done"), end
    assert end["verified"] is True
    assert seconds < 20, f"the job ended {seconds:.0f} s after it started"
    if "worker was restarted" in (end["reason"] or ""):
        assert end["reason"].startswith("did not stop within 3 s" if how == "DELETE" else "ran past its time")
    assert after["status"] == "done" and after["verified"] is True
