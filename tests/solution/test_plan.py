"""From tour counts to units: interval colouring respects overlap and rest, or refuses."""

from __future__ import annotations

import itertools

import pytest

from allocator.instance.index import Index, Tour
from allocator.solution.plan import clean, colour_units
from tests.helpers.instances import base_instance, build


def _index(units: int, rest: int):  # type: ignore[no-untyped-def]
    doc = base_instance(
        horizon={"periods": 8},
        offers=[{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": units, "min_rest": rest}],
    )
    return Index.of(build(doc))


def test_rest_gap_respected_by_colouring() -> None:
    index = _index(units=2, rest=2)
    tours = {Tour(0, 0, 1, 2): 1, Tour(0, 0, 4, 2): 1, Tour(0, 0, 5, 2): 1}
    out = colour_units(index, tours)
    assert len(out) == sum(tours.values()), "every tour is given to a unit"
    assert {a.unit for a in out} == {1, 2}
    by_unit: dict[int, list[tuple[int, int]]] = {}
    for a in out:
        by_unit.setdefault(a.unit, []).append((a.start, a.end))
    for spans in by_unit.values():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start - end - 1 >= 2


def test_lowest_free_unit_first() -> None:
    index = _index(units=3, rest=0)
    out = colour_units(index, {Tour(0, 0, 1, 2): 2, Tour(0, 0, 4, 1): 1})
    assert [(a.unit, a.start) for a in out] == [(1, 1), (1, 4), (2, 1)]


def test_more_tours_than_units_is_refused() -> None:
    index = _index(units=1, rest=0)
    with pytest.raises(RuntimeError, match="more overlapping tours than units"):
        colour_units(index, {Tour(0, 0, 1, 2): 1, Tour(0, 0, 2, 2): 1})


def test_clean_removes_float_noise() -> None:
    assert clean(2032.4000000000003) == 2032.4 and clean(-0.0) == 0.0
