"""Derived indices: tour enumeration (rule 3 lengths, rules 1-2 placement) and lead terms."""

from __future__ import annotations

from allocator.instance.index import Index, Tour
from tests.helpers.instances import base_instance, build


def _tours(**offer: object) -> set[tuple[int, int]]:
    spec = {"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1}
    spec.update(offer)
    instance = build(base_instance(horizon={"periods": 6}, offers=[spec]))
    return {(r.start, r.length) for r in Index.of(instance).tours()}


def test_lengths_between_min_and_max() -> None:
    tours = _tours(min_tour=2, max_tour=3)
    assert (1, 2) in tours and (1, 3) in tours
    assert (1, 1) not in tours and (1, 4) not in tours


def test_short_tour_allowed_only_at_horizon_end() -> None:
    tours = _tours(min_tour=3)
    assert (5, 2) in tours and (6, 1) in tours  # end in period 6, the last
    assert (4, 2) not in tours


def test_window_limits_tours() -> None:
    tours = _tours(available=[2, 4])
    assert all(s >= 2 and s + n - 1 <= 4 for s, n in tours)
    assert (2, 3) in tours


def test_caveat_and_requirement_mask() -> None:
    doc = base_instance(
        horizon={"periods": 4},
        offers=[{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1, "tasks": ["b"]}],
        tasks=[
            {"id": "a", "requirements": [{"capability": "fighter", "units": 1}]},
            {"id": "b", "requirements": [{"capability": "fighter", "units": 1, "periods": [2, 3]}]},
        ],
    )
    tours = Index.of(build(doc)).tours()
    assert {r.task for r in tours} == {1}
    assert {(r.start, r.length) for r in tours} == {(2, 1), (2, 2), (3, 1)}


def test_lead_terms_from_first_active_period() -> None:
    doc = base_instance(
        horizon={"periods": 10},
        tasks=[
            {
                "id": "hq",
                "active": [2, 9],
                "requirements": [{"capability": "fighter", "units": 1}],
                "lead": {"nations": ["FR"], "term": 3},
            }
        ],
    )
    assert Index.of(build(doc)).terms[0] == [(2, 4), (5, 7), (8, 9)]


def test_demand_entries_add_up() -> None:
    doc = base_instance(
        tasks=[
            {
                "id": "air",
                "requirements": [
                    {"capability": "fighter", "units": 1},
                    {"capability": "fighter", "units": 2, "periods": [2, 3]},
                ],
            }
        ]
    )
    demand = Index.of(build(doc)).demand[0]["fighter"]
    assert list(demand[1:5]) == [1, 3, 3, 1]


def test_tour_end() -> None:
    assert Tour(0, 0, 3, 4).end == 6
