"""The solver-neutral model: integer variables, linear rows and objectives.

Every rule is written once as rows over this model (:mod:`allocator.formulation.rules`); a
backend only translates rows into its own constraints.  Variables are referred to by their
position in :attr:`LinearModel.variables`; the first ones are the structure's columns, in order,
so a column's position is its variable's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Terms = list[tuple[int, int]]  # (variable position, integer coefficient)
Sense = Literal["<=", ">=", "=="]


@dataclass(frozen=True)
class Variable:
    """An integer variable in 0..`up`.  `kind` is a one-letter tag (z column, y presence, l lead,
    u short units, v missing nations, b burden, B total burden, d deviation); `label` reads well in
    a model file.  A variable that is not `integral` takes integer values in every optimum anyway
    (a MILP may leave it continuous)."""

    kind: str
    label: str
    up: int
    integral: bool = True

    @property
    def boolean(self) -> bool:
        return self.integral and self.up == 1


@dataclass(frozen=True)
class Row:
    """sum of coefficient x variable over `terms`, `sense`, `rhs`; a rule instance when `name` is
    set (a definition otherwise).

    `when` = (variable, value): the row holds only while that 0/1 variable has that value.  A MILP
    writes it with a big-M: `largest` is the most the terms can sum to (needed for ``<=`` rows).
    Rows whose terms are all non-negative are the only ones enforced this way.

    `choice`: the row picks at most (``<=``) or exactly (``==``) one of its 0/1 variables; a backend
    with such constraints (CP-SAT) may write it as one.
    """

    name: str | None
    terms: Terms
    sense: Sense
    rhs: int
    when: tuple[int, int] | None = None
    largest: int | None = None
    choice: bool = False

    def unconditional(self) -> tuple[Terms, int]:
        """(terms, rhs) of the row as one that always holds, same sense: itself, or for a row held
        while a switch has a value (non-negative terms) its big-M form: `sum >= rhs` while 1 is
        `sum - rhs x switch >= 0`; `sum <= rhs` while 0 is `sum - (largest - rhs) x switch <= rhs`."""
        if self.when is None:
            return self.terms, self.rhs
        switch, value = self.when
        if self.sense == ">=" and value == 1:
            return [*self.terms, (switch, -self.rhs)], 0
        if self.sense == "<=" and value == 0 and self.largest is not None:
            return [*self.terms, (switch, -(self.largest - self.rhs))], self.rhs
        raise ValueError(f"no big-M form for row {self.name} ({self.sense} while {value})")

    def holds_without_terms(self) -> bool:
        """Whether the row holds when its terms sum to 0 (for a row with no terms)."""
        return {"<=": self.rhs >= 0, ">=": self.rhs <= 0, "==": self.rhs == 0}[self.sense]


@dataclass(frozen=True)
class Objective:
    """An objective as integer terms: objective value = (sum of terms) / scale."""

    terms: Terms
    scale: int


@dataclass
class LinearModel:
    """Variables and objectives of one instance under one formulation, in a fixed order; its rows
    stream from :meth:`allocator.formulation.rules.Formulation.rows` into a backend, never held
    all at once (on the largest instances they would double the memory of building)."""

    name: str
    formulation: str
    columns: int
    variables: list[Variable] = field(default_factory=list)
    #: rows produced so far
    row_count: int = 0
    objectives: dict[str, Objective] = field(default_factory=dict)
    #: (nation, task, period) -> position of the presence variable
    presence: dict[tuple[int, int, int], int] = field(default_factory=dict)
    #: (task, term, nation) -> position of the lead variable
    lead: dict[tuple[int, int, int], int] = field(default_factory=dict)

    def add_variable(self, kind: str, label: str, up: int, integral: bool = True) -> int:
        self.variables.append(Variable(kind, label, up, integral))
        return len(self.variables) - 1

    def leads(self, values: list[float]) -> dict[tuple[int, int], int]:
        """(task, term) -> leading nation, in a solution (variable values in model order)."""
        return {(t, k): n for (t, k, n), i in self.lead.items() if values[i] > 0.5}

    def column_values(self, values: list[float]) -> list[int]:
        return [round(v) for v in values[: self.columns]]
