"""The parts of an instance: horizon, nations, capabilities, offers, tasks (with requirements and
lead).  Each is validated on its own by pydantic; checks across parts are in
:mod:`allocator.instance.validation`.  Every key is described in ``docs/instance-format.md``.
"""

from __future__ import annotations

import datetime as _dt

from pydantic import Field, field_validator

from allocator.instance.fields import (
    MAX_AMOUNT,
    MAX_NATIONS,
    MAX_PERIODS,
    MAX_REQUIREMENTS,
    MAX_TASKS,
    MAX_UNITS,
    MAX_WEIGHT,
    MIN_WEIGHT,
    MONTH,
    Frozen,
    Id,
    OptionalText,
    Text,
    Window,
)


class Horizon(Frozen):
    periods: int = Field(ge=1, le=MAX_PERIODS)
    unit: Text = "month"
    start: OptionalText = None

    @property
    def first_month(self) -> tuple[int, int] | None:
        """(year, month) of period 1 when periods are months from a start written YYYY-MM."""
        match = MONTH.fullmatch(self.start or "")
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
    name: OptionalText = None
    share: float = Field(default=1.0, ge=MIN_WEIGHT, le=MAX_WEIGHT, allow_inf_nan=False)
    max_personnel: float | None = Field(default=None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False)
    budget: float | None = Field(default=None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False)

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
    personnel: float = Field(default=0.0, ge=0, le=MAX_AMOUNT, allow_inf_nan=False)
    cost: float = Field(default=0.0, ge=0, le=MAX_AMOUNT, allow_inf_nan=False)
    available: Window | None = None
    min_tour: int = Field(default=1, ge=1, le=MAX_PERIODS)
    max_tour: int | None = Field(default=None, ge=1, le=MAX_PERIODS)
    min_rest: int = Field(default=0, ge=0, le=MAX_PERIODS)
    tasks: tuple[Id, ...] | None = Field(default=None, max_length=MAX_TASKS)


class Requirement(Frozen):
    capability: Id
    units: int = Field(ge=0, le=MAX_UNITS)
    periods: Window | None = None


class Lead(Frozen):
    nations: tuple[Id, ...] = Field(min_length=1, max_length=MAX_NATIONS)
    term: int = Field(ge=1, le=MAX_PERIODS)
    first: Id | None = None
    rotate: bool = True
    contribution: int = Field(default=1, ge=0, le=MAX_UNITS)


class Task(Frozen):
    id: Id
    name: OptionalText = None
    domain: OptionalText = None
    active: Window | None = None
    priority: float = Field(default=1.0, ge=MIN_WEIGHT, le=MAX_WEIGHT, allow_inf_nan=False)
    requirements: tuple[Requirement, ...] = Field(min_length=1, max_length=MAX_REQUIREMENTS)
    min_nations: int = Field(default=0, ge=0, le=MAX_NATIONS)
    max_nations: int | None = Field(default=None, ge=1, le=MAX_NATIONS)
    lead: Lead | None = None
