"""The published generalised-assignment files (``../shared/data/gap`` beside the checkout).

``ALLOCATOR_GAP_DATA=DIR`` names another place. Tests that read the files take the fixture
``needs_gap_data`` (conftest): without the folder they are skipped, unless
``ALLOCATOR_REQUIRE_GAP_DATA=1`` (set by ``.ci/run``), in which case they fail: CI never passes by
skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.instances import ROOT

GAP = Path(os.environ.get("ALLOCATOR_GAP_DATA") or ROOT.parent / "shared" / "data" / "gap")
REQUIRED = os.environ.get("ALLOCATOR_REQUIRE_GAP_DATA") == "1"


def gap_data() -> Path:
    """The folder; a failure (required) or a skip (not required) when it is missing."""
    if not (GAP / "orlib").is_dir():
        if REQUIRED:
            pytest.fail(f"the shared GAP data is required (ALLOCATOR_REQUIRE_GAP_DATA=1); {GAP} is missing")
        pytest.skip(f"{GAP} is not there (ALLOCATOR_GAP_DATA names another place)")
    return GAP
