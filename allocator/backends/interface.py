"""What a backend offers the level loop: load a linear model, solve one level, bound a level."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from allocator.formulation.linear import LinearModel, Row, Terms
from allocator.formulation.rules import CHECK_ROWS, Formulation
from allocator.instance.index import Check
from allocator.options import ProgressCallback, Status, StopToken


@dataclass(frozen=True)
class Checkpoint:
    """A question asked `after` seconds of a level's search: go on? `keep_going` gets the best
    value found and the best bound so far (the level's integer units).  A backend that cannot ask
    mid-search ignores it."""

    after: float
    keep_going: Callable[[float, float], bool]


@dataclass(frozen=True)
class Level:
    """One lexicographic level to solve: minimise `terms` (value = sum / `scale`).

    `budget` is the level's share of the time and `remaining` all the time left (None: no limit);
    `warm` the previous level's solution (variable values in model order), which meets every
    earlier level's bound.  `checkpoint`, where given, may end the search early.
    """

    key: str
    number: int
    levels: int
    terms: Terms
    scale: int
    budget: float | None
    remaining: float | None
    warm: list[float] | None
    started: float
    progress: ProgressCallback | None
    stop: StopToken
    checkpoint: Checkpoint | None = None

    def value(self, values: Sequence[float]) -> float:
        """The level's objective (integer units) at a solution (variable values in model order)."""
        return terms_value(self.terms, values)


def terms_value(terms: Terms, values: Sequence[float]) -> float:
    """sum of coefficient x value over `terms`."""
    return sum(c * values[i] for i, c in terms)


@dataclass(frozen=True)
class LevelOutcome:
    """What the solver made of a level: a new solution (values in model order) or none, and a
    lower bound in the level's integer units (None: none known)."""

    status: Status
    values: list[float] | None = None
    bound: float | None = None


@dataclass(frozen=True)
class LpSolution:
    """A level's LP relaxation solved: the variables' values (model order) and its optimum."""

    values: Sequence[float]
    optimum: float

    @property
    def bound(self) -> float:
        """A lower bound of the level (:func:`whole_bound` of the optimum)."""
        return whole_bound(self.optimum)


#: The relative tolerance taken off an LP's value to make it a bound.
LP_TOLERANCE = 1e-6


def whole_bound(value: float) -> float:
    """An LP's bound of a level, as a level's bound: less the LP's tolerance, rounded up (a
    level's value is a whole number of its units: integer coefficients of integer variables)."""
    return float(math.ceil(value - LP_TOLERANCE * max(1.0, abs(value))))


class ModelSink(Protocol):
    """What takes in a model as its rows stream (:func:`stream_rows`): every backend."""

    def add_variables(self, model: LinearModel) -> None:
        """The variables `model` has gained since the last call."""

    def add_row(self, row: Row) -> None:
        """One row over the variables added so far."""

    def finish(self, model: LinearModel) -> None:
        """The stream has ended (every variable added)."""


class Tee:
    """One row stream into several sinks, each as if it had it alone."""

    def __init__(self, *sinks: ModelSink):
        self.sinks = sinks

    def add_variables(self, model: LinearModel) -> None:
        for sink in self.sinks:
            sink.add_variables(model)

    def add_row(self, row: Row) -> None:
        for sink in self.sinks:
            sink.add_row(row)

    def finish(self, model: LinearModel) -> None:
        for sink in self.sinks:
            sink.finish(model)


def stream_rows(model: LinearModel, rows: Iterable[Row], sink: ModelSink, check: Check | None = None) -> None:
    """Feed each row of a stream to `sink`, the variables it needs first (the stream may add
    variables to `model` as it goes), then finish it; `check` is called every CHECK_ROWS rows
    (a stream of held rows: a formulation's own stream calls its check itself)."""
    for count, row in enumerate(rows, start=1):
        if check is not None and not count % CHECK_ROWS:
            check()
        sink.add_variables(model)
        sink.add_row(row)
    sink.add_variables(model)
    sink.finish(model)


class Backend(Protocol):
    """A solver behind the level loop (:func:`allocator.backends.levels.solve_levels`)."""

    #: the name in solutions and on the command line: "auto", "cpsat", "cbc" or "highs"
    name: str

    def load(self, formulation: Formulation) -> None:
        """Build the solver's model: every variable of the formulation's model and every row it
        streams, in the order that suits the solver (:func:`stream_rows`)."""

    def solve_level(self, level: Level) -> LevelOutcome:
        """Minimise the level's terms within its time, starting from `level.warm` where given."""

    def add_bound(self, terms: Terms, rhs: int) -> None:
        """Keep a solved level at its value from now on: sum of `terms` <= `rhs`."""
