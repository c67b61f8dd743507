"""Jobs on Dask: submitted from the web process, run on workers, their ends kept in the store.

The runner holds a Dask client (a local cluster by default, an existing scheduler when named), one
future per active job, and a monitor thread that copies each running job's progress into the
store.  A job's end (its result, a stop, a dead worker) reaches the store through the future's
callback.  On a clean shutdown running jobs are asked to stop and their best plans kept; jobs
that had not started are left queued and run again when the service restarts.
"""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from allocator.cluster import dask_client
from allocator.service.store import JobStore
from allocator.service.work import progress_name, run_job, stop_name

if TYPE_CHECKING:
    from distributed import Client, Future

log = logging.getLogger(__name__)

#: Seconds between two copies of the running jobs' progress into the store.
MONITOR_SECONDS = 0.5
KILLED = (
    "the Dask worker running the job died ({detail}); Dask retried it on other workers until its "
    "limit of failures"
)
UNCLEAN = "the service stopped while the job ran without a clean shutdown; no plan was kept"
SHUTDOWN = "the service shut down before the job ended; no plan was kept"


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

    # life ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect to (or start) the cluster, settle the jobs an earlier run left, and monitor."""
        self._client = self._stack.enter_context(dask_client(self.scheduler, self.job_threads))
        for job in self.store.active():
            if job.status == "running":
                self.store.finish(job.id, "stopped", reason=UNCLEAN)
            else:
                self._submit(job.id)
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
        waiting = [f for j, f in futures.items() if j in running]
        if waiting:
            wait(waiting, timeout=self.grace)
        for job_id in running:
            self.store.finish(job_id, "stopped", reason=SHUTDOWN)
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        self._stack.close()

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the job runner is not started")
        return self._client

    # jobs ----------------------------------------------------------------------------------------
    def submit(self, job_id: str) -> None:
        """Run the stored job `job_id`."""
        self._submit(job_id)

    def _submit(self, job_id: str) -> None:
        spec = self.store.request(job_id)
        spec["channel"] = f"{self.prefix}-{job_id}"
        future = self.client.submit(run_job, spec, key=f"{self.prefix}-job-{job_id}", pure=False)
        with self._lock:
            self._futures[job_id] = future
        future.add_done_callback(lambda f, job_id=job_id: self._ended(job_id, f))

    def stop(self, job_id: str) -> None:
        """Stop a job: a running search ends with its best plan kept; a queued job never runs."""
        self.store.ask_stop(job_id)
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
            self._forget_channel(job_id)

    def _record(self, job_id: str, future: Future) -> None:
        if future.status == "cancelled":
            if not self._closing.is_set():  # on shutdown a queued job stays queued for the restart
                self.store.finish(job_id, "stopped", reason="stopped before it ran; no plan was made")
            return
        if future.status == "error":
            error = future.exception()
            name = type(error).__name__
            reason = KILLED.format(detail=name) if name == "KilledWorker" else f"{name}: {error}"
            self.store.finish(job_id, "failed", reason=reason)
            return
        out: dict[str, Any] = future.result()
        self.store.finish(
            job_id,
            out["outcome"],
            reason=out.get("reason"),
            result_status=out.get("result_status"),
            verified=out.get("verified"),
            solution=out.get("solution"),
            explanation=out.get("explanation"),
            report=out.get("report"),
        )

    def _forget_channel(self, job_id: str) -> None:
        from distributed import Variable

        try:
            Variable(progress_name(f"{self.prefix}-{job_id}"), client=self.client).delete()
        except Exception:  # a closed client at shutdown: the scheduler forgets it anyway
            log.debug("progress of job %s not deleted", job_id, exc_info=True)

    # progress ------------------------------------------------------------------------------------
    def _watch(self) -> None:
        last: dict[str, Any] = {}
        while not self._closing.wait(MONITOR_SECONDS):
            try:
                running = self._running()
            except Exception:
                log.debug("the scheduler did not say which jobs run", exc_info=True)
                continue
            for job_id in running:
                try:
                    progress = self._progress(job_id)
                except Exception:
                    log.debug("progress of job %s not read", job_id, exc_info=True)
                    continue
                if job_id not in last or progress != last[job_id]:
                    self.store.started(job_id, progress)
                    last[job_id] = progress
            last = {job_id: last[job_id] for job_id in running if job_id in last}

    def _running(self) -> list[str]:
        """The jobs a worker is processing now (one question to the scheduler)."""
        with self._lock:
            by_key = {f.key: job_id for job_id, f in self._futures.items()}
        processing = self.client.processing()
        return sorted({by_key[key] for keys in processing.values() for key in keys if key in by_key})

    def _progress(self, job_id: str) -> dict[str, Any] | None:
        from distributed import Variable

        variable = Variable(progress_name(f"{self.prefix}-{job_id}"), client=self.client)
        try:
            progress = variable.get(timeout=0.05)
        except TimeoutError:
            return None  # the job has not said anything yet
        return dict(progress) or None
