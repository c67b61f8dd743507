"""Re-planning with persistence (SPEC v2 section 7, ``docs/replanning.md``) and withdrawals said in
the data.

:func:`replan` keeps the baseline's history before ``start`` (its ``from``), lets tours running
across it go on or end at ``start - 1``, keeps lead terms that began in history unless their lead
is no longer eligible, and optimises over the whole horizon with `changes` against the baseline
right after `shortfall` by default.
"""

from __future__ import annotations

from allocator.replanning.history import History, history_of
from allocator.replanning.plan import default_levels, replan
from allocator.replanning.sweep import WhatIf, whatif
from allocator.replanning.withdraw import Withdrawal, withdraw

__all__ = ["History", "WhatIf", "Withdrawal", "default_levels", "history_of", "replan", "whatif", "withdraw"]
