"""allocator: optimisation engine for multinational force allocation.

>>> import allocator
>>> instance = allocator.load_instance("instances/examples/basic.yaml")
>>> result = allocator.solve(instance, time_limit=10, threads=1)
>>> allocator.check(instance, result).ok
True
"""

from __future__ import annotations

import logging

from allocator.api import BACKENDS, solve
from allocator.backends.common import Progress, StopToken
from allocator.catalog import available_models
from allocator.checker import CheckReport, Violation, check, check_file
from allocator.errors import InputError, InputWarning, Problem
from allocator.instance import Instance, ModelSpec
from allocator.io import build_instance, load_instance, write_instance
from allocator.result import LevelResult, SolveResult

__all__ = [
    "BACKENDS",
    "CheckReport",
    "InputError",
    "InputWarning",
    "Instance",
    "LevelResult",
    "ModelSpec",
    "Problem",
    "Progress",
    "SolveResult",
    "StopToken",
    "Violation",
    "available_models",
    "build_instance",
    "check",
    "check_file",
    "load_instance",
    "solve",
    "write_instance",
]
__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
