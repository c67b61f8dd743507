"""Bad input through HTTP: 422 with the command line's messages and places, 413 past the body
limit, and the service unharmed after each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from allocator.errors import InputError
from allocator.instance.formats import build_instance
from tests.helpers.instances import base_instance
from tests.helpers.service import Server
from tests.instance.test_formats import BAD


def command_line_problems(doc: dict[str, Any]) -> list[dict[str, str]]:
    """The problems `allocator validate` prints for this document, as the service words them."""
    with pytest.raises(InputError) as info:
        build_instance(doc, "instance")
    return [
        {"source": "instance", "place": p.path, "message": p.message, "text": p.render("instance")}
        for p in info.value.problems
    ]


@pytest.mark.parametrize(("what", "doc", "path", "fragment"), BAD, ids=[case[0] for case in BAD])
def test_every_bad_instance_is_422_with_the_place_named(
    server: Server, what: str, doc: dict[str, Any], path: str, fragment: str
) -> None:
    with server.client() as client:
        solve = client.post("/v1/solves", content=json.dumps({"instance": doc}), headers=_json)
        validate = client.post("/v1/validate", content=json.dumps({"instance": doc}), headers=_json)
    assert solve.status_code == 422, solve.text
    assert solve.json()["detail"] == command_line_problems(doc) == validate.json()["detail"]
    assert any(p["place"] == path and fragment in p["message"] for p in solve.json()["detail"])


_json = {"content-type": "application/json"}


def test_the_service_is_unharmed_by_bad_input(server: Server) -> None:
    with server.client() as client:
        for body in (b"{", b"[]", b"\xff\xfe", b'{"instance": 3}', b'{"instance": {}, "extra": 1}'):
            assert client.post("/v1/solves", content=body, headers=_json).status_code == 422
        assert client.get("/v1/models").status_code == 200
        assert client.post("/v1/validate", json={"instance": base_instance()}).status_code == 200


def test_a_bad_request_names_the_field(server: Server) -> None:
    body = {"instance": base_instance(), "options": {"backend": "gurobi", "time_limit": -1}, "colour": 1}
    with server.client() as client:
        detail = client.post("/v1/solves", json=body).json()["detail"]
    places = {p["place"] for p in detail}
    assert places == {"options.backend", "options.time_limit", "colour"}
    assert all(p["source"] == "request" for p in detail)


def test_an_unknown_model_option_is_the_requests_problem(server: Server) -> None:
    with server.client() as client:
        answer = client.post("/v1/solves", json={"instance": base_instance(), "options": {"model": "fast"}})
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["source"] == "request" and problem["place"] == "options.model"
    assert "unknown model 'fast'" in problem["message"] and "coverage-first" in problem["message"]


def test_the_service_limits_time_and_threads(server: Server) -> None:
    body = {"instance": base_instance(), "options": {"time_limit": 99999, "threads": 8}}
    with server.client() as client:
        detail = client.post("/v1/solves", json=body).json()["detail"]
    assert {p["place"] for p in detail} == {"options.time_limit", "options.threads"}


def test_a_replan_with_a_gone_nation_names_it(server: Server) -> None:
    doc = base_instance()
    baseline = {
        "instance": doc["name"],
        "status": "feasible",
        "assignments": [{"offer": "XX-gone", "unit": 1, "task": "air", "start": 1, "end": 2}],
        "leads": [{"task": "air", "nation": "XX", "start": 1, "end": 2}],
        "solver": {"backend": "cpsat", "wall_time": 0, "bounds": {}},
    }
    with server.client() as client:
        answer = client.post("/v1/replan", json={"instance": doc, "baseline": baseline, "from": 3})
        low = client.post("/v1/replan", json={"instance": doc, "baseline": baseline, "from": 1})
    assert answer.status_code == 422
    texts = [p["text"] for p in answer.json()["detail"]]
    assert any("offer 'XX-gone'" in t for t in texts) and any("nation 'XX'" in t for t in texts)
    assert all(p["source"] == "baseline" for p in answer.json()["detail"])
    assert low.status_code == 422 and low.json()["detail"][0]["place"] == "from"


def test_a_body_over_the_limit_is_413(tmp_path: Any) -> None:
    server = Server(tmp_path / "data", "--max-body", "1").start()
    try:
        big = b'{"instance": "' + b"x" * (1024 * 1024) + b'"}'
        with server.client() as client:
            declared = client.post("/v1/solves", content=big, headers=_json)
            chunked = client.post("/v1/solves", content=iter([big[:600_000], big[600_000:]]), headers=_json)
            upload = client.post("/v1/validate", files={"file": ("big.yaml", big)})
            still = client.post("/v1/validate", json={"instance": base_instance()})
    finally:
        server.stop()
    assert declared.status_code == chunked.status_code == upload.status_code == 413
    assert "limit" in declared.json()["detail"]
    assert still.status_code == 200


@pytest.mark.parametrize("path", ["/v1/solves", "/v1/validate", "/v1/check", "/v1/explain", "/v1/replan"])
def test_a_body_nested_too_deeply_is_422(server: Server, path: str) -> None:
    body = b'{"instance": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with server.client() as client:
        answer = client.post(path, content=body, headers=_json)
        upload = client.post("/v1/validate", files={"file": ("deep.yaml", b"a: " + b"[" * 100_000)})
    assert answer.status_code == upload.status_code == 422
    assert answer.json()["detail"][0]["message"] == "nested more than 32 levels deep"
    assert upload.json()["detail"][0]["source"] == "deep.yaml"
