"""Optimality against brute force: on small random instances with real choices, enumerate every
plan the checker accepts and compare the lexicographic optimum with every backend's levels, in
every formulation (``--solvers``, ``--formulations``).

Independent of both model builders: plans come from :mod:`tests.bruteforce`, judged by the
checker alone. The test counts what it saw and fails when too few examples offered a real choice
(two or more valid plans): a strategy that collapses into trivial instances cannot pass unnoticed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import event, given, reject

import allocator
from allocator.errors import InputError
from tests.helpers.bruteforce import TooMany, brute_force
from tests.helpers.profiles import examples, property_settings
from tests.helpers.strategies import choice_instances

#: Most combinations of unit schedules and lead choices the brute force tries for one example.
MAX_PLANS = 4000
#: Least share of examples with two or more valid plans.
MIN_CHOICE_SHARE = 0.5


def _kind(valid: int) -> str:
    return "infeasible" if valid == 0 else ("one valid plan" if valid == 1 else "a choice")


def test_levels_match_brute_force(solver_pairs: list[tuple[str, str]]) -> None:
    seen: Counter[str] = Counter()

    @property_settings(examples().brute_force)
    @given(doc=choice_instances())
    def example(doc: dict[str, Any]) -> None:
        try:
            instance = allocator.build_instance(doc, "<tiny>")
            optimum = brute_force(instance, MAX_PLANS)
        except (InputError, TooMany):
            reject()
        kind = _kind(optimum.valid)
        seen["examples"] += 1
        seen[kind] += 1
        seen["distinct objective vectors >= 2"] += optimum.distinct >= 2
        event(kind)
        for backend, formulation in solver_pairs:
            result = allocator.solve(
                instance, backend=backend, threads=1, time_limit=10, formulation=formulation
            )
            where = f"{backend}/{formulation} on {doc}"
            if optimum.vector is None:
                assert result.status == "infeasible", f"{result.status}, brute force: infeasible; {where}"
                continue
            assert result.status == "optimal", f"{result.status}, brute force {optimum.vector}; {where}"
            values = [lv.value for lv in result.levels]
            assert None not in values, f"a level without a value: {result.levels}; {where}"
            got = tuple(round(v, 6) for v in values if v is not None)
            assert got == optimum.vector, f"solver {got} != brute force {optimum.vector}; {where}"

    example()
    print(f"brute force examples: {dict(seen)}")
    assert seen["a choice"] >= MIN_CHOICE_SHARE * seen["examples"], (
        f"too few examples with a real choice: {dict(seen)}; the strategy has collapsed"
    )
