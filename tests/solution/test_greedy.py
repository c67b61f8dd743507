"""The greedy first plan keeps every hard rule, whatever the instance (judged by the checker)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from hypothesis import event, given

import allocator
from allocator.backends.levels import assemble_result
from allocator.checker import check
from allocator.errors import InputError
from allocator.instance.index import Index
from allocator.options import Status
from allocator.solution.greedy import FirstPlan, first_plan
from tests.helpers.bruteforce import TooMany, brute_force
from tests.helpers.instances import EXAMPLES, ROOT, base_instance, build
from tests.helpers.profiles import examples, property_settings
from tests.helpers.strategies import choice_instances


def _document(instance: allocator.Instance, plan: FirstPlan) -> dict[str, Any]:
    index = Index.of(instance)
    result = assemble_result(index, "greedy", Status.FEASIBLE, plan.counts, plan.leads, [], 0, 0, False)
    return result.to_json()


def _valid(instance: allocator.Instance, plan: FirstPlan) -> None:
    report = check(instance, _document(instance, plan))
    assert not report.violations, [str(v) for v in report.violations]


def test_random_first_plans_keep_every_rule() -> None:
    """Every first plan is valid; where a valid plan exists (brute force), the greedy finds one
    in nearly every example (it is a heuristic: a lead term may defeat it)."""
    seen: Counter[str] = Counter()

    @property_settings(examples().properties * 2)
    @given(doc=choice_instances())
    def example(doc: dict[str, Any]) -> None:
        try:
            instance = allocator.build_instance(doc, "<tiny>")
        except InputError:
            return
        hard = instance.spec.shortfall == "hard"
        plan = first_plan(Index.of(instance), hard)
        if plan is None:
            try:
                exists = brute_force(instance, 4000).vector is not None
            except TooMany:
                return
            seen["missed" if exists else "none exists"] += 1
            event("missed" if exists else "none exists")
            return
        seen["tours" if plan.counts else "empty plan"] += 1
        event("plan")
        assert plan.complete
        _valid(instance, plan)
        if hard:
            assert not _document(instance, plan)["shortfalls"]

    example()
    assert seen["tours"] >= sum(seen.values()) / 2, seen  # most examples deploy something
    assert seen["missed"] <= 0.05 * (seen["tours"] + seen["empty plan"] + seen["missed"]), seen


def test_shipped_instances_get_a_valid_first_plan() -> None:
    for path in [*sorted(EXAMPLES.glob("*.yaml")), ROOT / "instances" / "reassurance.yaml"]:
        instance = allocator.load_instance(path)
        plan = first_plan(Index.of(instance), instance.spec.shortfall == "hard")
        assert plan is not None and plan.counts, path.name
        _valid(instance, plan)


def test_caps_bind() -> None:
    """Two units could serve; the personnel cap leaves room for one, the budget for one period."""
    doc = base_instance(horizon={"periods": 2})
    offer = {"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 2, "personnel": 10, "cost": 5}
    doc["offers"] = [offer]
    doc["tasks"][0]["requirements"] = [{"capability": "fighter", "units": 2}]
    doc["nations"] = [{"id": "FR", "max_personnel": 15}, {"id": "GB"}]
    capped = build(doc)
    plan = first_plan(Index.of(capped), False)
    assert plan is not None and sum(plan.counts.values()) == 1
    _valid(capped, plan)
    doc["nations"] = [{"id": "FR", "budget": 5}, {"id": "GB"}]
    poor = build(doc)
    plan = first_plan(Index.of(poor), False)
    assert plan is not None and [t.length for t in plan.counts] == [1]
    _valid(poor, plan)


def test_hard_demand_left_short_is_no_plan() -> None:
    instance = allocator.load_instance(EXAMPLES / "basic.yaml")
    hard = instance.replace(model=instance.model.model_copy(update={"shortfall": "hard"}))
    assert first_plan(Index.of(hard), True) is None


def test_a_passed_deadline_leaves_a_valid_partial_plan() -> None:
    instance = allocator.load_instance(ROOT / "instances" / "reassurance.yaml")
    plan = first_plan(Index.of(instance), False, deadline=time.perf_counter())
    assert plan is not None and not plan.complete
    _valid(instance, plan)
