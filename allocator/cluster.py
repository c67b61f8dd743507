"""Dask for many solves: an embedded local cluster by default, an existing one by its scheduler.

A local cluster has a worker process per core divided by the threads each solve uses, so solves
never compete for cores; an existing cluster is used as it is (its workers' threads are its own).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from allocator.errors import InputError, Problem

if TYPE_CHECKING:
    from dask.distributed import Client

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
    for solves of `threads` threads each; closed (and the local cluster stopped) on exit."""
    from dask.distributed import Client, LocalCluster

    if not log.isEnabledFor(logging.INFO):  # Dask's own INFO chatter only with -v
        for name in DASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    cluster = None
    if scheduler:
        client = connect(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=local_workers(threads),
            threads_per_worker=1,
            processes=True,
            # the scheduler's HTTP routes always start: on a free loopback port, not on :8787
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
