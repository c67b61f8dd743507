"""Shared fixtures.  ``--solvers cpsat,cbc,highs`` runs every solver test on each backend named;
``--formulations tours,flow`` runs the rule, optimality and agreement tests on each formulation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import allocator
import tests.profiles  # noqa: F401  (loads the Hypothesis profile named by HYPOTHESIS_PROFILE)
from allocator import Instance, SolveResult

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "instances" / "examples"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--solvers",
        default="cpsat,cbc,highs",
        help="comma-separated backends every solver test runs on (default: all three)",
    )
    parser.addoption(
        "--formulations",
        default="tours,flow",
        help="comma-separated formulations the rule, optimality and agreement tests run on (default: both)",
    )


def option_list(config: pytest.Config, name: str) -> list[str]:
    return [s.strip() for s in config.getoption(name).split(",") if s.strip()]


@pytest.fixture
def solver_pairs(request: pytest.FixtureRequest) -> list[tuple[str, str]]:
    """Every (backend, formulation) pair that --solvers and --formulations name."""
    return [
        (backend, formulation)
        for backend in option_list(request.config, "solvers")
        for formulation in option_list(request.config, "formulations")
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    from allocator.backends.structure import FORMULATIONS

    for fixture, option, known in (
        ("backend", "solvers", allocator.BACKENDS),
        ("formulation", "formulations", FORMULATIONS),
    ):
        if fixture in metafunc.fixturenames:
            names = option_list(metafunc.config, option)
            unknown = sorted(set(names) - set(known))
            if unknown:
                raise pytest.UsageError(f"--{option}: unknown value(s) {', '.join(unknown)}")
            metafunc.parametrize(fixture, names)


def base_instance(**overrides: Any) -> dict[str, Any]:
    """A tiny valid instance as a dict: two nations, one fighter task over 4 periods."""
    doc: dict[str, Any] = {
        "name": "tiny",
        "horizon": {"periods": 4},
        "nations": [{"id": "FR", "share": 1}, {"id": "GB", "share": 1}],
        "capabilities": [{"id": "fighter", "domain": "air"}],
        "offers": [
            {"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 2, "cost": 1},
            {"id": "GB-a", "nation": "GB", "capability": "fighter", "units": 2, "cost": 2},
        ],
        "tasks": [{"id": "air", "requirements": [{"capability": "fighter", "units": 1}]}],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def build(doc: dict[str, Any]) -> Instance:
    return allocator.build_instance(doc, "<test>")


@pytest.fixture
def solve_checked(backend: str) -> Callable[..., SolveResult]:
    """Solve on the backend under test; every plan produced goes through the checker."""

    def run(instance: Instance, **kwargs: Any) -> SolveResult:
        kwargs.setdefault("time_limit", 20)
        kwargs.setdefault("threads", 1)
        result = allocator.solve(instance, backend=backend, **kwargs)
        if result.has_plan:
            report = allocator.check(instance, result)
            assert report.ok, str(report)
        return result

    return run


@pytest.fixture(autouse=True)
def every_plan_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every plan any test produces through the API (or the CLI in-process) goes through the checker."""
    import allocator.api
    import allocator.cli

    original = allocator.api.solve

    def checked(instance: Any, **kwargs: Any) -> SolveResult:
        result = original(instance, **kwargs)
        if result.has_plan:
            loaded = instance if isinstance(instance, Instance) else allocator.load_instance(instance)
            report = allocator.check(loaded, result)
            assert report.ok, f"the checker rejects a plan the solver returned:\n{report}"
        return result

    monkeypatch.setattr(allocator.api, "solve", checked)
    monkeypatch.setattr(allocator, "solve", checked)


@pytest.fixture
def needs_gap_data() -> Path:
    """The shared GAP folder, for a test that reads it: skipped without it, failed when required."""
    from tests.gapdata import gap_data

    return gap_data()
