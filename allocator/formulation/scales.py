"""Integer scaling: every float parameter becomes an integer coefficient, exactly.

A value with d decimal places (d <= :data:`MAX_DECIMALS`) is multiplied by 10**d; every backend
works on the same integers, so their models agree to the last digit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from allocator.instance.index import Index
from allocator.instance.validation import DECIMALS, decimals

#: Most decimal places kept when a float parameter is turned into an integer coefficient (the
#: instance's validation counts the same places to bound the sums a plan can reach).
MAX_DECIMALS = DECIMALS


def decimal_scale(values: Iterable[float]) -> int:
    """Smallest 10**d (d <= MAX_DECIMALS) making every value an integer."""
    return 10 ** decimals(set(values))


def scaled(value: float, scale: int) -> int:
    return round(value * scale)


@dataclass(frozen=True)
class Scales:
    """Integer versions of the float parameters: value = integer / scale."""

    priority: int
    share: int
    personnel: int
    cost: int

    @classmethod
    def of(cls, index: Index) -> Scales:
        """The index's scales (computed once per index)."""
        if index.scales is None:
            index.scales = cls._of(index)
        scales: Scales = index.scales
        return scales

    @classmethod
    def _of(cls, index: Index) -> Scales:
        nations = index.nations
        return cls(
            priority=decimal_scale(t.priority for t in index.tasks),
            share=decimal_scale(n.share for n in nations),
            personnel=decimal_scale(
                [o.personnel for o in index.offers]
                + [n.max_personnel for n in nations if n.max_personnel is not None]
            ),
            cost=decimal_scale(
                [o.cost for o in index.offers] + [n.budget for n in nations if n.budget is not None]
            ),
        )

    def measure(self, fairness: str) -> int:
        return {"units": 1, "personnel": self.personnel, "cost": self.cost}[fairness]


def weighted_coefficients(
    level: tuple[tuple[str, float], ...], scales: Mapping[str, int]
) -> tuple[dict[str, int], int]:
    """Integer coefficients for a (weighted) level over integer objectives, and the level scale.

    Objective i has integer value z_i = scale_i x f_i.  The level minimises sum w_i f_i =
    (sum c_i z_i) / D with c_i = D w_i / scale_i integral for D the least common denominator.
    """
    fractions = {
        name: Fraction(weight).limit_denominator(10**MAX_DECIMALS) / scales[name] for name, weight in level
    }
    denominator = math.lcm(*(f.denominator for f in fractions.values()))
    return {name: int(f * denominator) for name, f in fractions.items()}, denominator
