"""Jobs through a real service: submit, poll, fetch, verify with the checker, for solves,
explanations and re-plans; stop, events, uploads, the job list and the documents served."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import pytest

import allocator
from allocator.service.schemas import SolutionDocument
from allocator.service.store import JobStore
from tests.helpers.instances import ROOT
from tests.helpers.service import Server, wait_job, wait_progress


def submit(server: Server, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with server.client() as client:
        answer = client.post(path, json=body)
    assert answer.status_code == 202, answer.text
    assert answer.headers["location"] == f"/v1/solves/{answer.json()['id']}"
    return dict(answer.json())


def finished(server: Server, job: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    with server.client() as client:
        return wait_job(client, job["id"], timeout)


def solution_of(server: Server, job: dict[str, Any]) -> dict[str, Any]:
    with server.client() as client:
        answer = client.get(f"/v1/solves/{job['id']}/solution")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_solve_is_queued_run_verified_and_reported(server: Server, basic: dict[str, Any]) -> None:
    job = submit(server, "/v1/solves", {"instance": basic, "options": {"time_limit": 10, "seed": 3}})
    assert job["status"] in ("queued", "running") and job["kind"] == "solve" and job["instance"] == "basic"
    done = finished(server, job)
    assert done["status"] == "done" and done["result_status"] == "optimal" and done["verified"] is True
    assert done["created"] <= done["started"] <= done["finished"]  # also for a job faster than a poll
    assert done["progress"]["level"] == "cost" and done["progress"]["levels"] == 5
    solution = solution_of(server, done)
    SolutionDocument.model_validate(solution)  # the served schema holds
    instance = allocator.build_instance(basic, "basic")
    assert allocator.check(instance, solution).ok  # verified here too, independently of the service
    assert solution["objectives"] == allocator.solve(instance, time_limit=10, threads=1).objectives
    with server.client() as client:
        report = client.get(done["links"]["report"])
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "basic" in report.text and "<img" in report.text


def test_a_replan_keeps_history_and_verifies_with_its_baseline(server: Server, basic: dict[str, Any]) -> None:
    baseline = solution_of(server, finished(server, submit(server, "/v1/solves", {"instance": basic})))
    withdrawn = allocator.withdraw(allocator.build_instance(basic, "basic"), "NL", 4).instance
    now = allocator.instance.formats.instance_document(withdrawn)
    job = finished(server, submit(server, "/v1/replan", {"instance": now, "baseline": baseline, "from": 4}))
    assert job["kind"] == "replan" and job["status"] == "done" and job["verified"] is True
    plan = solution_of(server, job)
    assert plan["replan"]["from"] == 4 and "changes" in plan["objectives"]
    assert allocator.check(withdrawn, plan, baseline=baseline).ok
    with server.client() as client:
        alone = client.post("/v1/check", json={"instance": now, "solution": plan})
        together = client.post("/v1/check", json={"instance": now, "solution": plan, "baseline": baseline})
    assert alone.status_code == 422 and alone.json()["detail"][0]["place"] == "replan"
    assert "the request's 'baseline'" in alone.json()["detail"][0]["message"]
    assert together.status_code == 200 and together.json()["ok"] is True


def test_an_explanation_job_serves_its_explanation(server: Server, basic: dict[str, Any]) -> None:
    short = json.loads(json.dumps(basic))
    short["tasks"][0]["requirements"][0]["units"] = 9
    job = finished(server, submit(server, "/v1/explain", {"instance": short, "options": {"time_limit": 20}}))
    assert job["kind"] == "explain" and job["status"] == "done"
    with server.client() as client:
        explanation = client.get(job["links"]["explanation"])
        no_solution = client.get(f"/v1/solves/{job['id']}/solution")
    assert explanation.status_code == 200
    assert explanation.json()["shortfalls"], "the task asked for 9 units has a shortfall to explain"
    assert no_solution.status_code == 404 and "explanation" in no_solution.json()["detail"]


def test_stopping_a_running_search_keeps_its_best_plan(server: Server, reassurance: dict[str, Any]) -> None:
    job = submit(server, "/v1/solves", {"instance": reassurance, "options": {"time_limit": 600}})
    with server.client() as client:
        running = wait_progress(client, job["id"])
        assert running["status"] == "running" and running["progress"]["level"]
        stopped = client.delete(f"/v1/solves/{job['id']}")
        assert stopped.status_code == 202
        end = wait_job(client, job["id"], timeout=60)
        again = client.delete(f"/v1/solves/{job['id']}")
    assert end["status"] == "stopped" and end["verified"] is True and "best plan" in end["reason"]
    assert again.status_code == 200 and again.json()["status"] == "stopped"
    plan = solution_of(server, end)
    assert allocator.check(allocator.build_instance(reassurance, "r"), plan).ok


def test_a_running_explanation_is_not_stopped_midway(server: Server, reassurance: dict[str, Any]) -> None:
    # long enough to be seen running whatever the load (its solve takes half, 8 s)
    job = submit(server, "/v1/explain", {"instance": reassurance, "options": {"time_limit": 16}})
    with server.client() as client:
        running = wait_job(client, job["id"], until=("running", "done"))
        answer = client.delete(f"/v1/solves/{job['id']}")
        end = wait_job(client, job["id"], timeout=120)
    assert running["status"] == "running", "the explanation ran for less than a poll"
    assert answer.status_code == 409 and "cannot be stopped" in answer.json()["detail"]
    assert end["status"] == "done"
    assert end["progress"] and end["progress"]["level"], "the solve it began with reports progress"


def test_events_stream_the_job_to_its_end(server: Server, reassurance: dict[str, Any]) -> None:
    """A job that runs for seconds (a small one can end before the stream opens: one event)."""
    job = submit(server, "/v1/solves", {"instance": reassurance, "options": {"time_limit": 4}})
    states = []
    with server.client() as client, client.stream("GET", f"/v1/solves/{job['id']}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data:"):
                states.append(json.loads(line.removeprefix("data:"))["status"])
    assert states[-1] == "done" and len(states) >= 2
    assert states == sorted(states, key=["queued", "running", "done"].index)


def test_an_uploaded_workbook_is_validated_and_solved(server: Server, tmp_path: Path) -> None:
    workbook = tmp_path / "reassurance.xlsx"
    allocator.write_instance(allocator.load_instance(ROOT / "instances" / "reassurance.yaml"), workbook)
    files = {"file": ("../../etc/reassurance.xlsx", workbook.read_bytes())}
    with server.client() as client:
        valid = client.post("/v1/validate", files=files)
        queued = client.post("/v1/solves", files=files, data={"time_limit": "5", "backend": "cpsat"})
        bad_option = client.post("/v1/solves", files=files, data={"threads": "many"})
    assert valid.status_code == 200 and valid.json()["nations"] == 30
    assert queued.status_code == 202, queued.text
    job = finished(server, queued.json())
    assert job["status"] == "done" and job["verified"] is True
    assert bad_option.status_code == 422 and bad_option.json()["detail"][0]["place"] == "threads"


def test_a_broken_workbook_names_its_cell(server: Server, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "r.xlsx"
    allocator.write_instance(allocator.load_instance(ROOT / "instances" / "reassurance.yaml"), path)
    book = load_workbook(path)
    book["offers"]["B2"] = "XX"  # the first offer's nation
    book.save(path)
    with server.client() as client:
        answer = client.post("/v1/solves", files={"file": ("r.xlsx", path.read_bytes())})
    assert answer.status_code == 422
    problem = answer.json()["detail"][0]
    assert problem["source"] == "r.xlsx" and "XX" in problem["message"]
    assert "offers" in problem["place"] or "offers" in problem["text"]


def test_a_report_does_not_wait_for_busy_workers(
    server: Server, basic: dict[str, Any], reassurance: Any
) -> None:
    done = finished(server, submit(server, "/v1/solves", {"instance": basic}))
    busy = [
        submit(server, "/v1/solves", {"instance": reassurance, "options": {"time_limit": 600}})
        for _ in range(2)
    ]
    with server.client(timeout=60) as client:
        for job in busy:
            assert wait_progress(client, job["id"])["status"] == "running"
        report = client.get(f"/v1/solves/{done['id']}/report")
        for job in busy:
            client.delete(f"/v1/solves/{job['id']}")
        for job in busy:
            wait_job(client, job["id"], timeout=60)
    assert report.status_code == 200 and "basic" in report.text


def test_validation_says_what_the_command_line_says(server: Server, basic: dict[str, Any]) -> None:
    short = json.loads(json.dumps(basic))
    short["tasks"][0]["requirements"][0]["units"] = 5
    with server.client() as client:
        answer = client.post("/v1/validate", json={"instance": short}).json()
    assert answer["supply"] == [
        {"capability": "fighter", "required_peak": 5, "offered": 3, "short_by": 3, "short_periods": "1..6"}
    ]
    assert answer["warnings"] == [
        "instance: capability 'fighter': 3 unit(s) more are required than offered in 1..6: "
        "a shortfall no plan can avoid"
    ]


def test_json_options_are_strictly_typed(server: Server, basic: dict[str, Any]) -> None:
    with server.client() as client:
        answers = [
            client.post("/v1/solves", json={"instance": basic, "options": options})
            for options in ({"time_limit": "5"}, {"time_limit": True}, {"threads": 1.0})
        ]
    assert [a.status_code for a in answers] == [422, 422, 422]
    assert [a.json()["detail"][0]["place"] for a in answers] == [
        "options.time_limit",
        "options.time_limit",
        "options.threads",
    ]


def test_jobs_are_listed_newest_first(server: Server, basic: dict[str, Any]) -> None:
    first = submit(server, "/v1/solves", {"instance": basic})
    second = submit(server, "/v1/solves", {"instance": basic})
    with server.client() as client:
        listed = client.get("/v1/solves", params={"limit": 2}).json()["jobs"]
        missing = client.get("/v1/solves/0123456789abcdef")
        not_an_id = client.get("/v1/solves/..%2F..%2Fetc")
    assert [j["id"] for j in listed] == [second["id"], first["id"]]
    assert missing.status_code == 404 and not_an_id.status_code in (404, 422)


def test_a_solution_is_404_until_there_is_one(server: Server, reassurance: dict[str, Any]) -> None:
    job = submit(server, "/v1/solves", {"instance": reassurance, "options": {"time_limit": 600}})
    with server.client() as client:
        early = client.get(f"/v1/solves/{job['id']}/solution")
        client.delete(f"/v1/solves/{job['id']}")
        wait_job(client, job["id"], timeout=60)
    assert early.status_code == 404 and "no solution yet" in early.json()["detail"]


@pytest.mark.parametrize("name", ["instance", "solution"])
def test_the_schemas_served_are_the_committed_ones(server: Server, name: str) -> None:
    with server.client() as client:
        served = client.get(f"/v1/schema/{name}").json()
        openapi = client.get("/openapi.json").json()
    assert served == json.loads((ROOT / "docs" / "schema" / f"{name}.json").read_text())
    assert openapi == json.loads((ROOT / "docs" / "openapi.json").read_text())


def test_a_finished_job_is_removed_on_request(server: Server, basic: dict[str, Any]) -> None:
    done = finished(server, submit(server, "/v1/solves", {"instance": basic}))
    with server.client() as client:
        removed = client.delete(f"/v1/solves/{done['id']}", params={"remove": "true"})
        gone = client.get(f"/v1/solves/{done['id']}")
        solution = client.get(f"/v1/solves/{done['id']}/solution")
        again = client.delete(f"/v1/solves/{done['id']}", params={"remove": "true"})
    assert removed.status_code == 204 and gone.status_code == 404 and solution.status_code == 404
    assert again.status_code == 404


def test_a_job_that_has_not_ended_is_not_removed(server: Server, reassurance: dict[str, Any]) -> None:
    job = submit(server, "/v1/solves", {"instance": reassurance, "options": {"time_limit": 600}})
    with server.client() as client:
        refused = client.delete(f"/v1/solves/{job['id']}", params={"remove": "true"})
        still = client.get(f"/v1/solves/{job['id']}").json()
        client.delete(f"/v1/solves/{job['id']}")
        wait_job(client, job["id"], timeout=60)
    assert refused.status_code == 409 and "stop it first" in refused.json()["detail"]
    assert still["status"] in ("queued", "running")


def test_queued_work_is_bounded_per_client(tmp_path: Path, basic: dict[str, Any], reassurance: Any) -> None:
    server = Server(tmp_path / "data", "--client-jobs", "2", "--time-limit", "30").start()
    try:
        with server.client() as client:
            jobs = [client.post("/v1/solves", json={"instance": reassurance}).json()["id"] for _ in range(2)]
            wait_progress(client, jobs[0])
            refused = client.post("/v1/solves", json={"instance": basic})
            listed = client.get("/v1/solves").json()["jobs"]
            client.delete(f"/v1/solves/{jobs[1]}")
            wait_job(client, jobs[1], timeout=60)
            accepted = client.post("/v1/solves", json={"instance": basic})
            for job in (jobs[0], accepted.json()["id"]):
                client.delete(f"/v1/solves/{job}")
                wait_job(client, job, timeout=60)
    finally:
        server.stop()
    assert refused.status_code == 429, refused.text
    assert "2 jobs from this client are queued or running" in refused.json()["detail"]
    assert 1 <= int(refused.headers["retry-after"]) <= 30  # the first running job's time left
    assert len(listed) == 2
    assert accepted.status_code == 202


def test_old_jobs_go_at_start_up_and_as_jobs_end(tmp_path: Path, basic: dict[str, Any]) -> None:
    """Retention: jobs that ended more than --keep-days ago, and beyond the newest --keep-jobs,
    are removed at start-up and when a job ends; the store is its owner's only."""
    data = tmp_path / "data"
    store = JobStore(data)
    for k in range(4):
        store.add(f"{k:016x}", "solve", "old", {"kind": "solve"})
        store.finish(f"{k:016x}", "done", solution="x" * 100_000)
    with sqlite3.connect(data / "jobs.sqlite") as db:
        db.execute("UPDATE jobs SET finished = finished - 3 * 86400 WHERE id = ?", (f"{0:016x}",))
    mask = os.umask(0)
    try:
        server = Server(data, "--keep-days", "2", "--keep-jobs", "2").start()
    finally:
        os.umask(mask)
    try:
        with server.client() as client:
            at_start = [j["id"] for j in client.get("/v1/solves").json()["jobs"]]
            new = finished(server, submit(server, "/v1/solves", {"instance": basic}))
            time.sleep(0.5)
            after = [j["id"] for j in client.get("/v1/solves").json()["jobs"]]
    finally:
        server.stop()
    assert at_start == [f"{3:016x}", f"{2:016x}"]
    assert after == [new["id"], f"{3:016x}"]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir()}
    assert set(modes.values()) == {0o600}, modes
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def _job_that_finds_a_plan(instance: dict[str, Any], job_id: str, topic: str, channel: str) -> dict[str, Any]:
    """A job's side as the engine's plans callback drives it: a plan found, handed over, and the
    job still running a moment (on a Dask worker)."""
    from allocator.service.work import PLAN_SECONDS, SIGNAL_SECONDS, Signals

    signals = Signals(job_id, topic, channel)
    try:
        result = allocator.solve(allocator.build_instance(instance, "basic"), time_limit=10, threads=1)
        signals.plan(result)
        time.sleep(PLAN_SECONDS + 4 * SIGNAL_SECONDS)
        return dict(result.to_json())
    finally:
        signals.close()


def test_a_running_jobs_plans_reach_the_store_and_outlive_it(tmp_path: Path, basic: dict[str, Any]) -> None:
    """A plan handed over by a running job is kept in the store as it comes; a job that never
    reports its end (here: the service closes) ends with it, checked."""
    from allocator.service.jobs import SHUTDOWN_KEPT, JobRunner

    store = JobStore(tmp_path)
    runner = JobRunner(store, grace=1)
    runner.start()
    job_id = "a" * 16
    options = {"backend": "auto", "time_limit": 60, "threads": 1, "seed": 0, "model": None}
    store.add(
        job_id, "solve", "basic", {"kind": "solve", "instance": basic, "options": options}, time_limit=60
    )
    try:
        task = runner.client.submit(
            _job_that_finds_a_plan, basic, job_id, runner.topic, runner.channel(job_id), pure=False
        )
        plan = task.result(timeout=120)
        deadline = time.monotonic() + 30
        while store.result(job_id, "incumbent") is None and time.monotonic() < deadline:
            time.sleep(0.2)
        kept = store.result(job_id, "incumbent")
    finally:
        runner.close()
    assert kept is not None and json.loads(kept) == plan
    job = store.get(job_id)
    assert job is not None and job.status == "stopped" and job.reason == SHUTDOWN_KEPT and job.verified
    assert json.loads(store.result(job_id, "solution") or "{}") == plan


def test_a_plan_of_an_ended_job_is_not_waited_for(
    tmp_path: Path, basic: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A job's last progress event can arrive after its end, when its plan's Variable is gone:
    fetching it waited 30 s, and the loop that copies every job's progress into the store waited
    with it (jobs behind stayed 'queued' for minutes under a busy suite).  The runner fetches the
    plans of active jobs only (this runner is not started: a fetch would raise)."""
    from allocator.service.jobs import JobRunner

    store = JobStore(tmp_path / "data")
    runner = JobRunner(store)
    request = {"kind": "solve", "instance": basic, "options": {}}
    store.add("ended", "solve", "basic", request, time_limit=60)
    store.finish("ended", "done", reason="")
    store.add("running", "solve", "basic", request, time_limit=60)
    runner._copy("ended", {"level": "shortfall"}, 3)
    ended = store.get("ended")
    assert not caplog.records and ended is not None and ended.status == "done"
    runner._copy("running", {"level": "shortfall"}, 1)
    running = store.get("running")
    assert "not started" in caplog.text  # an active job's plan is fetched (and fails here)
    assert running is not None and running.status == "running" and running.progress == {"level": "shortfall"}
