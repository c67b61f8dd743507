"""The breakdown: every objective's parts add up to the value the checker recomputes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import allocator
from allocator.explanations import explain
from allocator.explanations.breakdown import totals
from allocator.instance.model import Instance
from tests.helpers.instances import EXAMPLES, build
from tests.helpers.strategies import instances

KEYS = {
    "shortfall": {"task", "capability", "value"},
    "surplus": {"task", "value"},
    "fairness": {"nation", "burden", "fair_share", "difference", "value"},
    "deployments": {"nation", "value"},
    "cost": {"nation", "value"},
}


def assert_adds_up(instance: Instance, result: allocator.SolveResult) -> None:
    parts = explain(instance, result).breakdown
    assert parts is not None and set(parts) == set(KEYS)
    for name, rows in parts.items():
        assert all(set(row) == KEYS[name] for row in rows), name
        assert [row["value"] for row in rows] == sorted((row["value"] for row in rows), reverse=True)
    recomputed = allocator.check(instance, result).objectives
    for name, total in totals(parts).items():
        assert total == pytest.approx(recomputed[name], abs=1e-6), name
    for row in parts["fairness"]:
        assert row["difference"] == pytest.approx(row["burden"] - row["fair_share"])


@pytest.mark.parametrize("name", ["shortfall", "caps", "lead-rotation", "weighted"])
def test_the_parts_add_up_on_the_examples(name: str) -> None:
    instance = allocator.load_instance(EXAMPLES / f"{name}.yaml")
    assert_adds_up(instance, allocator.solve(instance, time_limit=10, threads=1))


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_the_parts_add_up_on_random_small_instances(data: st.DataObject) -> None:
    instance = build(data.draw(instances()))
    result = allocator.solve(instance, backend="cpsat", time_limit=5, threads=1)
    if result.has_plan:
        assert_adds_up(instance, result)
