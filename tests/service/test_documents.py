"""The OpenAPI document and the format schemas committed in docs/ are the code's."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import allocator
from allocator.files import parse_document
from allocator.instance.formats import instance_document
from allocator.instance.load import load_instance
from allocator.service import documents
from tests.helpers.instances import EXAMPLES, ROOT


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


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(documents.documents()[f"schema/{name}.json"])


@pytest.mark.parametrize(
    "path", sorted((ROOT / "instances").rglob("*.yaml")), ids=lambda p: str(p.relative_to(ROOT / "instances"))
)
def test_every_shipped_instance_meets_the_instance_schema(path: Path) -> None:
    """As written, and as `allocator convert` writes it; the file of typical mistakes does not."""
    errors = list(_validator("instance").iter_errors(parse_document(path.read_text(), str(path))))
    converted = (
        json.loads(json.dumps(instance_document(load_instance(path))))
        if path.parent.name != "mistakes"
        else {}
    )
    if path.parent.name == "mistakes":
        assert errors, "the schema must refuse an unknown key"
    else:
        assert errors == [] and list(_validator("instance").iter_errors(converted)) == []


def test_solutions_meet_the_solution_schema() -> None:
    validator = _validator("solution")
    instance = allocator.load_instance(EXAMPLES / "lead-rotation.yaml")
    plan = allocator.solve(instance, time_limit=10, threads=1)
    replanned = allocator.replan(instance, plan, 3, time_limit=10, threads=1)
    for document in (plan.to_json(), replanned.to_json()):
        assert list(validator.iter_errors(json.loads(json.dumps(document)))) == []
    assert list(validator.iter_errors({"instance": "x", "status": "done", "solver": {}}))
