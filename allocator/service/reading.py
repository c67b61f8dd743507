"""Reading a request's body into a job to queue or an answer, away from the web process.

Reading is the one heavy part of a request: JSON parsed, an upload unpacked, an instance
validated, a plan checked.  It runs in the service's reader processes (:class:`Readers`), so
that the web process answers other requests meanwhile, and it is bounded there: a read that
takes longer than its time, or more memory than its share, ends its process and the request
gets 413.  What comes back is small (an answer) or one JSON text (a job's request, as the
workers receive it).

Every problem of a request is reported at once: a bad option and a bad instance in the same
422, each at its place.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import multiprocessing
import resource
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from allocator.errors import InputError, Problem
from allocator.service import schemas
from allocator.service.inputs import for_request, request_problems

log = logging.getLogger(__name__)

MULTIPART = "multipart/form-data"
JSON = "application/json"
#: Reads one reader process makes before it is replaced (memory given back).
READS_PER_PROCESS = 100
#: The largest body read as a small one (never waiting behind large ones).
SMALL_BODY = 256 * 1024


@dataclass(frozen=True)
class Limits:
    """The service's limits a job's options must keep, and its default time limit."""

    default_time_limit: float = 60.0
    max_time_limit: float = 3600.0
    job_threads: int = 1


@dataclass(frozen=True)
class Queued:
    """A job to queue: its kind, the instance's name, its request as the workers receive it (JSON
    text) and its time limit."""

    kind: str
    name: str | None
    request: str
    time_limit: float


@dataclass(frozen=True)
class Answered:
    """The answer of a quick request (validate, check)."""

    body: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """Bad input: every problem found (``ProblemOut`` documents), or one sentence, and its status."""

    detail: list[dict[str, str]] | str
    status: int = 422


Outcome = Queued | Answered | Refused


def problem_list(*errors: InputError) -> list[dict[str, str]]:
    """The problems of one or more errors as the service reports them (``ProblemOut``)."""
    return [
        schemas.ProblemOut(
            source=error.source, place=p.path, message=p.message, text=p.render(error.source)
        ).model_dump()
        for error in errors
        for p in error.problems
    ]


class _Problems:
    """The problems of one request, gathered from its parts so that all are reported together."""

    def __init__(self) -> None:
        self.errors: list[InputError] = []

    @contextmanager
    def gather(self) -> Iterator[None]:
        """Run a part of the reading; its bad input is kept and the reading goes on."""
        try:
            yield
        except InputError as exc:
            self.errors.append(for_request(exc))

    def refused(self) -> Refused | None:
        return Refused(problem_list(*self.errors)) if self.errors else None


# in a reader process ---------------------------------------------------------------------------
def read(route: str, body: bytes, content_type: str, limits: Limits) -> Outcome:
    """Read the body of a request to `route` (``solve``, ``validate``, ``check``, ``explain``,
    ``replan``) sent as `content_type`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a reader's warnings are recorded where they matter
            return _ROUTES[route](body, content_type, limits)
    except InputError as exc:
        return Refused(problem_list(for_request(exc)))
    except (MemoryError, RecursionError, SystemError):  # (a C library out of memory: SystemError)
        log.warning("a %s request needed more memory than a reader has", route, exc_info=True)
        return Refused(TOO_BIG_TO_READ, status=413)


TOO_BIG_TO_READ = "the body needs more memory to read than this service allows"
TOO_LONG_TO_READ = "the body takes more than {seconds:g} s to read: too large or too complex for this service"


def media_type(content_type: str) -> str:
    """``multipart/form-data; boundary=x`` -> ``multipart/form-data``."""
    return content_type.partition(";")[0].strip().lower()


def _json(body: bytes) -> Any:
    """A JSON body, parsed as a file is (depth, size and duplicate keys refused)."""
    from allocator.parsing import parse_json

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("request", [Problem("", f"the body is not JSON: {exc}")]) from None
    return parse_json(text, "request")


def _parsed(model: type[BaseModel], data: Any, strict: bool = True) -> Any:
    """A request part as `model`: JSON strictly typed (no "5" or true for a number), form
    fields (text) converted."""
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise request_problems(exc) from None


def _part(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, dict) else None


def _options_of(data: Any, strict: bool = True) -> schemas.JobOptions | None:
    """A request's options when they are valid (their problems are the request's, reported
    with its shape)."""
    try:
        return schemas.JobOptions.model_validate(data if data is not None else {}, strict=strict)
    except ValidationError:
        return None


def job_options(options: schemas.JobOptions, limits: Limits) -> dict[str, Any]:
    """A job's options with the service's defaults and limits (:class:`InputError` past them)."""
    limit = options.time_limit or limits.default_time_limit
    threads = options.threads or limits.job_threads
    problems = []
    if limit > limits.max_time_limit:
        problems.append(
            Problem(
                "options.time_limit", f"{limit:g} s: this service allows at most {limits.max_time_limit:g} s"
            )
        )
    if threads > limits.job_threads:
        problems.append(
            Problem("options.threads", f"{threads}: this service's jobs have {limits.job_threads} thread(s)")
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


def _queued(kind: str, name: str | None, spec: dict[str, Any]) -> Queued:
    return Queued(kind, name, json.dumps({"kind": kind, **spec}), float(spec["options"]["time_limit"]))


def _solve(body: bytes, content_type: str, limits: Limits) -> Outcome:
    import allocator.api

    problems = _Problems()
    _, read_instance, options = _read(body, content_type, schemas.SolveRequest, problems)
    spec_options = _limited(options, limits, problems)
    if read_instance is not None:
        with problems.gather():
            allocator.api.refuse_changes(read_instance.instance, "instance")
    if (refused := problems.refused()) is not None:
        return refused
    assert read_instance is not None and spec_options is not None
    spec = {"instance": read_instance.document, "options": spec_options}
    return _queued("solve", read_instance.instance.name, spec)


def _read(
    body: bytes, content_type: str, model: type[BaseModel], problems: _Problems
) -> tuple[Any, Any, schemas.JobOptions | None]:
    """A request's parts: the request as `model` (None when its shape is wrong), its instance read
    (a ReadInstance; None when missing or bad) and its options (None when bad), from a JSON body
    or a multipart upload; every problem gathered in `problems`."""
    if media_type(content_type) == MULTIPART:
        read_instance, options = _upload(body, content_type, problems)
        return None, read_instance, options
    data = _json(body)
    request = None
    with problems.gather():
        request = _parsed(model, data)
    if "options" in model.model_fields:
        options = _options_of(_part(data, "options"))
    else:  # validate: the model alone
        named = _part(data, "model")
        options = _options_of({"model": named}) if isinstance(named, str) else None
    return request, _instance(_part(data, "instance"), options, problems), options


def _instance(document: Any, options: schemas.JobOptions | None, problems: _Problems) -> Any:
    """The request's instance read (a ReadInstance), None when it is missing or bad."""
    from allocator.service.inputs import instance_of_document

    if not isinstance(document, dict):
        return None  # a problem of the request's shape, reported with it
    with problems.gather():
        return instance_of_document(document, options.model if options is not None else None)
    return None


def _upload(body: bytes, content_type: str, problems: _Problems) -> tuple[Any, schemas.JobOptions | None]:
    """The instance file of a multipart body (a ReadInstance, or None) and the options in its
    other fields."""
    from allocator.service.inputs import instance_of_upload

    fields, name, data = _form(body, content_type)
    with problems.gather():
        _parsed(schemas.JobOptions, fields, strict=False)
    options = _options_of(fields, strict=False)
    if data is None:
        problems.errors.append(
            InputError(
                "request", [Problem("file", "a multipart request needs the instance file in field 'file'")]
            )
        )
        return None, options
    with problems.gather():
        return instance_of_upload(data, name, options.model if options is not None else None), options
    return None, options


def _form(body: bytes, content_type: str) -> tuple[dict[str, str], str | None, bytes | None]:
    """A multipart body's text fields, and its file's name and content (field ``file``), as
    Starlette reads them (at most one file and 20 fields)."""
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException
    from starlette.requests import Request

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def parse() -> tuple[dict[str, str], str | None, bytes | None]:
        scope = {"type": "http", "method": "POST", "headers": [(b"content-type", content_type.encode())]}
        async with Request(scope, receive).form(max_files=1, max_fields=20) as form:
            upload = form.get("file")
            fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
            if isinstance(upload, UploadFile):
                return fields, upload.filename, await upload.read()
            return fields, None, None

    try:
        return asyncio.run(parse())
    except HTTPException as exc:  # a malformed body, or more parts than allowed
        raise InputError(
            "request", [Problem("", f"the multipart body is not readable: {exc.detail}")]
        ) from None


def _validate(body: bytes, content_type: str, limits: Limits) -> Outcome:
    from allocator.solution.summary import supply_table, supply_warnings

    problems = _Problems()
    _, read_instance, _ = _read(body, content_type, schemas.ValidateRequest, problems)
    if (refused := problems.refused()) is not None:
        return refused
    instance = read_instance.instance
    supply = supply_table(instance)
    answer = schemas.ValidateOut(
        instance=instance.name,
        nations=len(instance.nations),
        tasks=len(instance.tasks),
        offers=len(instance.offers),
        periods=instance.periods,
        supply=[schemas.SupplyRow(**row) for row in supply.to_dict("records")],
        warnings=[*read_instance.warnings, *supply_warnings(supply, read_instance.label)],
    )
    return Answered(answer.model_dump(mode="json"))


def _check(body: bytes, content_type: str, limits: Limits) -> Outcome:
    import allocator

    request = _parsed(schemas.CheckRequest, _json(body))
    problems = _Problems()
    read_instance = _instance(request.instance, None, problems)
    if (refused := problems.refused()) is not None:
        return refused
    report = allocator.check(read_instance.instance, request.solution, "solution", baseline=request.baseline)
    answer = schemas.CheckOut(
        ok=report.ok,
        status=report.status,
        objectives=report.objectives,
        violations=[
            schemas.ViolationOut(rule=v.rule, name=v.name, message=v.message) for v in report.violations
        ],
    )
    return Answered(answer.model_dump(mode="json"))


def _explain(body: bytes, content_type: str, limits: Limits) -> Outcome:
    from allocator.explanations import plan_of_solution

    problems = _Problems()
    request, read_instance, options = _read(body, content_type, schemas.ExplainRequest, problems)
    spec_options = _limited(options, limits, problems)
    solution = request.solution if request is not None else None
    if read_instance is not None and isinstance(solution, dict):
        with problems.gather():
            plan_of_solution(read_instance.instance, solution, "solution")
    if (refused := problems.refused()) is not None:
        return refused
    spec = {"instance": read_instance.document, "solution": solution, "options": spec_options}
    return _queued("explain", read_instance.instance.name, spec)


def _limited(
    options: schemas.JobOptions | None, limits: Limits, problems: _Problems
) -> dict[str, Any] | None:
    if options is None:
        return None
    with problems.gather():
        return job_options(options, limits)
    return None


def _replan(body: bytes, content_type: str, limits: Limits) -> Outcome:
    from allocator.replanning.plan import checked_replan

    problems = _Problems()
    request, read_instance, options = _read(body, content_type, schemas.ReplanRequest, problems)
    spec_options = _limited(options, limits, problems)
    if read_instance is not None and request is not None:
        with problems.gather():
            checked_replan(
                read_instance.instance,
                request.baseline,
                request.from_,
                request.objectives,
                request.max_changes,
                "baseline",
            )
    if (refused := problems.refused()) is not None:
        return refused
    assert request is not None
    spec = {
        "instance": read_instance.document,
        "baseline": request.baseline,
        "from": request.from_,
        "objectives": request.objectives,
        "max_changes": request.max_changes,
        "options": spec_options,
    }
    return _queued("replan", read_instance.instance.name, spec)


_ROUTES: dict[str, Callable[[bytes, str, Limits], Outcome]] = {
    "solve": _solve,
    "validate": _validate,
    "check": _check,
    "explain": _explain,
    "replan": _replan,
}


def _reader_setup(memory: int | None) -> None:
    """A reader process: Ctrl-C is the service's to handle; what reading needs imported before
    the first request comes (a second of imports); its data at most `memory` bytes."""
    import allocator.checker
    import allocator.explanations
    import allocator.replanning.plan
    import allocator.service.inputs
    import allocator.solution.summary  # noqa: F401
    from allocator.service.work import ignore_interrupt

    ignore_interrupt()
    if memory is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        limit = memory if hard == resource.RLIM_INFINITY else min(memory, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def _ready() -> bool:
    return True


# in the web process ----------------------------------------------------------------------------
class Busy(Exception):
    """Every reader is busy and as many reads wait as the service allows."""


@dataclass
class Readers:
    """The service's reader processes: `processes` reads at once, each given `seconds` and
    `memory` bytes (beyond: 413, and the process is replaced).

    A large body (more than `small` bytes) may take all readers but one: small bodies, which are
    quick to read, always have a reader and never wait behind large ones.  At most `waiting` large
    and `small_waiting` small bodies wait for a reader; beyond, :class:`Busy`."""

    processes: int = 2
    waiting: int = 4
    seconds: float = 10.0
    memory: int | None = 2 * 1024**3
    small: int = SMALL_BODY
    small_waiting: int = 64
    _pool: Any = field(default=None, init=False, repr=False)
    _reads: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0}, init=False, repr=False)
    _large: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self) -> None:
        """Start the reader processes (every one at the first task: one is run and waited for)."""
        import pebble

        self._pool = pebble.ProcessPool(
            max_workers=self.processes,
            max_tasks=READS_PER_PROCESS,
            initializer=_reader_setup,
            initargs=(self.memory,),
            context=multiprocessing.get_context("spawn"),
        )
        self._pool.schedule(_ready).result(timeout=120)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.stop()
            self._pool.join(timeout=10)

    @property
    def large_readers(self) -> int:
        """Readers that large bodies may take at once."""
        return max(1, self.processes - 1)

    async def read(self, route: str, body: bytes, content_type: str, limits: Limits) -> Outcome:
        """Read a request's body in a reader process (:func:`read`)."""
        large = len(body) > self.small
        room = self.large_readers + self.waiting if large else self.processes + self.small_waiting
        with self._lock:
            if self._reads[large] >= room:
                raise Busy
            self._reads[large] += 1
        try:
            if not large:
                return await self._read(route, body, content_type, limits)
            if self._large is None:
                self._large = asyncio.Semaphore(self.large_readers)
            async with self._large:
                return await self._read(route, body, content_type, limits)
        finally:
            with self._lock:
                self._reads[large] -= 1

    async def _read(self, route: str, body: bytes, content_type: str, limits: Limits) -> Outcome:
        import pebble

        future = self._pool.schedule(read, (route, body, content_type, limits), timeout=self.seconds)
        try:
            return await asyncio.wrap_future(future)
        except concurrent.futures.TimeoutError:
            log.warning("a %s request took more than %g s to read: refused", route, self.seconds)
            return Refused(TOO_LONG_TO_READ.format(seconds=self.seconds), 413)
        except pebble.ProcessExpired as exc:
            log.warning("a %s request ended its reader process (%s): refused", route, exc)
            return Refused(TOO_BIG_TO_READ, 413)
