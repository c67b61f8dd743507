"""Stable rule names, shared by constraint groups, checker messages and score breakdowns."""

from __future__ import annotations

#: rule name -> (SPEC section 3 rule number, what it says)
RULES: dict[str, tuple[int, str]] = {
    "reference": (1, "ids exist and units are in range"),
    "placement": (
        1,
        "a tour lies inside the offer's availability, the task's active window, "
        "and only where the task requires the offer's capability",
    ),
    "caveat": (2, "an offer with `tasks` serves only those tasks"),
    "tour-length": (3, "a tour lasts between min_tour and max_tour periods"),
    "tour-flow": (
        3,
        "the flow formulation's link: deployed units change only as tours start and end",
    ),
    "unit-capacity": (
        3,
        "a unit serves one task at a time and rests min_rest (at least one) periods between tours",
    ),
    "personnel-cap": (4, "personnel deployed by a nation in a period <= max_personnel"),
    "budget": (4, "a nation's cost over the horizon <= budget"),
    "max-nations": (5, "at most max_nations distinct nations on a task in a period"),
    "min-nations": (5, "at least min_nations distinct nations on a task in a period (hard)"),
    "nation-presence": (5, "a nation counts on a task in a period iff it deploys a unit there"),
    "lead-one": (6, "exactly one eligible lead per term"),
    "lead-first": (6, "`first` leads the first term"),
    "lead-rotate": (6, "consecutive terms have different leads"),
    "lead-contribution": (
        6,
        "the lead deploys at least `contribution` units in each period it leads",
    ),
    "demand": (7, "every requirement is met in full (hard)"),
    "demand-cap": (
        7,
        "a dominance cut, not a rule: no more units than required where extra units "
        "can never help (one-period tours, no fairness, min_nations or lead)",
    ),
    "report": (4, "the solution's objectives and shortfalls agree with its plan"),
}
