"""What a backend offers the level loop: load a linear model, solve one level, bound a level."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from allocator.formulation.linear import LinearModel, Row, Terms
from allocator.options import ProgressCallback, Status, StopToken


@dataclass(frozen=True)
class Level:
    """One lexicographic level to solve: minimise `terms` (value = sum / `scale`).

    `budget` is the level's share of the time and `remaining` all the time left (None: no limit);
    `warm` the previous level's solution (variable values in model order), which meets every
    earlier level's bound.
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


@dataclass(frozen=True)
class LevelOutcome:
    """What the solver made of a level: a new solution (values in model order) or none, and a
    lower bound in the level's integer units (None: none known)."""

    status: Status
    values: list[float] | None = None
    bound: float | None = None


class Backend(Protocol):
    """A solver behind the level loop (:func:`allocator.backends.levels.solve_levels`)."""

    #: the name in solutions and on the command line: "cpsat", "cbc" or "highs"
    name: str
    #: the order of the rule rows it loads (row builders' names), or None: registration order
    row_order: tuple[str, ...] | None

    def load(self, model: LinearModel, rows: Iterable[Row]) -> None:
        """Build the solver's model: every variable of `model` and every row of `rows` (before
        each row, the variables `model` has gained since the last one)."""

    def solve_level(self, level: Level) -> LevelOutcome:
        """Minimise the level's terms within its time, starting from `level.warm` where given."""

    def add_bound(self, terms: Terms, rhs: int) -> None:
        """Keep a solved level at its value from now on: sum of `terms` <= `rhs`."""
