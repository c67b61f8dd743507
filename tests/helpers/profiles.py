"""Hypothesis profiles: how many examples each property test draws, and how they are drawn.

Choose one with ``HYPOTHESIS_PROFILE=NAME`` (default ``dev``):

- ``ci``: derandomised (the same examples on every run, no example database), so that CI is
  reproducible; 500 brute-force, 200 agreement, 60 property and 250 round-trip examples.
- ``dev``: new random examples on every run, failures kept in ``.hypothesis/`` and replayed
  first next time; a quick 100 / 40 / 30 / 60.
- ``deep``: random, for a long local hunt: 3000 / 1000 / 300 / 2000.
- ``mutation``: derandomised and small (100 / 20 / 20 / 20), for the tests that mutation testing
  runs against every mutant (TESTING.md).

A failure prints the falsifying example and a ``@reproduce_failure(...)`` line: paste that line
above the failing test (or rerun with ``--hypothesis-seed=N`` as printed) to replay it exactly.
See TESTING.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings


@dataclass(frozen=True)
class Examples:
    """Examples per test: brute-force optimality, backend agreement, other property tests, round
    trips of an instance through every file format (no solver: cheap)."""

    brute_force: int
    agreement: int
    properties: int
    round_trips: int


EXAMPLES = {
    "ci": Examples(brute_force=500, agreement=200, properties=60, round_trips=250),
    "dev": Examples(brute_force=100, agreement=40, properties=30, round_trips=60),
    "deep": Examples(brute_force=3000, agreement=1000, properties=300, round_trips=2000),
    "mutation": Examples(brute_force=100, agreement=20, properties=20, round_trips=20),
}

settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("dev", print_blob=True, deadline=None)
settings.register_profile("deep", print_blob=True, deadline=None)
settings.register_profile("mutation", derandomize=True, database=None, deadline=None)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
if PROFILE not in EXAMPLES:
    raise ValueError(f"HYPOTHESIS_PROFILE={PROFILE!r}: choose one of {', '.join(EXAMPLES)}")
settings.load_profile(PROFILE)


def examples() -> Examples:
    """The example counts of the active profile."""
    return EXAMPLES[PROFILE]


def property_settings(count: int) -> settings:
    """Settings of a property test drawing `count` examples (solver calls: no deadline).

    Tests that draw inside a test function (to count what they saw) are exempt from the check
    for function-scoped fixtures; no filtering health check is suppressed, so a strategy that
    stops producing usable examples fails loudly."""
    return settings(max_examples=count, suppress_health_check=[HealthCheck.function_scoped_fixture])
