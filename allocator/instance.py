"""The instance: one validated, immutable aggregate (SPEC section 2).

Structural checks (types, ranges, unknown keys) are pydantic's; cross-reference checks live in
:mod:`allocator.validation`.  Derived indices are computed once, in :mod:`allocator.indices`.
"""

from __future__ import annotations

import datetime as _dt
import re
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

if TYPE_CHECKING:
    from allocator.indices import Index

#: Largest horizon accepted: far above any plausible plan (10 years of weeks), far below
#: what would exhaust memory.
MAX_PERIODS = 1000
#: Largest number of identical units in one offer.
MAX_UNITS = 100_000

_MONTH = re.compile(r"(\d{4})-(0?[1-9]|1[0-2])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters (tab, newline, escape, ...) are not allowed in an id")
    return value


def _no_control_in_text(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("control characters (other than tab and newline) are not allowed")
    return value


#: An id: 1 to 200 characters, none of them a control character (ids reach terminals and workbooks).
Id = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_control)]
#: Free text (names, labels): at most 2,000 characters, no control characters but tab and newline.
Text = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_control_in_text)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$")]
Window = tuple[int, int]
OBJECTIVE_NAMES = ("shortfall", "fairness", "deployments", "cost")


class Frozen(BaseModel):
    """Base: immutable, unknown keys rejected, no true/false where a number belongs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: object, info: ValidationInfo) -> object:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _numeric(field.annotation):
            raise ValueError("must be a number, not true or false")
        return value


def _numeric(annotation: object) -> bool:
    """int, float, or either of them or None."""
    return annotation in (int, float) or set(get_args(annotation)) in ({int, type(None)}, {float, type(None)})


class Horizon(Frozen):
    periods: int = Field(ge=1, le=MAX_PERIODS)
    unit: Text = "month"
    start: Text | None = None

    @property
    def first_month(self) -> tuple[int, int] | None:
        """(year, month) of period 1 when periods are months from a start written YYYY-MM."""
        match = _MONTH.fullmatch(self.start or "")
        if self.unit != "month" or match is None:
            return None
        return int(match[1]), int(match[2])

    @field_validator("start", mode="before")
    @classmethod
    def _start_as_text(cls, value: object) -> object:
        if isinstance(value, _dt.date | int):
            return str(value)
        return value


class Nation(Frozen):
    id: Id
    name: Text | None = None
    share: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    max_personnel: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    budget: float | None = Field(default=None, ge=0, allow_inf_nan=False)

    @property
    def label(self) -> str:
        return self.name or self.id


class Capability(Frozen):
    id: Id
    domain: Text


class Offer(Frozen):
    id: Id
    nation: Id
    capability: Id
    units: int = Field(ge=1, le=MAX_UNITS)
    personnel: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    cost: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    available: Window | None = None
    min_tour: int = Field(default=1, ge=1)
    max_tour: int | None = Field(default=None, ge=1)
    min_rest: int = Field(default=0, ge=0)
    tasks: tuple[Id, ...] | None = None


class Requirement(Frozen):
    capability: Id
    units: int = Field(ge=0, le=MAX_UNITS)
    periods: Window | None = None


class Lead(Frozen):
    nations: tuple[Id, ...] = Field(min_length=1)
    term: int = Field(ge=1)
    first: Id | None = None
    rotate: bool = True
    contribution: int = Field(default=1, ge=0)


class Task(Frozen):
    id: Id
    name: Text | None = None
    domain: Text | None = None
    active: Window | None = None
    priority: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    requirements: tuple[Requirement, ...] = Field(min_length=1)
    min_nations: int = Field(default=0, ge=0)
    max_nations: int | None = Field(default=None, ge=1)
    lead: Lead | None = None


Level = str | dict[str, float]


class ModelSpec(Frozen):
    """What is hard, what is soft, what is optimised (SPEC section 2, "The model")."""

    name: Text | None = None
    description: Text | None = None
    shortfall: Literal["soft", "hard"] = "soft"
    fairness: Literal["units", "personnel", "cost"] = "units"
    objectives: tuple[Level, ...] = ("shortfall", "fairness", "deployments", "cost")

    @property
    def levels(self) -> tuple[tuple[tuple[str, float], ...], ...]:
        """Each level as ((objective, weight), ...), in lexicographic order."""
        out: list[tuple[tuple[str, float], ...]] = []
        for level in self.objectives:
            if isinstance(level, str):
                out.append(((level, 1.0),))
            else:
                out.append(tuple(level.items()))
        return tuple(out)

    @property
    def objective_names(self) -> tuple[str, ...]:
        """Every objective the model names, in level order."""
        return tuple(name for level in self.levels for name, _ in level)

    @staticmethod
    def level_key(level: tuple[tuple[str, float], ...]) -> str:
        """The key of a level in `solver.bounds`: its objective names joined with '+'."""
        return "+".join(name for name, _ in level)


class Instance(Frozen):
    name: Name
    horizon: Horizon
    nations: tuple[Nation, ...] = Field(min_length=1)
    capabilities: tuple[Capability, ...] = Field(min_length=1)
    offers: tuple[Offer, ...] = ()
    tasks: tuple[Task, ...] = Field(min_length=1)
    model: str | ModelSpec | None = None

    @property
    def periods(self) -> int:
        return self.horizon.periods

    @cached_property
    def index(self) -> Index:
        """Derived indices (id lookups, demand arrays, eligible pairs, lead terms), built once."""
        from allocator.indices import Index

        return Index(self)

    @property
    def spec(self) -> ModelSpec:
        """The resolved model (the loader replaces a model name by its definition)."""
        if isinstance(self.model, ModelSpec):
            return self.model
        from allocator.catalog import resolve_model

        return resolve_model(self.model)
