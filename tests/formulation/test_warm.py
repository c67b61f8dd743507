"""A plan as model values: every row holds, and every objective's terms give the plan's value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

import allocator
from allocator.errors import InputError
from allocator.formulation.build import formulate
from allocator.formulation.warm import plan_values
from allocator.instance.index import Index
from allocator.solution.greedy import first_plan
from allocator.solution.plan import deployed, objective_values, shortfalls
from tests.helpers.instances import ROOT
from tests.helpers.plans import row_holds
from tests.helpers.profiles import examples, property_settings
from tests.helpers.strategies import choice_instances


def _agrees(instance: allocator.Instance, formulation: str) -> bool:
    """Whether the greedy plan's values meet every row and give every objective (False: no plan)."""
    index = Index.of(instance)
    plan = first_plan(index, instance.spec.shortfall == "hard")
    if plan is None:
        return False
    f = formulate(instance, formulation)
    rows = list(f.rows())
    values = plan_values(f, plan.counts, plan.leads)
    broken = [row.name or str(row.terms) for row in rows if not row_holds(row, values)]
    assert not broken, broken[:5]
    gaps = shortfalls(index, deployed(index, plan.counts))
    expected = objective_values(index, plan.counts, instance.spec.fairness, gaps)
    for name, objective in f.model.objectives.items():
        value = sum(c * values[i] for i, c in objective.terms) / objective.scale
        assert value == pytest.approx(expected[name], abs=1e-6), name
    return True


def test_random_plans_as_values(formulation: str) -> None:
    agreed = []

    @property_settings(examples().properties)
    @given(doc=choice_instances())
    def example(doc: dict[str, Any]) -> None:
        try:
            instance = allocator.build_instance(doc, "<tiny>")
        except InputError:
            return
        agreed.append(_agrees(instance, formulation))

    example()
    assert sum(agreed) >= len(agreed) / 2


def test_reassurance_plan_as_values(formulation: str) -> None:
    instance = allocator.load_instance(ROOT / "instances" / "reassurance.yaml")
    assert _agrees(instance, formulation)
