"""Small instances for tests: a tiny valid instance as a document, and its validated form."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import allocator
from allocator import Instance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "instances" / "examples"


def base_instance(**overrides: Any) -> dict[str, Any]:
    """A tiny valid instance as a dict: two nations, one fighter task over 4 periods."""
    doc: dict[str, Any] = {
        "name": "tiny",
        "horizon": {"periods": 4},
        "nations": [{"id": "FR", "share": 1}, {"id": "GB", "share": 1}],
        "capabilities": [{"id": "fighter", "domain": "air"}],
        "offers": [
            {"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 2, "cost": 1},
            {"id": "GB-a", "nation": "GB", "capability": "fighter", "units": 2, "cost": 2},
        ],
        "tasks": [{"id": "air", "requirements": [{"capability": "fighter", "units": 1}]}],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def build(doc: dict[str, Any]) -> Instance:
    return allocator.build_instance(doc, "<test>")
