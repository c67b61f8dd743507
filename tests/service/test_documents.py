"""The OpenAPI document and the format schemas committed in docs/ are the code's."""

from __future__ import annotations

import json
from pathlib import Path

from allocator.service import documents


def test_the_committed_documents_are_the_codes() -> None:
    assert documents.stale() == [], "regenerate them: python -m allocator.service.documents"


def test_a_stale_document_is_noticed(tmp_path: Path) -> None:
    assert documents.main([str(tmp_path)]) == 0
    assert documents.stale(tmp_path) == []
    path = tmp_path / "openapi.json"
    changed = json.loads(path.read_text())
    changed["info"]["version"] = "0.0.0"
    path.write_text(json.dumps(changed))
    assert documents.stale(tmp_path) == [str(path)]
    assert documents.main(["--check", str(tmp_path)]) == 1


def test_every_route_is_described() -> None:
    paths = documents.documents()["openapi.json"]["paths"]
    spec = {
        ("post", "/v1/solves"),
        ("get", "/v1/solves"),
        ("get", "/v1/solves/{job_id}"),
        ("get", "/v1/solves/{job_id}/solution"),
        ("get", "/v1/solves/{job_id}/report"),
        ("delete", "/v1/solves/{job_id}"),
        ("post", "/v1/validate"),
        ("post", "/v1/check"),
        ("post", "/v1/explain"),
        ("post", "/v1/replan"),
        ("get", "/v1/schema/instance"),
        ("get", "/v1/schema/solution"),
    }
    described = {(method, path) for path, item in paths.items() for method in item}
    assert spec <= described
    body = paths["/v1/solves"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
