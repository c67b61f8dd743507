"""``allocator serve``: the engine as an HTTP service (``docs/service.md``)."""

from __future__ import annotations

import logging
import socket
import stat
from pathlib import Path

import click

from allocator.cli.common import err, guarded
from allocator.errors import InputError, Problem

MIB = 1024 * 1024


def read_token(path: str) -> str:
    """The token in `path`: its first line, at least 16 characters."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, [Problem("", f"cannot read the token file: {exc}")]) from None
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if len(token) < 16:
        raise InputError(path, [Problem("", "the token must be at least 16 characters on the first line")])
    if Path(path).stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        err.print(f"[yellow]warning:[/yellow] {path} can be read by other users (chmod 600 it)")
    return token


def check_port(host: str, port: int) -> None:
    """:class:`InputError` at ``--port`` when the address cannot be listened on (in use, say)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError(
                "--port", [Problem("", f"cannot listen on {host}:{port}: {exc.strerror or exc}")]
            ) from None


def check_origin(origin: str) -> str:
    """An origin given to ``--allow-origin`` (``scheme://host[:port]``, nothing after);
    :class:`InputError` otherwise."""
    from urllib.parse import urlsplit

    parts = urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.path not in ("", "/")
        or parts.query
    ):
        raise InputError(
            "--allow-origin",
            [Problem("", f"{origin}: an origin is scheme://host[:port], as https://planning.example:8443")],
        )
    return f"{parts.scheme}://{parts.netloc}".lower()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="The port.")
@click.option(
    "--data",
    default="allocator-data",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The folder of the job store (an SQLite database): jobs, inputs, results and reports.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A file holding the bearer token every request must give (Authorization: Bearer TOKEN). "
    "Without it the service listens on the loopback interface only.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run jobs on the Dask cluster of this scheduler (tcp://HOST:PORT, or tls:// with Dask's TLS "
    "settings in its configuration), which its operator protects; default: a local cluster of a "
    "worker per --job-threads cores, reachable by this service only.",
)
@click.option(
    "--job-threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Search threads of each job (a job's options.threads may ask fewer).",
)
@click.option(
    "--time-limit",
    default=60.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds of a job that gives no options.time_limit.",
)
@click.option(
    "--max-time-limit",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="The longest options.time_limit a job may ask.",
)
@click.option(
    "--max-body",
    default=16,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="The largest request body in MiB (larger: 413).",
)
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    metavar="ORIGIN",
    help="An origin (https://host:port) whose web pages may send requests that change something "
    "(POST, DELETE) and read the answers; by default only the service's own pages may. Repeatable.",
)
@click.option(
    "--keep-days",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Days a finished job (its request, plan and report) is kept after it ended.",
)
@click.option(
    "--keep-jobs",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Finished jobs kept at most; the oldest go first.",
)
@click.option(
    "--client-jobs",
    default=100,
    show_default=True,
    type=click.IntRange(1),
    help="Jobs one client (an address) may have queued or running at once (more: 429).",
)
@click.option(
    "--max-jobs",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Jobs queued or running at once in all (more: 503).",
)
@click.option(
    "--read-seconds",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a request's body may take to read and validate (longer: 413).",
)
@click.option(
    "--stop-grace",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds a job has to end after DELETE or past its time limit; then it is stopped with "
    "the best plan kept so far and its worker restarted.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    data: str,
    token_file: str | None,
    scheduler: str | None,
    job_threads: int,
    time_limit: float,
    max_time_limit: float,
    max_body: int,
    allow_origins: tuple[str, ...],
    keep_days: float,
    keep_jobs: int,
    client_jobs: int,
    max_jobs: int,
    read_seconds: float,
    stop_grace: float,
) -> None:
    """Serve solves, explanations and re-plans over HTTP (JSON under /v1).

    Jobs run on Dask (a local cluster that only this service can reach, or --scheduler) and are
    kept under --data, readable by their owner only: they survive a restart, even a crash (a job
    that ran is stopped with the best plan kept so far), until --keep-days or --keep-jobs remove
    them. The API's description is served at /docs and /openapi.json; docs/service.md has an
    example of every endpoint and the security model. Stop with Ctrl-C: running jobs stop and
    keep their best plans."""
    import uvicorn  # the service's libraries load only when it is served

    from allocator.cluster import connect
    from allocator.service import ServiceSettings, create_app
    from allocator.service.guard import is_loopback

    with guarded(ctx.obj["debug"]):
        token = read_token(token_file) if token_file else None
        if token is None and not is_loopback(host):
            raise InputError(
                "--host",
                [
                    Problem(
                        "",
                        f"{host}: without --token-file the service listens on the loopback "
                        "interface only (127.0.0.1)",
                    )
                ],
            )
        origins = tuple(check_origin(o) for o in allow_origins)
        if time_limit > max_time_limit:
            raise InputError(
                "--time-limit",
                [Problem("", f"{time_limit:g} s is above --max-time-limit {max_time_limit:g} s")],
            )
        check_port(host, port)
        if scheduler:  # before the service starts: a wrong address is bad input, not a traceback
            connect(scheduler).close()
        settings = ServiceSettings(
            data=Path(data),
            token=token,
            scheduler=scheduler,
            job_threads=job_threads,
            max_body=max_body * MIB,
            default_time_limit=time_limit,
            max_time_limit=max_time_limit,
            stop_grace=stop_grace,
            read_seconds=read_seconds,
            allow_origins=origins,
            keep_days=keep_days,
            keep_jobs=keep_jobs,
            client_jobs=client_jobs,
            max_jobs=max_jobs,
        )
        app = create_app(settings)
    level = logging.getLogger().getEffectiveLevel()
    err.print(f"allocator serve: http://{host}:{port}/docs (jobs kept in {data})")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info" if level <= logging.INFO else "warning",
        proxy_headers=False,  # the client's address is the socket's, never a header's
        server_header=False,
        timeout_graceful_shutdown=30,
    )
