"""Helpers shared by the commands (allocator.cli.common)."""

from __future__ import annotations

from allocator.cli.common import figure


def test_figures_are_shown_in_full_when_large() -> None:
    """Six significant digits for ordinary values; a large cost was '8e+12' of 7,999,999,999,996."""
    assert figure(24065.3) == "24065.3" and figure(5795.108138367) == "5795.11" and figure(0) == "0"
    assert figure(7_999_999_999_996.0) == "7999999999996"
    assert figure(12_345_678.25) == "12345678.2" and figure(-2e6) == "-2000000"
