"""Shared fixtures (helpers to import live in :mod:`tests.helpers`).

``--solvers auto,cpsat,cbc,highs`` runs every solver test on each backend named;
``--formulations tours,flow`` runs the rule, optimality and agreement tests on each formulation.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import allocator
import tests.helpers.profiles  # noqa: F401  (loads the Hypothesis profile named by HYPOTHESIS_PROFILE)
from allocator import Instance, SolveResult


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--solvers",
        default="auto,cpsat,cbc,highs",
        help="comma-separated backends every solver test runs on (default: all four)",
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
    for fixture, option, known in (
        ("backend", "solvers", allocator.BACKENDS),
        ("formulation", "formulations", allocator.FORMULATIONS),
    ):
        if fixture in metafunc.fixturenames:
            names = option_list(metafunc.config, option)
            unknown = sorted(set(names) - set(known))
            if unknown:
                raise pytest.UsageError(f"--{option}: unknown value(s) {', '.join(unknown)}")
            metafunc.parametrize(fixture, names)


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

    original = allocator.api.solve

    def checked(instance: Any, *args: Any, **kwargs: Any) -> SolveResult:
        result = original(instance, *args, **kwargs)
        if result.has_plan:
            loaded = instance if isinstance(instance, Instance) else allocator.load_instance(instance)
            report = allocator.check(loaded, result)
            assert report.ok, f"the checker rejects a plan the solver returned:\n{report}"
        return result

    monkeypatch.setattr(allocator.api, "solve", checked)
    monkeypatch.setattr(allocator, "solve", checked)

    import allocator.replanning
    from allocator.replanning.history import read_baseline

    original_replan = allocator.replanning.replan

    def replan_checked(instance: Any, baseline: Any, *args: Any, **kwargs: Any) -> SolveResult:
        result = original_replan(instance, baseline, *args, **kwargs)
        if result.has_plan:
            assert result.problem is not None
            report = allocator.check(result.problem, result, baseline=read_baseline(baseline)[0])
            assert report.ok, f"the checker rejects a re-plan the solver returned:\n{report}"
        return result

    monkeypatch.setattr(allocator.replanning, "replan", replan_checked)
    monkeypatch.setattr(allocator, "replan", replan_checked)


@pytest.fixture
def needs_gap_data() -> Path:
    """The shared GAP folder, for a test that reads it: skipped without it, failed when required."""
    from tests.helpers.gapdata import gap_data

    return gap_data()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster() -> Iterator[str]:
    """A real `dask scheduler` and `dask worker` on loopback, stopped afterwards."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]  # the `dask` command of this environment
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [*dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from dask.distributed import Client

        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(1, timeout=30)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
        for proc in (worker, scheduler):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
