"""The model behind explanations: every rule instance behind a switch that can turn it off.

The rows are the formulation's own (:mod:`allocator.formulation.rules`), built over
:class:`RelaxableFlowStructure` (tours of every length, held by the ``tour-length`` rows) and
without objectives.  Each row of a rule instance (SPEC section 3 names, ``docs/rules.md``) holds
only while that instance's literal is true; rows a formulation adds of its own (links, cuts) always
hold.  A set of rule instances *can hold together* when the model with exactly their literals
assumed true is feasible.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from allocator.backends.cpsat import add_row
from allocator.formulation.build import formulate
from allocator.formulation.linear import LinearModel, Row
from allocator.formulation.rules import Formulation
from allocator.formulation.structure import RelaxableFlowStructure
from allocator.instance.index import Index
from allocator.instance.model import Instance
from allocator.options import Status

log = logging.getLogger(__name__)

#: Rule families whose instances an explanation may name (SPEC section 3); `demand` and
#: `min-nations` only under hard shortfall (soft, they are measured, not required).
RULE_FAMILIES = (
    "demand",
    "min-nations",
    "max-nations",
    "personnel-cap",
    "budget",
    "unit-capacity",
    "tour-length",
    "lead-one",
    "lead-first",
    "lead-rotate",
    "lead-contribution",
)
SOFT_WHEN_SOFT = frozenset({"demand", "min-nations"})
#: CP-SAT's linearization level for checks (2: every constraint in its LP).
CHECK_LINEARIZATION = 2
#: Among relaxations of one size, those that keep requirements (`demand`, `min-nations`) win.
PREFER_KEPT = 2


def family(name: str) -> str:
    """The rule of a rule-instance name: ``budget[BE]`` -> ``budget``."""
    return name.split("[", 1)[0]


@dataclass(frozen=True)
class Answer:
    """A feasibility check: its status, the rule instances of an infeasibility core (a subset of
    those assumed), or the plan's variable values when feasible."""

    status: Status
    core: tuple[str, ...] = ()
    values: tuple[int, ...] | None = None


class RelaxableModel:
    """A CP-SAT model of the instance's hard rules, one literal per rule instance."""

    def __init__(self, instance: Instance, seed: int = 0, threads: int | None = None):
        self.instance = instance
        self.index = Index.of(instance)
        self.seed = seed
        self.threads = threads or 0
        self.formulation: Formulation = formulate(
            instance, structure=RelaxableFlowStructure.build(self.index)
        )
        self.formulation.objective_builders = {}
        self.model = cp_model.CpModel()
        self.model.name = f"explain:{instance.name}"
        self.vars: list[cp_model.IntVar] = []
        self.literals: dict[str, cp_model.IntVar] = {}
        #: the rows of each rule instance
        self.rows: dict[str, list[Row]] = {}
        hard = instance.spec.shortfall == "hard"
        self.families = frozenset(f for f in RULE_FAMILIES if hard or f not in SOFT_WHEN_SOFT)
        linear = self.formulation.model
        for row in self.formulation.rows():
            self._add_variables(linear)
            self._add(row)
        self._add_variables(linear)
        self.names = sorted(self.literals)  # deterministic order of every rule instance
        self._by_index = {lit.index: name for name, lit in self.literals.items()}

    def _add_variables(self, linear: LinearModel) -> None:
        for v in linear.variables[len(self.vars) :]:
            self.vars.append(
                self.model.new_bool_var(v.label) if v.boolean else self.model.new_int_var(0, v.up, v.label)
            )

    def _add(self, row: Row) -> None:
        if row.name is None or family(row.name) not in self.families:
            add_row(self.model, self.vars, row)
            return
        literal = self.literals.get(row.name)
        if literal is None:
            literal = self.literals[row.name] = self.model.new_bool_var(f"holds:{row.name}")
        self.rows.setdefault(row.name, []).append(row)
        add_row(self.model, self.vars, row, [literal])

    def check(self, enforced: Collection[str], seconds: float, *, presolve: bool = True) -> Answer:
        """Whether the rule instances `enforced` (and every row that is no rule instance) can hold
        together; an infeasible answer carries a core among them.

        Every other rule instance is assumed dropped: a dropped rule can only help, so this
        decides the same question as leaving it free, on a much smaller problem.  Assumptions
        make CP-SAT search with one worker.  With presolve on, a core may name a literal that
        was not assumed (OR-Tools issue 5141): only assumed rule instances are kept, and such a
        core is a hint, to be confirmed by a check of its own (:func:`find_conflict` does);
        with presolve off it is exact.  The status is exact either way.
        """
        chosen = set(enforced)
        self.model.clear_assumptions()
        self.model.add_assumptions(
            [self.literals[name] if name in chosen else ~self.literals[name] for name in self.names]
        )
        solver = self._solver(seconds, workers=1)
        solver.parameters.cp_model_presolve = presolve
        # the LP relaxation proves most of these infeasible at once (demand against capacity):
        # a minimal conflict of medium-size instances in seconds instead of minutes
        solver.parameters.linearization_level = CHECK_LINEARIZATION
        status = solver.solve(self.model)
        if status == cp_model.INFEASIBLE:
            found = (self._by_index.get(i) for i in solver.sufficient_assumptions_for_infeasibility())
            return Answer(Status.INFEASIBLE, tuple(sorted(n for n in found if n in chosen)))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Answer(Status.FEASIBLE, values=self._values(solver))
        return Answer(Status.UNKNOWN)

    def fewest_dropped(
        self, seconds: float, avoid: Sequence[Collection[str]] = ()
    ) -> tuple[Status, list[str], tuple[int, ...] | None]:
        """A smallest set of rule instances whose removal lets the rest hold (a minimum correction
        set) keeping every rule instance of the sets in `avoid`; its status says whether it is
        proven smallest."""
        model = self.model.clone()
        model.clear_assumptions()
        literals = [model.get_bool_var_from_proto_index(self.literals[name].index) for name in self.names]
        position = {name: i for i, name in enumerate(self.names)}
        for dropped in avoid:
            for name in dropped:
                model.add(literals[position[name]] == 1)
        # fewest dropped first; among as few, keep requirements rather than data limits
        weights = [PREFER_KEPT if family(name) in SOFT_WHEN_SOFT else 1 for name in self.names]
        model.maximize(cp_model.LinearExpr.weighted_sum(literals, [len(literals) * 2 + w for w in weights]))
        solver = self._solver(seconds, workers=self.threads)
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            kind = Status.INFEASIBLE if status == cp_model.INFEASIBLE else Status.UNKNOWN
            return kind, [], None
        dropped_now = [
            name for name, lit in zip(self.names, literals, strict=True) if not solver.boolean_value(lit)
        ]
        values = self._values(solver)
        return Status.OPTIMAL if status == cp_model.OPTIMAL else Status.FEASIBLE, dropped_now, values

    def least_excess(self, dropped: Collection[str], seconds: float) -> tuple[int, ...] | None:
        """A plan with every rule instance but `dropped` holding, in which the dropped ones are
        exceeded as little as possible (the sum of each row's excess over its right-hand side)."""
        model = self.model.clone()
        model.clear_assumptions()
        variables = [model.get_int_var_from_proto_index(v.index) for v in self.vars]
        excess = []
        for name in self.names:
            literal = model.get_bool_var_from_proto_index(self.literals[name].index)
            model.add(literal == (name not in dropped))
        for name in sorted(dropped):
            for row in self.rows[name]:
                if not row.terms or row.sense == "==":
                    continue
                e = model.new_int_var(
                    0, sum(abs(c) for _, c in row.terms) * 10_000 + abs(row.rhs), f"excess:{name}"
                )
                expr = cp_model.LinearExpr.weighted_sum(
                    [variables[i] for i, _ in row.terms], [c for _, c in row.terms]
                )
                constraint = (
                    model.add(expr - e <= row.rhs) if row.sense == "<=" else model.add(expr + e >= row.rhs)
                )
                if row.when is not None:
                    variable, value = row.when
                    constraint.only_enforce_if(variables[variable] if value else ~variables[variable])
                excess.append(e)
        model.minimize(sum(excess))
        solver = self._solver(seconds, workers=self.threads)
        if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return tuple(int(solver.value(v)) for v in variables)

    def _solver(self, seconds: float, workers: int) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(seconds, 0.01)
        solver.parameters.random_seed = self.seed
        solver.parameters.num_workers = workers
        solver.parameters.catch_sigint_signal = False
        return solver

    def _values(self, solver: cp_model.CpSolver) -> tuple[int, ...]:
        return tuple(int(solver.value(v)) for v in self.vars)

    def left_side(self, name: str, values: Sequence[int]) -> int:
        """The largest sum of terms among the rule instance's rows in a plan (variable values)."""
        return max(sum(c * values[i] for i, c in row.terms) for row in self.rows[name])
