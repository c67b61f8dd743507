"""The local Dask cluster is its process's only: TLS with credentials made in memory, no HTTP
routes, a private scratch folder."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from allocator.cluster import dask_client


def _one(x: int) -> int:
    return x + 1


#: Another process (another user of the machine) tries to run code on the cluster.
INTRUDER = """
import sys
from distributed import Client
from distributed.security import Security
address, how = sys.argv[1], sys.argv[2]
security = Security.temporary() if how == "own" else None
try:
    client = Client(address, timeout=5, security=security)
except Exception as exc:
    print("refused", type(exc).__name__)
    raise SystemExit(0)
print("ran", client.submit(sum, [1, 2]).result(timeout=5))
"""


def _intrude(address: str, how: str) -> str:
    run = subprocess.run(
        [sys.executable, "-c", INTRUDER, address, how], capture_output=True, text=True, timeout=60
    )
    return run.stdout.strip() or run.stderr[-500:]


def test_the_local_cluster_runs_work_and_refuses_anyone_without_its_credentials() -> None:
    with dask_client(None, threads=1) as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        assert client.submit(_one, 1).result() == 2
        scratch = Path(client.run(lambda dask_worker: dask_worker.local_directory).popitem()[1])
        worker = next(iter(client.scheduler_info()["workers"]))
        attempts = {
            "no credentials": _intrude(address, "none"),
            "credentials of its own": _intrude(address, "own"),
            "plain TCP": _intrude(address.replace("tls://", "tcp://"), "none"),
            "a worker, plain TCP": _intrude(worker.replace("tls://", "tcp://"), "none"),
        }
        assert all(answer.startswith("refused") for answer in attempts.values()), attempts
        assert stat.S_IMODE(scratch.parents[1].stat().st_mode) == 0o700, scratch  # allocator-dask-*
        pages = [
            httpx.get(f"http://{c.laddr.ip}:{c.laddr.port}/info/main/workers.html", timeout=5).status_code
            for c in psutil.Process().net_connections(kind="inet")
            if c.status == "LISTEN" and _http(c.laddr.port)
        ]
    assert pages and set(pages) == {404}, pages
    assert not scratch.exists()


def _http(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
    except httpx.HTTPError:
        return False
    return True
