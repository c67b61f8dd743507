"""allocator: optimisation engine for multinational force allocation.

>>> import allocator
>>> instance = allocator.load_instance("instances/examples/basic.yaml")
>>> result = allocator.solve(instance, time_limit=10, threads=1)
>>> allocator.check(instance, result).ok
True

The data's path: a file (:mod:`allocator.instance`) -> a validated :class:`Instance` ->
its linear model (:mod:`allocator.formulation`) -> the levels solved by a backend
(:mod:`allocator.backends`) -> a :class:`SolveResult` (:mod:`allocator.solution`) -> checked
(:mod:`allocator.checker`) and reported (:mod:`allocator.report`); re-planned from a baseline
when the data change (:mod:`allocator.replanning`).
"""

from __future__ import annotations

import logging

from allocator.api import solve
from allocator.checker import CheckReport, Violation, check, check_file
from allocator.errors import InputError, InputWarning, Problem
from allocator.explanations import Explanation, explain
from allocator.instance.catalog import available_models
from allocator.instance.formats import build_instance
from allocator.instance.load import load_instance, write_instance
from allocator.instance.model import Instance
from allocator.instance.spec import ModelSpec
from allocator.options import BACKENDS, FORMULATIONS, Progress, SolveOptions, Status, StopToken
from allocator.replanning import WhatIf, Withdrawal, replan, whatif, withdraw
from allocator.solution.result import LevelResult, SolveResult

__all__ = [
    "BACKENDS",
    "FORMULATIONS",
    "CheckReport",
    "Explanation",
    "InputError",
    "InputWarning",
    "Instance",
    "LevelResult",
    "ModelSpec",
    "Problem",
    "Progress",
    "SolveOptions",
    "SolveResult",
    "Status",
    "StopToken",
    "Violation",
    "WhatIf",
    "Withdrawal",
    "available_models",
    "build_instance",
    "check",
    "check_file",
    "explain",
    "load_instance",
    "replan",
    "solve",
    "whatif",
    "withdraw",
    "write_instance",
]
__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
