"""Fixtures of the report tests: the reassurance scenario solved once."""

from __future__ import annotations

from typing import Any

import pytest

import allocator
from allocator.checker.solution import parse_solution
from allocator.report.tables import PlanTables, plan_tables
from tests.helpers.reports import REASSURANCE


@pytest.fixture(scope="session")
def reassurance() -> tuple[allocator.Instance, dict[str, Any]]:
    """The reassurance scenario and a plan for it (a brief single-threaded solve)."""
    instance = allocator.load_instance(REASSURANCE)
    result = allocator.solve(instance, threads=1, time_limit=10, formulation="flow")
    assert result.has_plan
    return instance, result.to_json()


@pytest.fixture(scope="session")
def reassurance_tables(reassurance: tuple[allocator.Instance, dict[str, Any]]) -> PlanTables:
    instance, document = reassurance
    return plan_tables(instance, parse_solution(document, "<reassurance>"))
