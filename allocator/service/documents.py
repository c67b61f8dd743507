"""The service's documents committed in ``docs/``: its OpenAPI description and the JSON Schemas of
the instance and solution formats.  ``python -m allocator.service.documents`` writes them;
``--check`` exits 1 naming each one that differs from what the code gives (a test runs it)."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from allocator.files import write_atomic

DOCS = Path(__file__).resolve().parents[2] / "docs"


def documents() -> dict[str, dict[str, Any]]:
    """Each document by its path under ``docs/``."""
    from allocator.service.app import ServiceSettings, create_app, instance_json_schema, solution_json_schema

    with tempfile.TemporaryDirectory() as data:
        app = create_app(ServiceSettings(data=Path(data)))
        return {
            "openapi.json": app.openapi(),
            "schema/instance.json": instance_json_schema(),
            "schema/solution.json": solution_json_schema(),
        }


def text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale(folder: Path = DOCS) -> list[str]:
    """The documents under `folder` that differ from the code's (or are missing)."""
    out = []
    for name, document in documents().items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text(document):
            out.append(str(path))
    return out


def main(argv: list[str]) -> int:
    folder = Path(next((a for a in argv if not a.startswith("-")), DOCS))
    if "--check" in argv:
        differ = stale(folder)
        for path in differ:
            print(f"{path} differs from the code: run python -m allocator.service.documents", file=sys.stderr)
        return 1 if differ else 0
    for name, document in documents().items():
        write_atomic(folder / name, text(document))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
