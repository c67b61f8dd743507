"""Backends: one lexicographic level loop (:mod:`~allocator.backends.levels`) over a small
interface (:mod:`~allocator.backends.interface`), implemented by CP-SAT and by the MILP solvers."""

from __future__ import annotations

from allocator.backends.interface import Backend
from allocator.options import SolveOptions


def backend_for(options: SolveOptions) -> Backend:
    """A fresh backend of the kind `options.backend` names."""
    if options.backend == "auto":
        from allocator.backends.portfolio import PortfolioBackend

        return PortfolioBackend(options)
    if options.backend == "cpsat":
        from allocator.backends.cpsat import CpSatBackend

        return CpSatBackend(options)
    from allocator.backends.milp import MilpBackend

    return MilpBackend(options, options.backend)
