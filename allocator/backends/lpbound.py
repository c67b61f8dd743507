"""A level's bound from the LP relaxation of the whole model, for CP-SAT on models too large for
its LP workers.

CP-SAT without LP workers (above ``LP_WORKERS_MAX_VARIABLES`` columns) proves no bound worth
reading on the large instances: 0 for the shortfall, where plans are in the thousands.  The LP
relaxation of the same rows does: HiGHS's interior point method (no crossover) solves that of the
large set's flow models in about 60-80 s on one core, while CP-SAT searches.  The rows are
gathered as they stream into CP-SAT (:class:`LpRelaxation` is a second sink), a row held only
while a 0/1 variable has a value is written with its big-M (:meth:`Row.unconditional`), and every
variable keeps its bounds ``0 <= x <= up`` (valid for every plan, so the LP stays a relaxation).

The bound does not trust the LP solver's status: from any row duals ``y`` (here HiGHS's, optimal or
not), weak duality gives, for ``min c'x`` over ``L <= Ax <= U``, ``0 <= x <= u``,

    g(y) = sum_i (y_i L_i if y_i > 0 else y_i U_i) + sum_j min(0, c_j - (A'y)_j) u_j  <=  c'x*,

with ``y_i`` set to 0 where the side it needs is infinite.  The level's terms are integers over
integer variables, so the bound is rounded up to the next integer (less a tolerance for rounding).
"""

from __future__ import annotations

import logging
import math
import threading
from array import array

import highspy
import numpy as np

from allocator.backends.interface import whole_bound
from allocator.backends.milp import highs_threads, quiet_stdout
from allocator.formulation.linear import LinearModel, Row, Terms

log = logging.getLogger(__name__)

#: The interior point method's pace beside a CP-SAT search (measured on the large set: 1.5 million
#: non-zeros in 70-130 s) ...
NONZEROS_PER_SECOND = 15_000
#: ... and the share of a level it may take: the relaxation runs beside a level only when it should
#: end within that share, leaving the rest for the search near its solution.
LEVEL_SHARE = 0.6


def rowwise_highs(
    cost: np.ndarray,
    upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    starts: np.ndarray,
    index: np.ndarray,
    value: np.ndarray,
    time_limit: float | None,
) -> highspy.Highs:
    """A quiet HiGHS holding ``min cost'x`` over ``row_lower <= Ax <= row_upper``, ``0 <= x <=
    upper`` (A row by row: `starts`, `index`, `value`), with a time limit; one thread where it is
    the process's first HiGHS run (:func:`highs_threads`)."""
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = len(cost), len(row_lower)
    model.col_cost_, model.col_lower_, model.col_upper_ = cost, np.zeros(len(cost)), upper
    model.row_lower_, model.row_upper_ = row_lower, row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    model.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
    model.a_matrix_.value_ = np.asarray(value, dtype=np.float64)
    with quiet_stdout(True):  # HiGHS prints a banner when constructed
        solver = highspy.Highs()
    solver.setOptionValue("output_flag", False)
    threads = highs_threads(1)
    if threads is not None:
        solver.setOptionValue("threads", threads)
    if time_limit is not None:
        solver.setOptionValue("time_limit", max(time_limit, 0.01))
    solver.passModel(model)
    return solver


class LpRelaxation:
    """The model's LP relaxation, gathered from the row stream (a :class:`ModelSink`).

    With `time_limit`, gathering stops (and what was gathered is freed) once the LP has more
    non-zeros than could be solved in that time (:meth:`fits`): no level is longer."""

    def __init__(self, time_limit: float | None = None) -> None:
        self.most = None if time_limit is None else _solvable_nonzeros(time_limit)
        self.abandoned = False
        self.upper = array("d")
        self.starts = array("q", [0])
        self.index = array("i")
        self.value = array("d")
        self.lower_side = array("d")
        self.upper_side = array("d")

    def add_variables(self, model: LinearModel) -> None:
        self.upper.extend(float(v.up) for v in model.variables[len(self.upper) :])

    def add_row(self, row: Row) -> None:
        if not row.terms:  # nothing for an LP to hold; an empty row that fails shows in the search
            return
        terms, rhs = row.unconditional()
        low = -math.inf if row.sense == "<=" else float(rhs)
        high = math.inf if row.sense == ">=" else float(rhs)
        self._append(terms, low, high)

    def finish(self, model: LinearModel) -> None:
        self.add_variables(model)

    def _append(self, terms: Terms, low: float, high: float) -> None:
        if self.abandoned:
            return
        if self.most is not None and len(self.index) + len(terms) > self.most:
            self.abandoned = True
            self.starts, self.index, self.value = array("q", [0]), array("i"), array("d")
            self.lower_side, self.upper_side = array("d"), array("d")
            return
        self.index.extend(i for i, _ in terms)
        self.value.extend(float(c) for _, c in terms)
        self.starts.append(len(self.index))
        self.lower_side.append(low)
        self.upper_side.append(high)

    def fits(self, seconds: float | None) -> bool:
        """Whether the LP should be solved within :data:`LEVEL_SHARE` of a level of `seconds`."""
        return not self.abandoned and (seconds is None or len(self.index) <= _solvable_nonzeros(seconds))

    def start(self, terms: Terms, time_limit: float) -> RunningBound:
        """Minimise `terms` over the relaxation in a thread of its own (one core)."""
        return RunningBound(self, terms, time_limit)


def _solvable_nonzeros(seconds: float) -> float:
    """The most non-zeros an LP solved within :data:`LEVEL_SHARE` of `seconds` may have."""
    return NONZEROS_PER_SECOND * LEVEL_SHARE * seconds


class RunningBound:
    """One LP solve in the background; :meth:`result` waits for it and gives the bound."""

    def __init__(self, lp: LpRelaxation, terms: Terms, time_limit: float):
        self.cost = np.zeros(len(lp.upper))
        for i, c in terms:
            self.cost[i] += c
        # views of the gathered arrays (which can then grow no more: start the LP once they are whole)
        self.upper = np.frombuffer(lp.upper, dtype=np.float64)
        self.row_lower = np.frombuffer(lp.lower_side, dtype=np.float64)
        self.row_upper = np.frombuffer(lp.upper_side, dtype=np.float64)
        starts = np.frombuffer(lp.starts, dtype=np.int64)
        self.index = np.frombuffer(lp.index, dtype=np.int32)
        self.value = np.frombuffer(lp.value, dtype=np.float64)
        self.row_of = np.repeat(np.arange(len(starts) - 1), np.diff(starts))
        self.solver = rowwise_highs(
            self.cost, self.upper, self.row_lower, self.row_upper, starts, self.index, self.value, time_limit
        )
        self.solver.setOptionValue("solver", "ipm")
        self.solver.setOptionValue("run_crossover", "off")
        self.solver.HandleUserInterrupt = True  # without it, cancelSolve() is ignored
        self.thread = threading.Thread(target=self.solver.run, name="lp-bound", daemon=True)
        self.thread.start()

    def cancel(self) -> None:
        self.solver.cancelSolve()

    @property
    def solved(self) -> bool:
        """Whether the LP has stopped with a solution worth searching near: its optimum, or an
        imprecise end of the interior point method (status unknown) with a valid solution."""
        if self.thread.is_alive():
            return False
        status = self.solver.getModelStatus()
        ended = status in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kUnknown)
        return ended and bool(self.solver.getSolution().value_valid)

    def values(self) -> np.ndarray:
        """The LP's solution (variables in model order), once solved."""
        return np.asarray(self.solver.getSolution().col_value, dtype=np.float64)

    def result(self) -> float | None:
        """The bound (the level's integer units), once the LP has stopped; None without duals.
        Duals of an unfinished solve still give a bound (often a weak one)."""
        self.thread.join()
        status = self.solver.modelStatusToString(self.solver.getModelStatus())
        duals = np.asarray(self.solver.getSolution().row_dual, dtype=np.float64)
        if len(duals) != len(self.row_lower):
            log.info("LP bound: %s, no duals, in %.1fs", status, self.solver.getRunTime())
            return None
        bound = self.dual_bound(duals)
        log.info("LP bound: %s, bound %g in %.1fs", status, bound, self.solver.getRunTime())
        return bound

    def dual_bound(self, y: np.ndarray) -> float:
        """g(y) of the module's docstring, rounded up to an integer."""
        y = np.where((y > 0) & np.isinf(self.row_lower), 0.0, y)
        y = np.where((y < 0) & np.isinf(self.row_upper), 0.0, y)
        columns = len(self.cost)
        reduced = self.cost - np.bincount(self.index, weights=self.value * y[self.row_of], minlength=columns)
        low_side = y * np.where(y > 0, self.row_lower, 0.0)  # 0 * inf is nan: the side is chosen first
        high_side = y * np.where(y < 0, self.row_upper, 0.0)
        value = float(low_side.sum() + high_side.sum() + np.minimum(reduced, 0.0) @ self.upper)
        return whole_bound(value)
