"""The HTTP service (SPEC v2 section 9, ``docs/service.md``): a FastAPI application over the job
store and the Dask job runner.

Requests are small and quick: validation and checking answer at once, solves, explanations and
re-plans become jobs that run on Dask workers.  Every request passes the guard first (token,
loopback, origin, body size); a body is read in a reader process (:mod:`.reading`), never in the
web process, which answers other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel
from sse_starlette.sse import EventSourceResponse
from starlette.middleware.cors import CORSMiddleware

import allocator
from allocator.errors import InputError
from allocator.instance.catalog import DEFAULT_MODEL, available_models
from allocator.instance.model import Instance
from allocator.service import schemas
from allocator.service.guard import Guard
from allocator.service.inputs import for_request, request_problems
from allocator.service.jobs import JobRunner
from allocator.service.reading import (
    JSON,
    MULTIPART,
    Busy,
    Limits,
    Queued,
    Readers,
    Refused,
    media_type,
    problem_list,
)
from allocator.service.store import FINAL, Job, JobStore, QueueFull

log = logging.getLogger(__name__)
#: The JSON Schema dialect pydantic writes.
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
JOB_ID = PathParam(..., pattern=r"^[0-9a-f]{16}$", description="a job's id")
#: Seconds between two looks at a job for its event stream.
EVENT_SECONDS = 0.5
#: The largest `offset` of a job list (more jobs than retention ever keeps).
MAX_OFFSET = 10**9
#: Seconds a client is asked to wait when every reader is busy.
BUSY_SECONDS = 5
DAY = 86400.0


@dataclass(frozen=True)
class ServiceSettings:
    """How `allocator serve` runs (its options, ``allocator serve --help``)."""

    data: Path = Path("allocator-data")
    token: str | None = None
    scheduler: str | None = None
    job_threads: int = 1
    max_body: int = 16 * 1024 * 1024
    default_time_limit: float = 60.0
    max_time_limit: float = 3600.0
    #: seconds running jobs have to stop on shutdown
    grace: float = 20.0
    #: seconds a job has to end after a DELETE or past its time limit before its worker is restarted
    stop_grace: float = 30.0
    #: the names a request's Host may give when the service has no token (against DNS rebinding)
    allowed_hosts: tuple[str, ...] = field(default=("127.0.0.1", "localhost", "::1", "[::1]"))
    #: origins (``https://host:port``) besides the service's own whose pages may send requests
    allow_origins: tuple[str, ...] = ()
    #: finished jobs are removed this many days after they ended, and beyond the newest keep_jobs
    keep_days: float | None = 30.0
    keep_jobs: int | None = 1000
    #: queued and running jobs at most, of one client (its address) and in all
    client_jobs: int = 100
    max_jobs: int = 1000
    #: reader processes, and the seconds a request's body may take to read
    readers: int = 2
    read_seconds: float = 10.0

    @property
    def limits(self) -> Limits:
        return Limits(self.default_time_limit, self.max_time_limit, self.job_threads)

    @property
    def retention(self) -> tuple[float | None, int | None]:
        """(seconds, jobs): how long and how many finished jobs are kept."""
        return (None if self.keep_days is None else self.keep_days * DAY), self.keep_jobs


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service's application; its jobs run from startup to shutdown."""
    store = JobStore(settings.data)
    runner = JobRunner(
        store,
        settings.scheduler,
        settings.job_threads,
        settings.grace,
        stop_grace=settings.stop_grace,
        retention=settings.retention,
    )
    readers = Readers(processes=settings.readers, seconds=settings.read_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(readers.start)
        await asyncio.to_thread(runner.start)
        try:
            yield
        finally:
            await asyncio.to_thread(runner.close)
            await asyncio.to_thread(readers.close)

    app = FastAPIOffline(  # /docs and /redoc with their scripts served from the package, no CDN
        title="allocator",
        version=allocator.__version__,
        summary="Multinational force allocation as a service: solves, explanations and re-plans as jobs.",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI would ask validator.swagger.io
        responses={
            401: {"model": schemas.ErrorOut, "description": "a token is required and was missing or wrong"},
            403: {
                "model": schemas.ErrorOut,
                "description": "without a token: a request from another machine; a request that "
                "changes something, sent by a page of another origin",
            },
            422: {"model": schemas.ErrorOut, "description": "bad input: every problem with its place"},
        },
    )
    app.add_middleware(
        Guard,
        token=settings.token,
        max_body=settings.max_body,
        local_names=settings.allowed_hosts,
        allow_origins=settings.allow_origins,
    )
    if settings.allow_origins:  # their pages may ask (preflight) and read the answers
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allow_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["authorization", "content-type"],
            expose_headers=["location", "retry-after"],
        )
    api = _Api(settings, store, runner, readers)
    api.routes(app)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return _refused(Refused(problem_list(for_request(exc))))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s: %s", request.method, request.url.path, exc, exc_info=exc)
        detail = f"internal error ({type(exc).__name__}); the service log has the details"
        return JSONResponse({"detail": detail}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _refused(Refused(problem_list(request_problems(exc))))

    return app


def _refused(refused: Refused) -> JSONResponse:
    return JSONResponse({"detail": refused.detail}, status_code=refused.status)


def _busy(detail: str, seconds: float, status: int) -> JSONResponse:
    retry = str(max(1, math.ceil(seconds)))
    return JSONResponse({"detail": detail}, status_code=status, headers={"Retry-After": retry})


def _time(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")


def _client(request: Request) -> str:
    """Who sent a request, for the bounds on queued work: its address (the socket's)."""
    return request.client.host if request.client else "unknown"


class _Api:
    """The routes, over one store, runner and set of readers."""

    def __init__(self, settings: ServiceSettings, store: JobStore, runner: JobRunner, readers: Readers):
        self.settings = settings
        self.store = store
        self.runner = runner
        self.readers = readers

    # jobs ------------------------------------------------------------------------------------------
    def job_out(self, job: Job) -> schemas.JobOut:
        base = f"/v1/solves/{job.id}"
        links = {"self": base, "events": f"{base}/events"}
        if job.has_solution:
            links["solution"] = f"{base}/solution"
        if job.has_solution and job.result_status in ("optimal", "feasible"):
            links["report"] = f"{base}/report"
        if job.has_explanation:
            links["explanation"] = f"{base}/explanation"
        return schemas.JobOut(
            id=job.id,
            kind=job.kind,
            status=job.status,
            instance=job.name,
            created=_time(job.created) or "",
            started=_time(job.started),
            finished=_time(job.finished),
            progress=schemas.Progress(**job.progress) if job.progress else None,
            result_status=job.result_status,
            verified=job.verified,
            reason=job.reason,
            links=links,
        )

    async def read(self, request: Request, route: str, uploads: bool) -> Response | Any:
        """A request's body read in a reader process: a Queued job, an Answered request or a
        response (refused: 415 for a body of another type, 413, 422, or 503 when every reader
        is busy)."""
        content_type = request.headers.get("content-type", "")
        accepted = (JSON, MULTIPART) if uploads else (JSON,)
        if media_type(content_type) not in accepted:
            what = " or ".join(accepted)
            detail = f"the body must be {what}" + (" (the file in field 'file')" if uploads else "")
            return JSONResponse({"detail": f"{detail}, not '{content_type or 'none'}'"}, status_code=415)
        try:
            outcome = await self.readers.read(route, await request.body(), content_type, self.settings.limits)
        except Busy:
            return _busy("every reader of this service is busy; retry in a moment", BUSY_SECONDS, 503)
        return _refused(outcome) if isinstance(outcome, Refused) else outcome

    async def submit(self, request: Request, route: str, uploads: bool) -> Response:
        """Queue the job of a request: refused at once when its client (or the service) has as
        many jobs queued or running as allowed, else read, then queued."""
        client = _client(request)
        full = await asyncio.to_thread(self.full, client)
        if full is not None:
            return full
        outcome = await self.read(request, route, uploads)
        if isinstance(outcome, Response):
            return outcome
        return await asyncio.to_thread(self.queue, outcome, client)

    def full(self, client: str) -> Response | None:
        """429 (the client's) or 503 (the service's) when no more jobs may be queued."""
        mine = self.store.active(client)
        if len(mine) >= self.settings.client_jobs:
            return self.queue_full(QueueFull("client", self.settings.client_jobs), client)
        if len(self.store.active()) >= self.settings.max_jobs:
            return self.queue_full(QueueFull("service", self.settings.max_jobs), client)
        return None

    def queue_full(self, full: QueueFull, client: str) -> Response:
        """The answer to a job refused by a bound on queued work, with the seconds until the
        first of its client's (or the service's) running jobs reaches its time limit."""
        jobs = self.store.active(client if full.scope == "client" else None)
        now, default = time.time(), self.settings.default_time_limit
        ends = [j.started + (j.time_limit or default) for j in jobs if j.started is not None]
        wait = min(ends) - now if ends else default
        return _busy(str(full), wait, 429 if full.scope == "client" else 503)

    def queue(self, queued: Queued, client: str) -> Response:
        job_id = secrets.token_hex(8)
        try:
            self.store.add(
                job_id,
                queued.kind,
                queued.name,
                queued.request,
                client=client,
                time_limit=queued.time_limit,
                per_client=self.settings.client_jobs,
                total=self.settings.max_jobs,
            )
        except QueueFull as full:
            return self.queue_full(full, client)
        self.runner.submit(job_id)
        job = self.store.get(job_id)
        assert job is not None
        body = self.job_out(job).model_dump(mode="json")
        return JSONResponse(body, status_code=202, headers={"Location": f"/v1/solves/{job_id}"})

    def job(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise _NotFound(f"no job '{job_id}'")
        return job

    # routes ----------------------------------------------------------------------------------------
    def routes(self, app: FastAPI) -> None:
        app.exception_handler(_NotFound)(_not_found)
        unknown: dict[int | str, dict[str, Any]] = {
            404: {"model": schemas.ErrorOut, "description": "no such job"}
        }
        missing: dict[int | str, dict[str, Any]] = {
            404: {
                "model": schemas.ErrorOut,
                "description": "no such job, or nothing of this kind (yet): see detail",
            }
        }
        too_big: dict[int | str, dict[str, Any]] = {
            413: {
                "model": schemas.ErrorOut,
                "description": "the body is larger than the service's limit, or takes more time or "
                "memory to read than the service allows",
            },
            415: {
                "model": schemas.ErrorOut,
                "description": "the body is not of a type this route reads (JSON, or a multipart upload)",
            },
            503: {
                "model": schemas.ErrorOut,
                "description": "the service is busy (every reader, or as many jobs as it queues): "
                "retry after Retry-After seconds",
            },
        }
        accepted: dict[int | str, dict[str, Any]] = {
            202: {"model": schemas.JobOut, "description": "the job, queued"},
            429: {
                "model": schemas.ErrorOut,
                "description": "this client has as many jobs queued or running as the service allows: "
                "retry after Retry-After seconds",
            },
            **too_big,
        }

        @app.post(
            "/v1/solves",
            status_code=202,
            response_model=schemas.JobOut,
            responses=accepted,
            openapi_extra=_body_doc(schemas.SolveRequest, upload=True),
            tags=["jobs"],
        )
        async def submit_solve(request: Request) -> Response:
            """Solve an instance: a JSON body, or a multipart upload (field `file`: YAML, JSON or
            XLSX; options as form fields).  Answers at once with the queued job."""
            return await self.submit(request, "solve", uploads=True)

        @app.get("/v1/solves", response_model=schemas.JobList, tags=["jobs"])
        def list_jobs(
            status: schemas.JobStatus | None = None,
            limit: int = Query(100, ge=1, le=1000),
            offset: int = Query(0, ge=0, le=MAX_OFFSET),
        ) -> schemas.JobList:
            """Jobs of every kind, newest first."""
            return schemas.JobList(jobs=[self.job_out(j) for j in self.store.jobs(status, limit, offset)])

        @app.get("/v1/solves/{job_id}", response_model=schemas.JobOut, responses=unknown, tags=["jobs"])
        def get_job(job_id: str = JOB_ID) -> schemas.JobOut:
            """A job's status and live progress."""
            return self.job_out(self.job(job_id))

        @app.get(
            "/v1/solves/{job_id}/events",
            tags=["jobs"],
            response_class=Response,
            responses={
                **unknown,
                200: {
                    "description": "server-sent events named `job`, each with the job (JobOut) as data",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
            },
        )
        async def job_events(request: Request, job_id: str = JOB_ID) -> EventSourceResponse:
            """Server-sent events: `job` (the job, as GET gives it) at every change of status or
            progress, the last one when it ends."""
            self.job(job_id)
            return EventSourceResponse(self.events(request, job_id), ping=15)

        @app.get(
            "/v1/solves/{job_id}/solution",
            tags=["jobs"],
            response_model=schemas.SolutionDocument,
            responses=missing,
        )
        def get_solution(job_id: str = JOB_ID) -> Response:
            """The solution (SPEC section 4) of a solve or re-plan; 404 until there is one."""
            return self.result(job_id, "solution", "application/json")

        @app.get("/v1/solves/{job_id}/report", tags=["jobs"], response_class=HTMLResponse, responses=missing)
        async def get_report(job_id: str = JOB_ID) -> Response:
            """The plan report: one self-contained HTML page (made on a worker when first asked
            for, then kept)."""
            job = self.job(job_id)
            if job.kind == "explain" or job.result_status not in ("optimal", "feasible"):
                raise _NotFound(_missing(job, "report"))
            html = await asyncio.to_thread(self.runner.report, job_id)
            if html is None:
                raise _NotFound(_missing(job, "report"))
            return HTMLResponse(html)

        @app.get("/v1/solves/{job_id}/explanation", tags=["jobs"], responses=missing)
        def get_explanation(job_id: str = JOB_ID) -> Response:
            """The explanation of an explain job (as `allocator explain --json` writes it)."""
            return self.result(job_id, "explanation", "application/json")

        @app.delete(
            "/v1/solves/{job_id}",
            response_model=schemas.JobOut,
            status_code=202,
            responses={
                **unknown,
                200: {"model": schemas.JobOut, "description": "the job had ended"},
                204: {"description": "with `remove=true`: the finished job and all it made are removed"},
                409: {
                    "model": schemas.ErrorOut,
                    "description": "a running explanation: it ends by itself; with `remove=true`, a "
                    "job that has not ended: stop it first",
                },
            },
            tags=["jobs"],
        )
        def stop_job(
            job_id: str = JOB_ID,
            remove: bool = Query(
                False, description="remove a finished job and everything it made, instead of stopping it"
            ),
        ) -> Response:
            """Stop a job: a running search ends and keeps its best plan; a queued job never runs.
            202 while it stops, 200 for a job that had ended already, 409 for a running
            explanation (it ends within its time limit).  With `remove=true`, remove a finished
            job, its plan, report and request (204; 409 for a job that has not ended)."""
            job = self.job(job_id)
            if remove:
                if job.status not in FINAL:
                    detail = f"job '{job_id}' is {job.status}: stop it first (DELETE without remove)"
                    return JSONResponse({"detail": detail}, status_code=409)
                self.store.remove(job_id)
                return Response(status_code=204)
            if job.status in FINAL:
                return JSONResponse(self.job_out(job).model_dump(mode="json"), status_code=200)
            if job.kind == "explain" and job.status == "running":
                detail = (
                    f"job '{job_id}' is an explanation: it cannot be stopped midway and ends "
                    "within its time limit"
                )
                return JSONResponse({"detail": detail}, status_code=409)
            self.runner.stop(job_id)
            return JSONResponse(self.job_out(self.job(job_id)).model_dump(mode="json"), status_code=202)

        @app.post(
            "/v1/explain",
            status_code=202,
            response_model=schemas.JobOut,
            responses=accepted,
            openapi_extra=_body_doc(schemas.ExplainRequest, upload=False),
            tags=["jobs"],
        )
        async def submit_explain(request: Request) -> Response:
            """Explain an instance and a plan (or why there is none), as `allocator explain`."""
            return await self.submit(request, "explain", uploads=False)

        @app.post(
            "/v1/replan",
            status_code=202,
            response_model=schemas.JobOut,
            responses=accepted,
            openapi_extra=_body_doc(schemas.ReplanRequest, upload=False),
            tags=["jobs"],
        )
        async def submit_replan(request: Request) -> Response:
            """Re-plan from period `from` on, keeping the baseline's history, as `allocator replan`."""
            return await self.submit(request, "replan", uploads=False)

        @app.post(
            "/v1/validate",
            response_model=schemas.ValidateOut,
            responses={**too_big},
            openapi_extra=_body_doc(schemas.ValidateRequest, upload=True),
            tags=["inputs"],
        )
        async def validate(request: Request) -> Response:
            """Validate an instance (JSON body or multipart upload) as `allocator validate`."""
            return await self.answer(request, "validate", uploads=True)

        @app.post(
            "/v1/check",
            response_model=schemas.CheckOut,
            responses={**too_big},
            openapi_extra=_body_doc(schemas.CheckRequest, upload=False),
            tags=["inputs"],
        )
        async def check(request: Request) -> Response:
            """Check a solution against every rule, as `allocator check` (a re-plan with its
            baseline); a broken rule is `ok: false`, not an error."""
            return await self.answer(request, "check", uploads=False)

        @app.get("/v1/schema/instance", tags=["formats"])
        def instance_schema() -> dict[str, Any]:
            """The JSON Schema of an instance document (``docs/schema/instance.json``)."""
            return instance_json_schema()

        @app.get("/v1/schema/solution", tags=["formats"])
        def solution_schema() -> dict[str, Any]:
            """The JSON Schema of a solution document (``docs/schema/solution.json``)."""
            return solution_json_schema()

        @app.get("/v1/models", response_model=schemas.ModelList, tags=["formats"])
        def models() -> schemas.ModelList:
            """The named models an instance or a job's `options.model` may name."""
            return schemas.ModelList(models=list(available_models()))

    async def answer(self, request: Request, route: str, uploads: bool) -> Response:
        """The answer of a quick request, read in a reader process."""
        outcome = await self.read(request, route, uploads)
        return outcome if isinstance(outcome, Response) else JSONResponse(outcome.body)

    def result(self, job_id: str, column: str, media_type: str) -> Response:
        job = self.job(job_id)
        text = self.store.result(job_id, column)
        if text is None:
            raise _NotFound(_missing(job, column))
        return Response(text, media_type=media_type)

    async def events(self, request: Request, job_id: str) -> AsyncIterator[dict[str, str]]:
        sent = None
        while not await request.is_disconnected():
            job = await asyncio.to_thread(self.store.get, job_id)
            if job is None:
                return
            data = self.job_out(job).model_dump_json()
            if data != sent:
                yield {"event": "job", "data": data}
                sent = data
            if job.status in FINAL:
                return
            await asyncio.sleep(EVENT_SECONDS)


class _NotFound(Exception):
    def __init__(self, detail: str):
        self.detail = detail


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": getattr(exc, "detail", "not found")}, status_code=404)


def _missing(job: Job, column: str) -> str:
    if job.kind == "explain" and column != "explanation":
        return f"job '{job.id}' is an explanation: GET /v1/solves/{job.id}/explanation"
    if job.kind != "explain" and column == "explanation":
        return f"job '{job.id}' is a {job.kind}: GET /v1/solves/{job.id}/solution"
    if column == "report" and job.status in FINAL and job.result_status:
        return f"job '{job.id}' holds no plan ({job.result_status}): no report"
    if job.status in FINAL:
        return f"job '{job.id}' ended {job.status} without a {column}" + (
            f": {job.reason}" if job.reason else ""
        )
    return f"job '{job.id}' is {job.status}: no {column} yet"


def _body_doc(model: type[BaseModel], upload: bool) -> dict[str, Any]:
    """The request body of a route that reads JSON or a multipart upload itself."""
    content: dict[str, Any] = {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
    }
    if upload:
        content[MULTIPART] = {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "YAML, JSON or XLSX"},
                    **{name: {"type": "string"} for name in schemas.JobOptions.model_fields},
                },
            }
        }
    return {"requestBody": {"required": True, "content": content}}


def instance_json_schema() -> dict[str, Any]:
    """The instance document's JSON Schema: the validated model's, with `model` as a document
    writes it (a named model, or a model written out)."""
    schema = {"$schema": JSON_SCHEMA_DIALECT, **Instance.model_json_schema()}
    schema["title"] = "allocator instance"
    named = {"type": "string", "enum": list(available_models()), "description": "a named model"}
    schema["properties"]["model"] = {
        "anyOf": [named, {"$ref": "#/$defs/ModelSpec"}],
        "default": DEFAULT_MODEL,
    }
    return schema


def solution_json_schema() -> dict[str, Any]:
    return {"$schema": JSON_SCHEMA_DIALECT, **schemas.SolutionDocument.model_json_schema(by_alias=True)}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document, with the request models of the routes that read JSON or an
    upload themselves."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        document = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
            description=app.description,
        )
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for model in (
            schemas.SolveRequest,
            schemas.ValidateRequest,
            schemas.ExplainRequest,
            schemas.ReplanRequest,
            schemas.CheckRequest,
        ):
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(schema.pop("$defs", {}))
            components[model.__name__] = schema
        app.openapi_schema = document
    return app.openapi_schema
