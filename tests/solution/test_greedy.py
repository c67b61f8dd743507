"""The greedy first plan keeps every hard rule, whatever the instance (judged by the checker)."""

from __future__ import annotations

import copy
import time
from collections import Counter
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

import allocator
from allocator.backends.levels import assemble_result
from allocator.checker import check
from allocator.errors import InputError
from allocator.instance.index import Index
from allocator.options import Status
from allocator.replanning import withdraw
from allocator.replanning.plan import prepare_replan
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


def _built(doc: dict[str, Any]) -> allocator.Instance | None:
    """A drawn document's instance, or None when it is bad input."""
    try:
        return allocator.build_instance(doc, "<tiny>")
    except InputError:
        return None


def test_random_first_plans_keep_every_rule() -> None:
    """Every first plan is valid; where a valid plan exists (brute force), the greedy finds one
    in nearly every example (it is a heuristic: a lead term may defeat it)."""
    seen: Counter[str] = Counter()

    @property_settings(examples().properties * 2)
    @given(doc=choice_instances())
    def example(doc: dict[str, Any]) -> None:
        if (instance := _built(doc)) is None:
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


def test_a_replans_greedy_keeps_history_and_plans_from_its_start_alone() -> None:
    """Baseline: the greedy's own plan less some tours; a nation (or none) withdrawn from a random
    period.  The
    greedy from the history (a re-plan's first plan when persistence is not asked) is accepted
    by the checker with the baseline, and what the baseline planned from `from` on does not
    change it (it ignores persistence)."""
    seen: Counter[str] = Counter()

    @property_settings(examples().properties)
    @given(doc=choice_instances(), data=st.data())
    def example(doc: dict[str, Any], data: st.DataObject) -> None:
        if (instance := _built(doc)) is None:
            return
        hard = instance.spec.shortfall == "hard"
        made = first_plan(Index.of(instance), hard)
        if made is None or instance.periods < 2:
            return
        base = _document(instance, made)
        tours = range(len(base["assignments"]))
        dropped = data.draw(st.sets(st.sampled_from(tours)) if tours else st.just(set()), label="dropped")
        base["assignments"] = [a for i, a in enumerate(base["assignments"]) if i not in dropped]
        start = data.draw(st.integers(2, instance.periods), label="from")
        nation = data.draw(st.sampled_from([None, *sorted(n.id for n in instance.nations)]), label="out")
        try:
            changed = instance if nation is None else withdraw(instance, nation, start).instance
            planned, history = prepare_replan(changed, base, start)
        except InputError:
            return
        index = Index.of(planned)
        plan = first_plan(index, hard, fixed=history.fixed(index))
        seen["plan" if plan is not None else "none"] += 1
        if plan is None:
            return
        report = check(planned, history.plan_document(index, plan.counts, plan.leads), baseline=base)
        assert not [v for v in report.violations if v.rule != "report"], [str(v) for v in report.violations]
        past = copy.deepcopy(base)  # the baseline with nothing planned from `from` on
        past["assignments"] = [a for a in past["assignments"] if a["start"] < start]
        past["leads"] = [r for r in past["leads"] if r["start"] < start]
        _, alone = prepare_replan(changed, past, start)
        again = first_plan(index, hard, fixed=alone.fixed(index))
        assert again is not None and (again.counts, again.leads) == (plan.counts, plan.leads)

    example()
    assert seen["plan"] >= 0.9 * sum(seen.values()), seen
