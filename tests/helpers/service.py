"""A real `allocator serve` process for tests and benchmarks, and a client's waits."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

FINAL = ("done", "failed", "stopped")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`allocator serve --data DATA --port PORT ARGS...` in its own process (and process group)."""

    def __init__(self, data: Path, *args: str, token: str | None = None):
        self.data = data
        self.args = args
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data.parent / f"{data.name}-serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> Server:
        command = [
            sys.executable,
            "-m",
            "allocator",
            "serve",
            "--data",
            str(self.data),
            "--port",
            str(self.port),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"allocator serve ended ({self.process.returncode}): {self.output()}")
                try:
                    client.get("/v1/models").raise_for_status()
                    return self
                except httpx.HTTPError:
                    time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"allocator serve did not answer in {timeout} s: {self.output()}")

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        token = token or self.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=kwargs.pop("timeout", 30), **kwargs)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self, timeout: float = 90, terminal: bool = False) -> int:
        """SIGINT and wait: the clean shutdown; `terminal`: to the whole process group, as a
        terminal's Ctrl-C sends it (the local cluster's workers get it too)."""
        assert self.process is not None
        if self.process.poll() is None:
            if terminal:
                os.killpg(self.process.pid, signal.SIGINT)
            else:
                self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL the service and everything it started (its local cluster's processes)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


def wait_job(
    client: httpx.Client, job_id: str, timeout: float = 120, until: tuple[str, ...] = FINAL
) -> dict[str, Any]:
    """Poll a job until its status is one of `until`; its last state."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/solves/{job_id}").raise_for_status().json()
        if job["status"] in until:
            return dict(job)
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.2)


def wait_progress(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll a job until it runs and reports an incumbent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/solves/{job_id}").raise_for_status().json()
        if job["status"] in FINAL or (job["progress"] or {}).get("incumbent") is not None:
            return dict(job)
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} reported no plan in {timeout} s")


class Load:
    """What a burst of jobs did to a service: every job's end, the status polls' answer times
    while the workers were busy, and the web process's memory (RSS, MiB) over the run."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.polls: list[float] = []
        self.memory: list[float] = []
        self.submit_seconds = 0.0
        self.wall = 0.0


def burst(
    server: Server, instances: list[dict[str, Any]], options: dict[str, Any], timeout: float = 900
) -> Load:
    """Submit every instance at once (a thread each), then poll every job's status in turn until
    all have ended, timing each poll; sample the service's own memory (not its workers') meanwhile."""
    import statistics  # noqa: F401  (for callers summarising the figures)
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    assert server.process is not None
    web = psutil.Process(server.process.pid)
    load = Load()
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.25):
            load.memory.append(web.memory_info().rss / 2**20)

    def submit(instance: dict[str, Any]) -> str:
        with server.client() as client:
            answer = client.post("/v1/solves", json={"instance": instance, "options": options})
        answer.raise_for_status()
        return str(answer.json()["id"])

    load.memory.append(web.memory_info().rss / 2**20)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(instances)) as pool:
        ids = list(pool.map(submit, instances))
    load.submit_seconds = time.perf_counter() - started
    deadline = time.monotonic() + timeout
    open_ids = list(ids)
    with server.client() as client:
        while open_ids and time.monotonic() < deadline:
            for job_id in list(open_ids):
                asked = time.perf_counter()
                job = client.get(f"/v1/solves/{job_id}").raise_for_status().json()
                load.polls.append(time.perf_counter() - asked)
                if job["status"] in FINAL:
                    load.jobs[job_id] = job
                    open_ids.remove(job_id)
            time.sleep(0.05)
    load.wall = time.perf_counter() - started
    done.set()
    sampler.join()
    load.memory.append(web.memory_info().rss / 2**20)
    return load
