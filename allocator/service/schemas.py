"""The service's requests and answers as pydantic models, and the solution format's JSON Schema.

An instance travels as a JSON object validated by allocator's own instance reader (not by these
models), so that the service names a bad place exactly as the command line does.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from allocator.options import BACKENDS

JobKind = Literal["solve", "explain", "replan"]
JobStatus = Literal["queued", "running", "done", "failed", "stopped"]
Backend = Literal[BACKENDS]  # type: ignore[valid-type]

INSTANCE_SCHEMA = "/v1/schema/instance"
SOLUTION_SCHEMA = "/v1/schema/solution"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobOptions(_Strict):
    """How a job's search runs, as the command line's options of the same names."""

    backend: Backend = Field("auto", description="auto (CP-SAT and HiGHS), cpsat, cbc or highs")
    time_limit: float | None = Field(
        None, gt=0, description="seconds for the whole search (the service's default and maximum apply)"
    )
    threads: int | None = Field(
        None, ge=1, description="search threads (at most the service's --job-threads)"
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="the solvers' random seed")
    model: str | None = Field(
        None, max_length=100, description="a named model replacing the instance's (GET /v1/models lists them)"
    )


def _instance_field(description: str) -> Any:
    return Field(..., description=f"{description}; its JSON Schema: GET {INSTANCE_SCHEMA}")


def _document_field(description: str, required: bool = True) -> Any:
    return Field(
        ... if required else None, description=f"{description}; its JSON Schema: GET {SOLUTION_SCHEMA}"
    )


class SolveRequest(_Strict):
    instance: dict[str, Any] = _instance_field("an instance document")
    options: JobOptions = Field(default_factory=JobOptions)


class ValidateRequest(_Strict):
    instance: dict[str, Any] = _instance_field("an instance document")
    model: str | None = Field(None, max_length=100, description="a named model replacing the instance's")


class CheckRequest(_Strict):
    instance: dict[str, Any] = _instance_field("the instance the solution was made for")
    solution: dict[str, Any] = _document_field("a solution document")
    baseline: dict[str, Any] | None = _document_field(
        "the baseline of a re-planned solution (required for one)", required=False
    )


class ExplainRequest(_Strict):
    instance: dict[str, Any] = _instance_field("the instance to explain")
    solution: dict[str, Any] | None = _document_field(
        "a plan to explain (solved first when absent or without a plan)", required=False
    )
    options: JobOptions = Field(default_factory=JobOptions)


class ReplanRequest(_Strict):
    instance: dict[str, Any] = _instance_field("the data as they stand now")
    baseline: dict[str, Any] = _document_field("the solution of the plan being executed")
    from_: int = Field(..., alias="from", ge=2, description="the first period the new plan may change")
    objectives: list[str] | None = Field(
        None, max_length=20, description="levels replacing the default (shortfall, changes, then the model's)"
    )
    max_changes: int | None = Field(None, ge=0, description="changes <= max_changes as a hard rule")
    options: JobOptions = Field(default_factory=JobOptions)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProblemOut(BaseModel):
    """One thing wrong with an input: its source (the request part or file), the place inside it
    and what is wrong; `text` is the command line's line for it."""

    source: str
    place: str
    message: str
    text: str


class ErrorOut(BaseModel):
    detail: str | list[ProblemOut]


class Progress(BaseModel):
    """The running search: the level (objective) being solved, its number of `levels`, the best
    value found and best bound proven at that level, and seconds since the job started."""

    level: str | None = None
    level_number: int | None = None
    levels: int | None = None
    incumbent: float | None = None
    bound: float | None = None
    elapsed: float | None = None


class JobOut(BaseModel):
    """A job: what it is, where it stands, and where to fetch what it made."""

    id: str
    kind: JobKind
    status: JobStatus
    instance: str | None = Field(None, description="the instance's name")
    created: str
    started: str | None = None
    finished: str | None = None
    progress: Progress | None = None
    result_status: str | None = Field(None, description="the solution's or explanation's status")
    verified: bool | None = Field(None, description="whether the checker accepted the plan")
    reason: str | None = Field(None, description="why the job failed or stopped")
    links: dict[str, str] = Field(default_factory=dict)


class JobList(BaseModel):
    jobs: list[JobOut]


class ViolationOut(BaseModel):
    """A broken rule: its family (`rule`), the rule instance (`name`, as `personnel-cap[FR@3]`,
    where the rule has instances) and what is wrong."""

    rule: str
    name: str | None = None
    message: str


class CheckOut(BaseModel):
    ok: bool
    status: str
    objectives: dict[str, float]
    violations: list[ViolationOut]


class SupplyRow(BaseModel):
    """A capability's units required at the peak period against the units offered; `short_by`
    units more are required than available in `short_periods` (0 and "" when supply suffices)."""

    capability: str
    required_peak: int
    offered: int
    short_by: int
    short_periods: str


class ValidateOut(BaseModel):
    valid: Literal[True] = True
    instance: str
    nations: int
    tasks: int
    offers: int
    periods: int
    supply: list[SupplyRow]
    warnings: list[str] = Field(..., description="what `allocator validate` warns about, in its words")


class ModelList(BaseModel):
    models: list[str]


# The solution format (SPEC section 4), for its JSON Schema and to check what the service serves.
class Assignment(BaseModel):
    offer: str
    unit: int = Field(..., ge=1)
    task: str
    start: int = Field(..., ge=1)
    end: int = Field(..., ge=1)


class Lead(BaseModel):
    task: str
    nation: str
    start: int = Field(..., ge=1)
    end: int = Field(..., ge=1)


class ShortfallRecord(BaseModel):
    task: str
    period: int = Field(..., ge=1)
    capability: str | None = None
    units: int | None = Field(None, ge=1)
    nations: int | None = Field(None, ge=1)


class ReplanRecord(BaseModel):
    baseline: str
    from_: int = Field(..., alias="from", ge=2)
    baseline_digest: str | None = None


class SolverRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    backend: str
    wall_time: float = Field(..., ge=0)
    bounds: dict[str, float]


class SolutionDocument(BaseModel):
    """A solution (``docs/solution-format.md``): a plan when `status` is optimal or feasible."""

    model_config = ConfigDict(extra="forbid", title="allocator solution")

    instance: str
    status: Literal["optimal", "feasible", "infeasible", "unknown"]
    replan: ReplanRecord | None = None
    objectives: dict[str, float] | None = None
    assignments: list[Assignment] | None = None
    leads: list[Lead] | None = None
    shortfalls: list[ShortfallRecord] | None = None
    changes: list[dict[str, Any]] | None = None
    solver: SolverRecord
