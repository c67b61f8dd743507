"""The HTTP service (SPEC v2 section 9, ``docs/service.md``): a FastAPI application over the job
store and the Dask job runner.

Requests are small and quick: validation and checking answer at once, solves, explanations and
re-plans become jobs that run on Dask workers.  Every request passes the guard first (token,
loopback, body size).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
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
from pydantic import BaseModel, ValidationError
from sse_starlette.sse import EventSourceResponse

import allocator
from allocator.errors import InputError, Problem
from allocator.explanations import plan_of_solution
from allocator.files import TOO_DEEP, check_depth
from allocator.instance.catalog import DEFAULT_MODEL, available_models
from allocator.instance.model import Instance
from allocator.replanning.plan import checked_replan
from allocator.service import schemas
from allocator.service.guard import Guard
from allocator.service.inputs import (
    ReadInstance,
    for_request,
    instance_of_document,
    instance_of_upload,
    request_problems,
)
from allocator.service.jobs import JobRunner
from allocator.service.store import Job, JobStore
from allocator.solution.summary import supply_table, supply_warnings

log = logging.getLogger(__name__)
#: The JSON Schema dialect pydantic writes.
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
JOB_ID = PathParam(..., pattern=r"^[0-9a-f]{16}$", description="a job's id")
FINAL = ("done", "failed", "stopped")
#: Seconds between two looks at a job for its event stream.
EVENT_SECONDS = 0.5
MULTIPART = "multipart/form-data"


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
    grace: float = 20.0
    #: the names a request's Host may give when the service has no token (against DNS rebinding)
    allowed_hosts: tuple[str, ...] = field(default=("127.0.0.1", "localhost", "::1", "[::1]"))


def create_app(settings: ServiceSettings) -> FastAPI:
    """The service's application; its jobs run from startup to shutdown."""
    store = JobStore(settings.data)
    runner = JobRunner(store, settings.scheduler, settings.job_threads, settings.grace)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(runner.start)
        try:
            yield
        finally:
            await asyncio.to_thread(runner.close)

    app = FastAPI(
        title="allocator",
        version=allocator.__version__,
        summary="Multinational force allocation as a service: solves, explanations and re-plans as jobs.",
        lifespan=lifespan,
        responses={
            401: {"model": schemas.ErrorOut, "description": "a token is required and was missing or wrong"},
            403: {
                "model": schemas.ErrorOut,
                "description": "without a token: a request from another machine",
            },
            422: {"model": schemas.ErrorOut, "description": "bad input: every problem with its place"},
        },
    )
    app.add_middleware(
        Guard, token=settings.token, max_body=settings.max_body, local_names=settings.allowed_hosts
    )
    api = _Api(settings, store, runner)
    api.routes(app)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> JSONResponse:
        return _problems(for_request(exc))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s: %s", request.method, request.url.path, exc, exc_info=exc)
        detail = f"internal error ({type(exc).__name__}); the service log has the details"
        return JSONResponse({"detail": detail}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _problems(request_problems(exc))

    return app


def _problems(error: InputError) -> JSONResponse:
    detail = [
        schemas.ProblemOut(source=error.source, place=p.path, message=p.message, text=p.render(error.source))
        for p in error.problems
    ]
    return JSONResponse({"detail": [d.model_dump() for d in detail]}, status_code=422)


def _time(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")


def _parsed(model: type[BaseModel], data: Any, strict: bool = True) -> Any:
    """A request part as `model`: JSON strictly typed (no "5" or true for a number), form
    fields (text) converted."""
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise request_problems(exc) from None


async def _json_body(request: Request) -> Any:
    """The request's JSON body, parsed with the limits of a file (depth too)."""
    body = await request.body()
    try:
        return check_depth(json.loads(body), "request")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError("request", [Problem("", f"the body is not JSON: {exc}")]) from None
    except RecursionError:
        raise InputError("request", [Problem("", TOO_DEEP)]) from None


class _Api:
    """The routes, over one store and runner."""

    def __init__(self, settings: ServiceSettings, store: JobStore, runner: JobRunner):
        self.settings = settings
        self.store = store
        self.runner = runner

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

    def options(self, options: schemas.JobOptions) -> dict[str, Any]:
        """A job's options with the service's defaults and limits."""
        limit = options.time_limit or self.settings.default_time_limit
        threads = options.threads or self.settings.job_threads
        problems = []
        if limit > self.settings.max_time_limit:
            problems.append(
                Problem(
                    "options.time_limit",
                    f"{limit:g} s: this service allows at most {self.settings.max_time_limit:g} s",
                )
            )
        if threads > self.settings.job_threads:
            problems.append(
                Problem(
                    "options.threads",
                    f"{threads}: this service's jobs have {self.settings.job_threads} thread(s)",
                )
            )
        if problems:
            raise InputError("request", problems)
        return {
            "backend": options.backend,
            "time_limit": limit,
            "threads": threads,
            "seed": options.seed,
            "model": options.model,
        }

    def queue(self, kind: str, instance: Instance, spec: dict[str, Any]) -> JSONResponse:
        job_id = secrets.token_hex(8)
        self.store.add(job_id, kind, instance.name, {"kind": kind, **spec})
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
            413: {"model": schemas.ErrorOut, "description": "the body is larger than the service's limit"}
        }
        accepted: dict[int | str, dict[str, Any]] = {
            202: {"model": schemas.JobOut, "description": "the job, queued"},
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
            if request.headers.get("content-type", "").startswith(MULTIPART):
                read, options = await self.upload(request)
            else:
                body = _parsed(schemas.SolveRequest, await _json_body(request))
                read = await asyncio.to_thread(instance_of_document, body.instance, body.options.model)
                options = body.options
            allocator.api.refuse_changes(read.instance, "instance")
            return self.queue(
                "solve", read.instance, {"instance": read.document, "options": self.options(options)}
            )

        @app.get("/v1/solves", response_model=schemas.JobList, tags=["jobs"])
        def list_jobs(
            status: schemas.JobStatus | None = None,
            limit: int = Query(100, ge=1, le=1000),
            offset: int = Query(0, ge=0),
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
                409: {"model": schemas.ErrorOut, "description": "a running explanation: it ends by itself"},
            },
            tags=["jobs"],
        )
        def stop_job(job_id: str = JOB_ID) -> JSONResponse:
            """Stop a job: a running search ends and keeps its best plan; a queued job never runs.
            202 while it stops, 200 for a job that had ended already, 409 for a running
            explanation (it ends within its time limit)."""
            job = self.job(job_id)
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
        async def submit_explain(request: Request) -> JSONResponse:
            """Explain an instance and a plan (or why there is none), as `allocator explain`."""
            body = _parsed(schemas.ExplainRequest, await _json_body(request))
            return await asyncio.to_thread(self.explain_job, body)

        @app.post(
            "/v1/replan",
            status_code=202,
            response_model=schemas.JobOut,
            responses=accepted,
            openapi_extra=_body_doc(schemas.ReplanRequest, upload=False),
            tags=["jobs"],
        )
        async def submit_replan(request: Request) -> JSONResponse:
            """Re-plan from period `from` on, keeping the baseline's history, as `allocator replan`."""
            body = _parsed(schemas.ReplanRequest, await _json_body(request))
            return await asyncio.to_thread(self.replan_job, body)

        @app.post(
            "/v1/validate",
            response_model=schemas.ValidateOut,
            responses={**too_big},
            openapi_extra=_body_doc(schemas.ValidateRequest, upload=True),
            tags=["inputs"],
        )
        async def validate(request: Request) -> schemas.ValidateOut:
            """Validate an instance (JSON body or multipart upload) as `allocator validate`."""
            if request.headers.get("content-type", "").startswith(MULTIPART):
                read, _ = await self.upload(request)
            else:
                body = _parsed(schemas.ValidateRequest, await _json_body(request))
                read = await asyncio.to_thread(instance_of_document, body.instance, body.model)
            return await asyncio.to_thread(_validated, read)

        @app.post(
            "/v1/check",
            response_model=schemas.CheckOut,
            responses={**too_big},
            openapi_extra=_body_doc(schemas.CheckRequest, upload=False),
            tags=["inputs"],
        )
        async def check(request: Request) -> schemas.CheckOut:
            """Check a solution against every rule, as `allocator check` (a re-plan with its
            baseline); a broken rule is `ok: false`, not an error."""
            body = _parsed(schemas.CheckRequest, await _json_body(request))
            return await asyncio.to_thread(self.check, body)

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

    def explain_job(self, body: schemas.ExplainRequest) -> JSONResponse:
        read = instance_of_document(body.instance, body.options.model)
        if body.solution is not None:
            plan_of_solution(read.instance, body.solution, "solution")
        spec = {"instance": read.document, "solution": body.solution, "options": self.options(body.options)}
        return self.queue("explain", read.instance, spec)

    def replan_job(self, body: schemas.ReplanRequest) -> JSONResponse:
        read = instance_of_document(body.instance, body.options.model)
        checked_replan(
            read.instance, body.baseline, body.from_, body.objectives, body.max_changes, "baseline"
        )
        spec = {
            "instance": read.document,
            "baseline": body.baseline,
            "from": body.from_,
            "objectives": body.objectives,
            "max_changes": body.max_changes,
            "options": self.options(body.options),
        }
        return self.queue("replan", read.instance, spec)

    def check(self, body: schemas.CheckRequest) -> schemas.CheckOut:
        read = instance_of_document(body.instance)
        report = allocator.check(read.instance, body.solution, "solution", baseline=body.baseline)
        return schemas.CheckOut(
            ok=report.ok,
            status=report.status,
            objectives=report.objectives,
            violations=[
                schemas.ViolationOut(rule=v.rule, name=v.name, message=v.message) for v in report.violations
            ],
        )

    async def upload(self, request: Request) -> tuple[ReadInstance, schemas.JobOptions]:
        """The instance file of a multipart request and the options in its other fields."""
        form = await request.form(max_files=1, max_fields=20)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InputError(
                "request", [Problem("file", "a multipart request needs the instance file in field 'file'")]
            )
        fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
        options = _parsed(schemas.JobOptions, fields, strict=False)
        data = await upload.read()
        read = await asyncio.to_thread(instance_of_upload, data, upload.filename, options.model)
        return read, options

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


def _validated(read: ReadInstance) -> schemas.ValidateOut:
    instance = read.instance
    supply = supply_table(instance)
    return schemas.ValidateOut(
        instance=instance.name,
        nations=len(instance.nations),
        tasks=len(instance.tasks),
        offers=len(instance.offers),
        periods=instance.periods,
        supply=[schemas.SupplyRow(**row) for row in supply.to_dict("records")],
        warnings=[*read.warnings, *supply_warnings(supply, read.label)],
    )


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
