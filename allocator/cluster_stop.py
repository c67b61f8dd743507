"""A stop that reaches the solves running on Dask workers (what-if sweeps, benchmarks).

The client's :class:`StopToken` sets a Dask ``Event`` named for the run (:func:`shared_stop`); each
task on a worker watches that event and stops its own token when it is set (:func:`worker_stop`),
so every running solve ends with its best plan, and a task that starts after the stop does no
work. A stop with no cluster to tell (gone already) is only logged.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from allocator.options import StopToken

if TYPE_CHECKING:
    from dask.distributed import Client

log = logging.getLogger(__name__)

#: Seconds between a worker's looks at the event.
POLL_SECONDS = 0.5


@contextmanager
def shared_stop(client: Client, stop: StopToken | None) -> Iterator[str | None]:
    """The name of a Dask event that is set when `stop` is stopped (at once if it is already),
    for the tasks' :func:`worker_stop`; None without `stop`."""
    if stop is None:
        yield None
        return
    from dask.distributed import Event

    name = f"allocator-stop-{secrets.token_hex(8)}"
    event = Event(name, client=client)

    def tell_workers() -> None:
        try:
            event.set()
        except Exception as exc:  # the cluster is closing: nothing runs there to stop
            log.warning("could not tell the workers to stop: %s", exc)

    stop.register(tell_workers)
    try:
        yield name
    finally:
        stop.unregister(tell_workers)


@contextmanager
def worker_stop(name: str | None) -> Iterator[StopToken]:
    """In a task on a worker: a :class:`StopToken` stopped when the event `name` of
    :func:`shared_stop` is set (never without a name)."""
    token = StopToken()
    if name is None:
        yield token
        return
    from dask.distributed import Event, get_client

    event = Event(name, client=get_client())
    if event.is_set():
        token.stop()
        yield token
        return
    finished = threading.Event()

    def watch() -> None:
        # a quick look every POLL_SECONDS, never a wait held open on the scheduler (one pending
        # when the cluster closes is logged there as an error with its traceback)
        while not finished.wait(POLL_SECONDS):
            try:
                if event.is_set():
                    token.stop()
                    return
            except Exception:  # the scheduler is gone: no stop can come any more
                return

    watcher = threading.Thread(target=watch, name="allocator-stop-watch", daemon=True)
    watcher.start()
    try:
        yield token
    finally:
        finished.set()
