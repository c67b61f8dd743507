"""Fifty small instances at once: every job ends and verifies, status polls answer within a
second while the workers are busy, and the web process's memory stays flat (figures of the full
run: benchmarks/service_load.py, BENCHMARKS.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

import allocator
from allocator.sources.generator import generate
from tests.helpers.service import Server, burst

pytestmark = pytest.mark.slow


def test_fifty_jobs_at_once(tmp_path: Path) -> None:
    instances = [generate(4, 2, 6, seed=k, name=f"load-{k}") for k in range(50)]
    server = Server(tmp_path / "data").start()
    try:
        load = burst(server, instances, {"time_limit": 2, "seed": 0}, timeout=600)
        with server.client() as client:
            solutions = {j: client.get(f"/v1/solves/{j}/solution").json() for j in load.jobs}
    finally:
        server.stop()
    assert len(load.jobs) == 50 and all(j["status"] == "done" and j["verified"] for j in load.jobs.values())
    by_name = {doc["name"]: allocator.build_instance(doc, doc["name"]) for doc in instances}
    for solution in solutions.values():
        assert allocator.check(by_name[solution["instance"]], solution).ok
    assert max(load.polls) < 1.0, f"a status poll waited {max(load.polls):.2f} s"
    # flat: the results pass through the web process into the store and are not kept there
    assert max(load.memory) - load.memory[0] < 150, load.memory
