"""Dask for many solves: an embedded local cluster by default, an existing one by its scheduler.

A local cluster has a worker process per core divided by the threads each solve uses, so solves
never compete for cores; an existing cluster is used as it is (its workers' threads are its own).

A local cluster is this process's only: its scheduler, nannies and workers speak TLS with a
certificate authority made in memory for it (:meth:`distributed.security.Security.temporary`),
so that another user of the machine can neither submit code to its workers nor read what they
hold; their HTTP routes (dashboard, info pages) serve nothing, and their scratch folder is a
private temporary one.  An existing cluster named by its scheduler is its operator's to protect.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from allocator.errors import InputError, Problem

if TYPE_CHECKING:
    from dask.distributed import Client, LocalCluster

log = logging.getLogger(__name__)

#: Dask's loggers, quiet unless allocator logs at INFO (-v).
DASK_LOGGERS = (
    "distributed",
    "distributed.scheduler",
    "distributed.nanny",
    "distributed.core",
    "distributed.http.proxy",
    "distributed.worker",
)


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def local_workers(threads: int) -> int:
    """A worker per core divided by the threads of each solve; at least one (with a warning)."""
    available = cores()
    workers = max(1, available // threads)
    if workers * threads > available:
        warnings.warn(
            f"{workers} worker(s) x {threads} threads exceed the {available} cores: runs will "
            "compete for cores and times will suffer",
            stacklevel=2,
        )
    return workers


#: Seconds to wait for an existing scheduler to answer.
CONNECT_SECONDS = 15


def connect(scheduler: str) -> Client:
    """A client of the scheduler at `scheduler`; :class:`InputError` (bad input, at
    ``--scheduler``) when none answers there."""
    from dask.distributed import Client

    try:
        return Client(scheduler, timeout=CONNECT_SECONDS)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(
            "--scheduler", [Problem("", f"{scheduler}: no Dask scheduler answered ({exc})")]
        ) from None


@contextmanager
def dask_client(scheduler: str | None, threads: int) -> Iterator[Client]:
    """A client of the cluster at `scheduler` (``tcp://HOST:PORT``), or of a local cluster sized
    for solves of `threads` threads each (:func:`local_cluster`); closed (and the local cluster
    stopped) on exit."""
    from dask.distributed import Client

    if not log.isEnabledFor(logging.INFO):  # Dask's own INFO chatter only with -v
        for name in DASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    if scheduler:
        client = connect(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    with local_cluster(local_workers(threads)) as cluster:
        client = Client(cluster, security=cluster.security)
        try:
            yield client
        finally:
            client.close()


#: The HTTP routes of a local cluster's scheduler and workers: none (their servers always start).
NO_HTTP_ROUTES: dict[str, list[str]] = {
    "distributed.scheduler.http.routes": [],
    "distributed.worker.http.routes": [],
}


@contextmanager
def local_cluster(workers: int) -> Iterator[LocalCluster]:
    """A local cluster of `workers` processes of one thread, on the loopback interface, that only
    this process can reach: TLS with a certificate authority made in memory for it, no HTTP
    routes, a private scratch folder (0700) removed with it."""
    import dask
    from dask.distributed import LocalCluster
    from distributed.security import Security

    scratch = tempfile.mkdtemp(prefix="allocator-dask-")  # 0700
    try:
        with dask.config.set(NO_HTTP_ROUTES):  # the nannies pass the config on to their workers
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                protocol="tls",
                security=Security.temporary(),
                dashboard_address="127.0.0.1:0",  # not :8787 (it serves nothing: NO_HTTP_ROUTES)
                local_directory=scratch,
                silence_logs=logging.ERROR,
            )
        try:
            yield cluster
        finally:
            cluster.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
