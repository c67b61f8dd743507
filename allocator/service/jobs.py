"""Jobs on Dask: submitted from the web process, run on workers, their ends kept in the store.

The runner holds a Dask client (a local cluster by default, an existing scheduler when named), one
future per active job, and a monitor thread that copies each running job's progress into the
store.  A job's end (its result, a stop, a dead worker) reaches the store through the future's
callback.  On a clean shutdown running jobs are asked to stop and their best plans kept; jobs
that had not started are left queued and run again when the service restarts.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import threading
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from allocator.cluster import dask_client
from allocator.service.store import JobStore
from allocator.service.work import IgnoreInterrupt, ignore_interrupt, render_report, run_job, stop_name

if TYPE_CHECKING:
    from distributed import Client, Future

log = logging.getLogger(__name__)

#: Reports one report process draws before it is replaced (matplotlib's caches stay bounded).
REPORTS_PER_PROCESS = 50
#: Seconds between two copies of the running jobs' progress into the store.
MONITOR_SECONDS = 0.5
KILLED = (
    "the Dask worker running the job died ({detail}); Dask retried it on other workers until its "
    "limit of failures"
)
UNCLEAN = "the service stopped while the job ran without a clean shutdown; no plan was kept"
SHUTDOWN = "the service shut down before the job ended; no plan was kept"
SHUTDOWN_KEPT = "stopped when the service shut down; the best plan found is kept"


class JobRunner:
    """Runs the store's jobs on Dask: `scheduler` (``tcp://HOST:PORT``) or a local cluster of
    a worker per `job_threads` cores; `grace` seconds for running jobs to stop on shutdown."""

    def __init__(
        self, store: JobStore, scheduler: str | None = None, job_threads: int = 1, grace: float = 20.0
    ):
        self.store = store
        self.scheduler = scheduler
        self.job_threads = job_threads
        self.grace = grace
        self.prefix = f"allocator-{uuid.uuid4().hex[:12]}"
        self._stack = ExitStack()
        self._client: Client | None = None
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._monitor: threading.Thread | None = None
        self._events: queue.SimpleQueue[tuple[str, dict[str, Any]]] = queue.SimpleQueue()
        self._reports: ProcessPoolExecutor | None = None

    # life ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect to (or start) the cluster, settle the jobs an earlier run left, and monitor."""
        self._client = self._stack.enter_context(dask_client(self.scheduler, self.job_threads))
        if self.scheduler is None:  # a terminal's Ctrl-C reaches the service, not its workers
            self._client.register_plugin(IgnoreInterrupt(), name="allocator-ignore-interrupt")
        self._client.subscribe_topic(self.topic, self._on_event)
        for job in self.store.active():
            if job.status == "running":
                self.store.finish(job.id, "stopped", reason=UNCLEAN)
            else:
                self.submit(job.id)
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
            self.store.finish(job_id, "stopped", reason=SHUTDOWN)
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        if self._reports is not None:
            self._reports.shutdown(wait=False, cancel_futures=True)
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

    # jobs ----------------------------------------------------------------------------------------
    def submit(self, job_id: str) -> None:
        """Run the stored job `job_id`."""
        spec = self.store.request(job_id)
        spec.update(id=job_id, topic=self.topic, channel=f"{self.prefix}-{job_id}")
        future = self.client.submit(run_job, spec, key=f"{self.prefix}-job-{job_id}", pure=False)
        with self._lock:
            self._futures[job_id] = future
        future.add_done_callback(lambda f, job_id=job_id: self._ended(job_id, f))

    def report(self, job_id: str, timeout: float = 600) -> str | None:
        """The HTML report of a job's plan, drawn the first time it is asked for and kept in the
        store; None when the job has no solution.  It is drawn in the service's own report
        process, not on a Dask worker, so that it never waits behind running jobs."""
        known = self.store.result(job_id, "report")
        solution = self.store.result(job_id, "solution")
        if known is not None or solution is None:
            return known
        html = str(
            self._report_process().submit(render_report, self.store.request(job_id), solution).result(timeout)
        )
        self.store.keep_report(job_id, html)
        return html

    def _report_process(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._reports is None:
                self._reports = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=ignore_interrupt,
                    max_tasks_per_child=REPORTS_PER_PROCESS,
                )
            return self._reports

    def stop(self, job_id: str) -> None:
        """Stop a job: a running search ends with its best plan kept; a queued job never runs."""
        job = self.store.get(job_id)
        with self._lock:
            future = self._futures.get(job_id)
        if job is None or future is None:
            return
        if job.status == "running":
            self._signal_stop(job_id)
        else:
            future.cancel()

    def _signal_stop(self, job_id: str) -> None:
        from distributed import Event

        Event(stop_name(f"{self.prefix}-{job_id}"), client=self.client).set()

    def _ended(self, job_id: str, future: Future) -> None:
        try:
            self._record(job_id, future)
        except Exception:  # never lose the callback thread; the job is failed with a reason
            log.exception("job %s: its end could not be recorded", job_id)
            self.store.finish(job_id, "failed", reason="its result could not be stored (see the service log)")
        finally:
            with self._lock:
                self._futures.pop(job_id, None)

    def _record(self, job_id: str, future: Future) -> None:
        if future.status == "cancelled":
            if not self._closing.is_set():  # on shutdown a queued job stays queued for the restart
                self.store.finish(job_id, "stopped", reason="stopped before it ran; no plan was made")
            return
        if future.status == "error":
            error = future.exception()
            name = type(error).__name__
            why = KILLED.format(detail=name) if name == "KilledWorker" else f"{name}: {error}"
            self.store.finish(job_id, "failed", reason=why)
            return
        out: dict[str, Any] = future.result()
        reason = out.get("reason")
        if out["outcome"] == "stopped" and self._closing.is_set():
            reason = SHUTDOWN_KEPT
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

    # progress ------------------------------------------------------------------------------------
    def _on_event(self, event: tuple[float, Any]) -> None:
        """A job's progress event (on the client's event loop: queued, written by the monitor)."""
        message = event[1]
        if isinstance(message, dict) and isinstance(message.get("job"), str):
            self._events.put((message["job"], dict(message.get("progress") or {})))

    def _watch(self) -> None:
        """Write the latest progress of each job that sent some, every MONITOR_SECONDS."""
        while not self._closing.wait(MONITOR_SECONDS):
            latest: dict[str, dict[str, Any]] = {}
            while True:
                try:
                    job_id, progress = self._events.get_nowait()
                except queue.Empty:
                    break
                latest[job_id] = progress
            for job_id, progress in latest.items():
                try:
                    self.store.started(job_id, progress or None)
                except Exception:
                    log.exception("progress of job %s not stored", job_id)
