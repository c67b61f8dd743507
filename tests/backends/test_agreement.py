"""Agreement between backends and formulations: on random small instances, every backend that
proves optimality reaches the same objective vector, level by level, in every formulation.  Run
with ``--solvers cpsat,cbc,highs --formulations tours,flow``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import event, given, reject

import allocator
from allocator.errors import InputError
from tests.helpers.profiles import examples, property_settings
from tests.helpers.strategies import choice_instances

#: Instances that once broke a backend, kept as regression tests.
REGRESSIONS: list[dict[str, Any]] = [
    {  # no possible tour: the MILP had an empty objective, and PuLP wrote an MPS file CBC rejects
        "name": "empty-objective",
        "horizon": {"periods": 2},
        "nations": [{"id": "FR"}],
        "capabilities": [{"id": "fighter", "domain": "any"}],
        "offers": [{"id": "o0", "nation": "FR", "capability": "fighter", "units": 1}],
        "tasks": [{"id": "t1", "active": [1, 1], "requirements": [{"capability": "fighter", "units": 0}]}],
    },
    {  # CBC 2.10 stalled for 10 s on this with -threads 1, reporting "feasible" at the time limit
        "name": "cbc-threads-stall",
        "horizon": {"periods": 2},
        "nations": [
            {"id": "FR", "share": 2},
            {"id": "GB", "share": 2},
            {"id": "IT", "share": 1, "max_personnel": 100},
        ],
        "capabilities": [{"id": "fighter", "domain": "any"}, {"id": "frigate", "domain": "any"}],
        "offers": [
            {
                "id": "o0",
                "nation": "IT",
                "capability": "fighter",
                "units": 3,
                "min_tour": 3,
                "available": [2, 2],
            }
        ],
        "tasks": [
            {
                "id": t,
                "active": [1, 2],
                "priority": 2,
                "min_nations": 1,
                "max_nations": 1,
                "requirements": [{"capability": "fighter", "units": 1, "periods": [1, 2]}],
            }
            for t in ("t1", "t2")
        ],
        "model": {"fairness": "cost", "objectives": [{"shortfall": 2, "cost": 1}, "deployments"]},
    },
    {  # HiGHS 1.16 handed back the warm start (fairness 5.33) while reporting the optimum 2.67
        "name": "highs-stale-warm-start",
        "horizon": {"periods": 2},
        "nations": [{"id": "FR", "max_personnel": 0}, {"id": "GB"}, {"id": "IT"}],
        "capabilities": [{"id": "fighter", "domain": "any"}],
        "offers": [
            {"id": "o0", "nation": "FR", "capability": "fighter", "units": 1},
            {"id": "o1", "nation": "FR", "capability": "fighter", "units": 1, "tasks": ["t1"]},
        ],
        "tasks": [
            {
                "id": "t1",
                "requirements": [{"capability": "fighter", "units": 1}],
                "lead": {"nations": ["FR"], "term": 1, "rotate": False, "contribution": 0},
            },
            {"id": "t2", "active": [1, 1], "requirements": [{"capability": "fighter", "units": 0}]},
        ],
    },
    {  # CBC (cbcbox 2.935) bound propagation "milpbt" called the deployments level infeasible
        "name": "cbc-false-infeasible-level",
        "horizon": {"periods": 2},
        "nations": [{"id": "FR"}, {"id": "GB"}, {"id": "IT", "share": 3.5}],
        "capabilities": [{"id": "fighter", "domain": "any"}],
        "offers": [
            {"id": f"o{i}", "nation": n, "capability": "fighter", "units": 2, "tasks": ["t1"]}
            for i, n in enumerate(("FR", "GB"))
        ],
        "tasks": [
            {
                "id": "t1",
                "active": [2, 2],
                "requirements": [{"capability": "fighter", "units": 1}],
                "min_nations": 2,
                "lead": {"nations": ["FR"], "term": 1, "rotate": False, "contribution": 0},
            },
            {"id": "t2", "active": [1, 1], "requirements": [{"capability": "fighter", "units": 0}]},
        ],
        "model": "coverage-first",
    },
    {  # CBC warm start: a fairness deviation of -1.9e-11 (lowBound 0) made PuLP refuse the start
        "name": "cbc-warm-start-below-bound",
        "horizon": {"periods": 2},
        "nations": [
            {"id": "FR", "share": 3.5, "budget": 1},
            {"id": "GB", "share": 3.5, "budget": 1},
            {"id": "IT", "share": 3.5},
        ],
        "capabilities": [{"id": "fighter", "domain": "any"}],
        "offers": [
            {"id": "o0", "nation": "FR", "capability": "fighter", "units": 1, "personnel": 100, "cost": 1},
            {"id": "o1", "nation": "GB", "capability": "fighter", "units": 1, "personnel": 50, "cost": 1},
        ],
        "tasks": [{"id": "t1", "requirements": [{"capability": "fighter", "units": 2}]}],
        "model": "fair-share",
    },
]


#: Least share of examples that are feasible with a non-zero objective vector somewhere (a
#: collapsed strategy gives none; a random 40-example run gave as few as 19 of 40, when Hypothesis
#: dwelt on infeasible lead rules).
MIN_INFORMATIVE_SHARE = 0.25


def _vectors(
    instance: allocator.Instance, backends: list[tuple[str, str]]
) -> dict[str, tuple[float, ...] | str]:
    """Per backend/formulation: the proven optimal level values, or the status if not proven.
    A proven level without a value is a failure, never a 0."""
    out: dict[str, tuple[float, ...] | str] = {}
    for backend, formulation in backends:
        result = allocator.solve(instance, backend=backend, threads=1, time_limit=20, formulation=formulation)
        key = f"{backend}/{formulation}"
        if result.status == "optimal":
            values = [lv.value for lv in result.levels]
            assert None not in values, f"{key}: an optimal level without a value: {result.levels}"
            out[key] = tuple(round(v, 6) for v in values if v is not None)
        else:
            out[key] = result.status
    return out


def _assert_agree(vectors: dict[str, tuple[float, ...] | str], doc: dict[str, Any]) -> None:
    proven = {b: v for b, v in vectors.items() if isinstance(v, tuple)}
    statuses = {v for v in vectors.values() if isinstance(v, str)}
    assert len(set(proven.values())) <= 1, f"backends disagree: {vectors} on {doc}"
    assert not (proven and "infeasible" in statuses), f"optimal and infeasible: {vectors} on {doc}"


def _unproven(vectors: dict[str, tuple[float, ...] | str]) -> dict[str, str]:
    return {b: v for b, v in vectors.items() if v not in ("infeasible",) and not isinstance(v, tuple)}


@pytest.fixture
def backends(solver_pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every (backend, formulation) pair the options name; two at least."""
    if len(solver_pairs) < 2:
        pytest.skip("agreement needs two backends or formulations (--solvers, --formulations)")
    return solver_pairs


def test_backends_agree_on_random_instances(backends: list[tuple[str, str]]) -> None:
    """Every pair proves the same optimum on instances small enough to prove (a few units and
    periods): one that does not prove it within 20 s is reported as unproven, which fails."""
    seen: Counter[str] = Counter()
    outcomes: set[tuple[float, ...] | str] = set()
    unproven: list[tuple[dict[str, str], dict[str, Any]]] = []

    @property_settings(examples().agreement)
    @given(doc=choice_instances(max_periods=6, max_offers=4))
    def example(doc: dict[str, Any]) -> None:
        try:
            instance = allocator.build_instance(doc, "<random>")
        except InputError:
            reject()
        vectors = _vectors(instance, backends)
        _assert_agree(vectors, doc)
        seen["examples"] += 1
        if _unproven(vectors):
            unproven.append((_unproven(vectors), doc))
            event("unproven")
            return
        vector = next(iter(vectors.values()))
        outcomes.add(vector)
        kind = "infeasible" if vector == "infeasible" else ("all zero" if not any(vector) else "informative")
        seen[kind] += 1
        event(kind)

    example()
    print(f"agreement examples: {dict(seen)}, {len(outcomes)} distinct outcomes")
    assert not unproven, f"{len(unproven)} example(s) not proven by every backend: {unproven[:3]}"
    assert seen["informative"] >= MIN_INFORMATIVE_SHARE * seen["examples"], (
        f"too few informative examples: {dict(seen)}; the strategy has collapsed"
    )


@pytest.mark.parametrize("doc", REGRESSIONS, ids=[d["name"] for d in REGRESSIONS])
def test_regressions_agree(backends: list[tuple[str, str]], doc: dict[str, Any]) -> None:
    instance = allocator.build_instance(doc, "<regression>")
    vectors = _vectors(instance, backends)
    assert all(isinstance(v, tuple) for v in vectors.values()), f"not proven optimal: {vectors}"
    _assert_agree(vectors, doc)
