"""Jobs on Dask: submitted from the web process, run on workers, their ends kept in the store.

The runner holds a Dask client (a local cluster by default, an existing scheduler when named), one
future per active job, and a monitor thread that copies each running job's progress and latest
plan into the store, removes finished jobs past their retention, and ends jobs that outrun their
time: a job still running `stop_grace` seconds past its time limit, or after a stop was asked, is
stopped with the plan kept so far and its worker restarted (local cluster), so that one job never
holds a worker from the queue.  A job's end (its result, a stop, a dead worker) reaches the store
through the future's callback.  On a clean shutdown running jobs are asked to stop and their best
plans kept; jobs that had not started are left queued and run again when the service restarts; a
job that ran when the service was killed ends `stopped` with the plan kept so far.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from allocator.cluster import dask_client
from allocator.service.store import JobStore
from allocator.service.work import (
    IgnoreInterrupt,
    check_kept_plan,
    ignore_interrupt,
    plan_name,
    render_report,
    run_job,
    stop_name,
)

if TYPE_CHECKING:
    from distributed import Client, Future

log = logging.getLogger(__name__)

#: Reports one report process draws before it is replaced (matplotlib's caches stay bounded).
REPORTS_PER_PROCESS = 50
#: Seconds between two copies of the running jobs' progress into the store.
MONITOR_SECONDS = 0.5
#: Seconds between two looks for jobs that outran their time, and two purges of old jobs.
WATCH_SECONDS = 5.0
PURGE_SECONDS = 3600.0
#: Seconds to wait for a plan's Variable (set before the event that names it: at once but on a busy
#: scheduler; the loop that copies every job's progress waits meanwhile).
FETCH_SECONDS = 5.0
KILLED = (
    "the Dask worker running the job died ({detail}); Dask retried it on other workers until its "
    "limit of failures"
)
UNCLEAN = "the service stopped while the job ran without a clean shutdown; no plan was kept"
UNCLEAN_KEPT = (
    "the service stopped while the job ran without a clean shutdown; the best plan found until then is kept"
)
SHUTDOWN = "the service shut down before the job ended; no plan was kept"
SHUTDOWN_KEPT = "stopped when the service shut down; the best plan found is kept"
SHUTDOWN_NONE = "stopped when the service shut down, before any plan was found"
#: Why a job that does not stop was ended: asked to stop, or past its time limit.
NOT_STOPPED = "did not stop within {grace:g} s of a stop request"
OVERRAN = "ran past its time limit of {limit:g} s and did not stop within {grace:g} s more"


class JobRunner:
    """Runs the store's jobs on Dask: `scheduler` (``tcp://HOST:PORT``) or a local cluster of
    a worker per `job_threads` cores; `grace` seconds for running jobs to stop on shutdown,
    `stop_grace` for a job to end after a stop or past its time limit; `retention` (seconds,
    jobs) of finished jobs."""

    def __init__(
        self,
        store: JobStore,
        scheduler: str | None = None,
        job_threads: int = 1,
        grace: float = 20.0,
        *,
        stop_grace: float = 30.0,
        retention: tuple[float | None, int | None] = (None, None),
    ):
        self.store = store
        self.scheduler = scheduler
        self.job_threads = job_threads
        self.grace = grace
        self.stop_grace = stop_grace
        self.retention = retention
        self.prefix = f"allocator-{uuid.uuid4().hex[:12]}"
        self._stack = ExitStack()
        self._client: Client | None = None
        self._futures: dict[str, Future] = {}
        self._stopping: dict[str, tuple[float, str]] = {}  # job -> (when, why) it was asked to stop
        self._plans: dict[str, int] = {}  # job -> the number of the last plan kept
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._monitor: threading.Thread | None = None
        self._events: queue.SimpleQueue[tuple[str, dict[str, Any], int]] = queue.SimpleQueue()
        self._helper: ProcessPoolExecutor | None = None

    # life ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect to (or start) the cluster, settle the jobs an earlier run left, remove those
        past retention, and monitor."""
        self._client = self._stack.enter_context(dask_client(self.scheduler, self.job_threads))
        if self.scheduler is None:  # a terminal's Ctrl-C reaches the service, not its workers
            self._client.register_plugin(IgnoreInterrupt(), name="allocator-ignore-interrupt")
        self._client.subscribe_topic(self.topic, self._on_event)
        for job in self.store.active():
            if job.status == "running":
                self._end_with_kept_plan(job.id, UNCLEAN_KEPT, UNCLEAN)
            else:
                self.submit(job.id)
        self.store.purge(*self.retention)
        self._monitor = threading.Thread(target=self._watch, name="allocator-monitor", daemon=True)
        self._monitor.start()

    def close(self) -> None:
        """Stop running jobs (keeping their best plans), leave queued ones queued, disconnect."""
        from distributed import wait

        self._closing.set()
        with self._lock:
            futures = dict(self._futures)
        running = {j.id for j in self.store.active() if j.status == "running"}
        for job_id, future in futures.items():
            if job_id in running:
                self._signal_stop(job_id)
            else:
                future.cancel()
        waiting = {j: f for j, f in futures.items() if j in running}
        if waiting:
            with contextlib.suppress(TimeoutError):  # what has not ended by then is lost below
                wait(list(waiting.values()), timeout=self.grace)
        for job_id, future in waiting.items():
            if future.done():  # recorded here, not left to a callback the shutdown may outrun
                self._ended(job_id, future)
        for job_id in running:
            self._end_with_kept_plan(job_id, SHUTDOWN_KEPT, SHUTDOWN)
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        if self._helper is not None:
            self._helper.shutdown(wait=False, cancel_futures=True)
        self._stack.close()

    @property
    def topic(self) -> str:
        """The Dask event topic of this service's jobs' progress."""
        return f"{self.prefix}-progress"

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the job runner is not started")
        return self._client

    def channel(self, job_id: str) -> str:
        return f"{self.prefix}-{job_id}"

    # jobs ----------------------------------------------------------------------------------------
    def submit(self, job_id: str) -> None:
        """Run the stored job `job_id` (its request passed on as the JSON text it is stored as)."""
        request = self.store.request_text(job_id)
        future = self.client.submit(
            run_job,
            request,
            job_id,
            self.topic,
            self.channel(job_id),
            key=f"{self.prefix}-job-{job_id}",
            pure=False,
        )
        with self._lock:
            self._futures[job_id] = future
        future.add_done_callback(lambda f, job_id=job_id: self._ended(job_id, f))

    def report(self, job_id: str, timeout: float = 600) -> str | None:
        """The HTML report of a job's plan, drawn the first time it is asked for and kept in the
        store; None when the job has no solution.  It is drawn in the service's own helper
        process, not on a Dask worker, so that it never waits behind running jobs."""
        known = self.store.result(job_id, "report")
        solution = self.store.result(job_id, "solution")
        if known is not None or solution is None:
            return known
        request = self.store.request_text(job_id)
        html = str(self._helper_process().submit(render_report, request, solution).result(timeout))
        self.store.keep_report(job_id, html)
        return html

    def _helper_process(self) -> ProcessPoolExecutor:
        """The service's process for reports and for checking kept plans."""
        with self._lock:
            if self._helper is None:
                self._helper = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=ignore_interrupt,
                    max_tasks_per_child=REPORTS_PER_PROCESS,
                )
            return self._helper

    def stop(self, job_id: str) -> None:
        """Stop a job: a running search ends with its best plan kept; a queued job never runs.
        The job's stop event is set whatever its state (a job that starts meanwhile stops at
        once); one that has not ended `stop_grace` seconds later is ended by the monitor."""
        job = self.store.get(job_id)
        with self._lock:
            future = self._futures.get(job_id)
        if job is None or future is None:
            return
        self._signal_stop(job_id)
        if job.status == "running":
            why = NOT_STOPPED.format(grace=self.stop_grace)
            with self._lock:
                self._stopping.setdefault(job_id, (time.monotonic(), why))
        else:
            future.cancel()

    def _signal_stop(self, job_id: str) -> None:
        from distributed import Event

        Event(stop_name(self.channel(job_id)), client=self.client).set()

    def _ended(self, job_id: str, future: Future) -> None:
        try:
            self._record(job_id, future)
        except Exception:  # never lose the callback thread; the job is failed with a reason
            log.exception("job %s: its end could not be recorded", job_id)
            self.store.finish(job_id, "failed", reason="its result could not be stored (see the service log)")
        finally:
            with self._lock:
                self._futures.pop(job_id, None)
                self._stopping.pop(job_id, None)
                self._plans.pop(job_id, None)
            self._forget_plan(job_id)
        if not self._closing.is_set():
            self._purge()

    def _record(self, job_id: str, future: Future) -> None:
        if future.status == "cancelled":
            if not self._closing.is_set():  # on shutdown a queued job stays queued for the restart
                self.store.finish(job_id, "stopped", reason="stopped before it ran; no plan was made")
            return
        if future.status == "error":
            error = future.exception()
            name = type(error).__name__
            why = KILLED.format(detail=name) if name == "KilledWorker" else f"{name}: {error}"
            self._end_with_kept_plan(job_id, None, why, status="failed")
            return
        out: dict[str, Any] = future.result()
        reason = out.get("reason")
        if out["outcome"] == "stopped" and self._closing.is_set():
            reason = SHUTDOWN_KEPT if out.get("verified") is not None else SHUTDOWN_NONE
        self.store.finish(
            job_id,
            out["outcome"],
            reason=reason,
            result_status=out.get("result_status"),
            verified=out.get("verified"),
            solution=out.get("solution"),
            explanation=out.get("explanation"),
            started=out.get("started"),
            progress=out.get("progress"),
        )

    def _end_with_kept_plan(self, job_id: str, kept: str | None, lost: str, status: str = "stopped") -> None:
        """End a job that will not report its end: `stopped` with the plan the store kept while
        it ran (checked; reason `kept`), or with `status` and the reason `lost` without one."""
        plan = self.store.result(job_id, "incumbent") if kept is not None else None
        if plan is None:
            self.store.finish(job_id, status, reason=lost)
            return
        try:
            verdict = self._helper_process().submit(check_kept_plan, self.store.request_text(job_id), plan)
            checked = verdict.result(600)
        except Exception:
            log.exception("job %s: its kept plan could not be checked", job_id)
            self.store.finish(job_id, status, reason=lost)
            return
        reason = kept if checked["verified"] else f"{kept}; {checked['reason']}"
        self.store.finish(
            job_id,
            "stopped",
            reason=reason,
            result_status=checked["result_status"],
            verified=checked["verified"],
            solution=plan,
        )

    # progress, plans, overruns and retention ------------------------------------------------------
    def _on_event(self, event: tuple[float, Any]) -> None:
        """A job's progress event (on the client's event loop: queued, written by the monitor)."""
        message = event[1]
        if isinstance(message, dict) and isinstance(message.get("job"), str):
            plan = message.get("plan")
            self._events.put(
                (message["job"], dict(message.get("progress") or {}), plan if isinstance(plan, int) else 0)
            )

    def _watch(self) -> None:
        """Write the latest progress and plan of each job that sent some, every MONITOR_SECONDS;
        end jobs that outran their time, and remove old jobs, now and then."""
        watched = purged = time.monotonic()
        while not self._closing.wait(MONITOR_SECONDS):
            latest: dict[str, tuple[dict[str, Any], int]] = {}
            while True:
                try:
                    job_id, progress, plan = self._events.get_nowait()
                except queue.Empty:
                    break
                latest[job_id] = (progress, max(plan, latest.get(job_id, ({}, 0))[1]))
            for job_id, (progress, plan) in latest.items():
                self._copy(job_id, progress, plan)
            now = time.monotonic()
            if now - watched >= WATCH_SECONDS:
                watched = now
                self._overruns()
            if now - purged >= PURGE_SECONDS:
                purged = now
                self._purge()

    def _copy(self, job_id: str, progress: dict[str, Any], plan: int) -> None:
        """Store a job's latest progress and fetch its plan number `plan`, while the job is active
        (an event can come after the job's end, when its plan's Variable is gone: a fetch would
        wait for it in vain, and every other job's progress with it)."""
        try:
            if self.store.started(job_id, progress or None):
                self._keep_plan(job_id, plan)
        except Exception:
            log.exception("progress of job %s not stored", job_id)

    def _keep_plan(self, job_id: str, number: int) -> None:
        """Fetch the job's plan number `number` from its Variable into the store, once."""
        from distributed import Variable

        with self._lock:
            if number <= self._plans.get(job_id, 0):
                return
            self._plans[job_id] = number
        text = Variable(plan_name(self.channel(job_id)), client=self.client).get(timeout=FETCH_SECONDS)
        if isinstance(text, str):
            self.store.keep_incumbent(job_id, text)

    def _forget_plan(self, job_id: str) -> None:
        from distributed import Variable

        if self._client is None or self._closing.is_set():
            return
        try:
            Variable(plan_name(self.channel(job_id)), client=self.client).delete()
        except Exception:  # a job that never sent a plan has no Variable
            log.debug("job %s: no plan variable to delete", job_id, exc_info=True)

    def _overruns(self) -> None:
        """Stop the running jobs past their time limit; end those that have not stopped
        `stop_grace` seconds after they were asked to."""
        now, wall = time.monotonic(), time.time()
        for job in self.store.active():
            if job.status != "running" or job.started is None or job.time_limit is None:
                continue
            with self._lock:
                asked = self._stopping.get(job.id)
                known = job.id in self._futures
            if not known:
                continue
            if asked is None:
                limit = job.time_limit or 0.0
                if wall > job.started + limit + self.stop_grace:
                    log.warning("job %s runs %g s past its time limit: stopping it", job.id, self.stop_grace)
                    self._signal_stop(job.id)
                    why = OVERRAN.format(limit=limit, grace=self.stop_grace)
                    with self._lock:
                        self._stopping[job.id] = (now, why)
                continue
            since, why = asked
            if now - since > self.stop_grace:
                self._abandon(job.id, why)

    def _abandon(self, job_id: str, why: str) -> None:
        """End a job that does not stop: stopped with the plan kept so far, its future dropped and,
        on the local cluster, its worker restarted (an existing cluster's workers are its
        operator's: the job runs on there until it ends, its result unused)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is None:
            return
        log.warning("job %s %s: ending it", job_id, why)
        restarted = f"{why}; its worker was restarted" if self.scheduler is None else why
        self._end_with_kept_plan(
            job_id, f"{restarted}; the best plan found until then is kept", f"{restarted}; no plan was kept"
        )
        key = future.key
        future.cancel()
        if self.scheduler is None:
            worker = self.client.run_on_scheduler(_processing_on, key)
            if worker:
                self.client.restart_workers([worker], raise_for_error=False)

    def _purge(self) -> None:
        try:
            self.store.purge(*self.retention)
        except Exception:
            log.exception("old jobs could not be removed")


def _processing_on(key: str, dask_scheduler: Any = None) -> str | None:
    """On the scheduler: the address of the worker running the task `key`, if any."""
    task = dask_scheduler.tasks.get(key) if dask_scheduler is not None else None
    worker = getattr(task, "processing_on", None)
    return getattr(worker, "address", None)
