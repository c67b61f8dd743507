"""Property-based tests: on random small instances every plan passes the checker, seeded
violations of a valid plan are caught, and every field of an instance survives every file format."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import allocator
from allocator.errors import InputError
from allocator.files import parse_document
from tests.helpers.profiles import examples, property_settings
from tests.helpers.strategies import choice_instances, full_instances, instances

SETTINGS = property_settings(examples().properties)


def _load(doc: dict[str, Any]) -> allocator.Instance:
    try:
        return allocator.build_instance(doc, "<random>")
    except InputError:
        assume(False)
        raise


@SETTINGS
@given(doc=instances())
def test_every_plan_passes_the_checker(backend: str, doc: dict[str, Any]) -> None:
    instance = _load(doc)
    result = allocator.solve(instance, backend=backend, threads=1, time_limit=10)
    assert result.status in ("optimal", "infeasible"), result.status
    if result.has_plan:
        report = allocator.check(instance, result)
        assert report.ok, f"{report}\n{doc}"
        for level in result.levels:
            assert level.bound is not None and level.value is not None
            assert level.bound <= level.value + 1e-6
    if instance.spec.shortfall == "soft" and not any(t.lead for t in instance.tasks):
        nation_caps = any(n.max_personnel is not None or n.budget is not None for n in instance.nations)
        # soft demand, no lead, no caps: the empty plan is feasible, so a plan always exists
        if not nation_caps and not any(t.max_nations for t in instance.tasks):
            assert result.has_plan


def _break(plan: dict[str, Any], how: str, instance: allocator.Instance) -> str:
    first = plan["assignments"][0]
    if how == "overlap":
        plan["assignments"].append(dict(first))
        return "unit-capacity"
    if how == "unit":
        units = next(o.units for o in instance.offers if o.id == first["offer"])
        first["unit"] = units + 1
        return "reference"
    if how == "beyond-horizon":
        first["end"] = instance.periods + 1
        return "placement"
    plan["objectives"]["deployments"] += 1
    return "report"


@SETTINGS
@given(
    doc=choice_instances(max_periods=6, max_offers=4),
    how=st.sampled_from(["overlap", "unit", "beyond-horizon", "objective"]),
)
def test_seeded_violations_are_caught(backend: str, doc: dict[str, Any], how: str) -> None:
    instance = _load(doc)
    result = allocator.solve(instance, backend=backend, threads=1, time_limit=10)
    assume(result.has_plan and result.assignments)
    plan = copy.deepcopy(result.to_json())
    rule = _break(plan, how, instance)
    assert rule in {v.rule for v in allocator.check(instance, plan).violations}


# round trips through every file format ------------------------------------------------------------
def _through(instance: allocator.Instance, fmt: str) -> allocator.Instance:
    """The instance written in `fmt` and read back (as a file of that format would be)."""
    from allocator.instance.load import dump_instance, instance_of_bytes

    data = dump_instance(instance, fmt)
    return instance_of_bytes(data if isinstance(data, bytes) else data.encode("utf-8"), f"copy{fmt}")


@settings(
    max_examples=examples().round_trips,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(doc=full_instances())
def test_every_field_round_trips_through_every_format(doc: dict[str, Any]) -> None:
    """YAML -> XLSX -> JSON -> YAML gives back the same instance, whatever its fields hold."""
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", allocator.InputWarning)  # a start that is not a month
        try:
            original = allocator.build_instance(parse_document(text, "random.yaml"), "random.yaml")
        except InputError as exc:
            # sums too large to plan exactly span several fields (a share of 682,774 with a
            # personnel of 73.765625): rare, and left to the test of that check
            assume(not all(p.message.startswith("numbers too large") for p in exc.problems))
            raise AssertionError(f"the strategy drew an invalid instance: {exc}") from None
        current = original
        for fmt in (".xlsx", ".json", ".yaml"):
            current = _through(current, fmt)
            assert current == original, f"{fmt} changed the instance"
