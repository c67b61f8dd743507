"""One real service per test module (`allocator serve` in its own process, a local Dask cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.instances import EXAMPLES, ROOT
from tests.helpers.service import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    service = Server(tmp_path_factory.mktemp("service") / "data").start()
    try:
        yield service
    finally:
        service.stop()


def document(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def basic() -> dict[str, Any]:
    return document(EXAMPLES / "basic.yaml")


@pytest.fixture(scope="module")
def reassurance() -> dict[str, Any]:
    return document(ROOT / "instances" / "reassurance.yaml")
