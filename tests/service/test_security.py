"""Who may talk to the service: a bearer token when it has one (compared in constant time, never
echoed), the local machine only when it has none; what changes something, from the service's own
pages only (or an allowed origin's), with a body of the type the route reads; the API pages load
nothing from elsewhere."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from allocator.cli import main
from allocator.service import ServiceSettings, create_app
from allocator.service.guard import Guard, is_loopback
from tests.helpers.instances import base_instance
from tests.helpers.service import Server

TOKEN = "s3cret-token-for-the-tests-0123456789"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("guarded")
    token_file = folder / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    server = Server(folder / "data", "--token-file", str(token_file), token=TOKEN).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", "Bearer"]
)
def test_a_missing_or_wrong_token_is_401_and_leaks_nothing(guarded: Server, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    with httpx.Client(base_url=guarded.url, headers=headers) as client:
        answers = [
            client.get("/v1/solves"),
            client.post("/v1/solves", json={"instance": base_instance()}),
            client.get("/openapi.json"),
        ]
    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert TOKEN[:8] not in answer.text and "wrong" not in answer.text


def test_the_right_token_is_let_in(guarded: Server) -> None:
    with guarded.client() as client:
        assert client.get("/v1/solves").status_code == 200
        assert client.post("/v1/validate", json={"instance": base_instance()}).status_code == 200


def test_without_a_token_the_service_refuses_another_interface(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--data", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "--host: 0.0.0.0: without --token-file" in result.output
    assert not (tmp_path / "d").exists()


def test_a_short_token_file_is_refused(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("short\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "allocator",
            "serve",
            "--token-file",
            str(token),
            "--data",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "at least 16 characters" in result.stderr
    assert "Traceback" not in result.stderr


async def _app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("the guard let the request through")


@pytest.mark.parametrize(
    ("client", "host"),
    [(("10.1.2.3", 5000), "127.0.0.1:8000"), (("127.0.0.1", 5000), "evil.example:8000")],
)
def test_without_a_token_only_local_requests_pass(client: tuple[str, int], host: str) -> None:
    """Another machine (by its address), or a page elsewhere that points its name at us (DNS
    rebinding, by the Host header), gets 403."""
    guard = Guard(_app, token=None, max_body=1000, local_names=("127.0.0.1", "localhost"))
    transport = httpx.ASGITransport(app=guard, client=client)

    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as http:
            return await http.get("/v1/solves")

    import asyncio

    answer = asyncio.run(ask())
    assert answer.status_code == 403 and "local machine" in answer.json()["detail"]


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback(None)


# requests from web pages -------------------------------------------------------------------------
def test_a_page_of_another_site_cannot_change_anything(server: Server, basic: dict[str, Any]) -> None:
    """A page elsewhere can make the browser POST to the loopback (a form, a fetch without a
    preflight): the browser's Origin or Sec-Fetch-Site says so, and the service refuses."""
    body = json.dumps({"instance": basic})
    pages = [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},  # a sandboxed page, a file
        {"Origin": "http://localhost:3000"},  # same site, another origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
    ]
    with server.client() as client:
        before = len(client.get("/v1/solves", params={"limit": 1000}).json()["jobs"])
        answers = [
            client.post("/v1/solves", content=body, headers={"Content-Type": "application/json", **page})
            for page in pages
        ]
        listed = client.get("/v1/solves", params={"limit": 1000}).json()["jobs"]
        delete = client.delete("/v1/solves/0123456789abcdef", headers={"Origin": "http://evil.example"})
    assert [a.status_code for a in answers] == [403] * len(pages), [a.text for a in answers]
    assert all("own pages only" in a.json()["detail"] for a in answers)
    assert "evil.example" in answers[0].json()["detail"]
    assert delete.status_code == 403
    assert len(listed) == before, "no job was queued"


def test_the_services_own_pages_and_programs_are_let_in(server: Server, basic: dict[str, Any]) -> None:
    headers = [
        {"Origin": server.url, "Sec-Fetch-Site": "same-origin"},
        {"Origin": server.url.upper().replace("HTTP", "http")},
        {"Sec-Fetch-Site": "none"},  # typed in the address bar
        {},  # curl, a script
    ]
    with server.client() as client:
        answers = [client.post("/v1/validate", json={"instance": basic}, headers=h) for h in headers]
        read = client.get("/v1/models", headers={"Origin": "http://evil.example"})
    assert [a.status_code for a in answers] == [200] * len(headers), [a.text for a in answers]
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_of_another_type_than_the_route_reads_is_415(
    server: Server, basic: dict[str, Any], content_type: str | None
) -> None:
    """A page can send text/plain without a preflight: JSON sent so is not read."""
    body = json.dumps({"instance": basic}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    with server.client() as client:
        solve = client.post("/v1/solves", content=body, headers=headers)
        check = client.post("/v1/check", files={"file": ("x.json", body)})  # JSON only there
    assert solve.status_code == 415, solve.text
    assert "application/json or multipart/form-data" in solve.json()["detail"]
    assert check.status_code == 415 and "must be application/json" in check.json()["detail"]


def _asgi(settings: ServiceSettings) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(settings), client=("127.0.0.1", 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


def test_an_allowed_origin_may_send_and_read(tmp_path: Path) -> None:
    settings = ServiceSettings(data=tmp_path, allow_origins=("https://planning.example:8443",))

    async def ask() -> list[httpx.Response]:
        async with _asgi(settings) as http:
            preflight = {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            }
            return [
                await http.options(
                    "/v1/solves", headers={"Origin": "https://planning.example:8443", **preflight}
                ),
                await http.options("/v1/solves", headers={"Origin": "https://evil.example", **preflight}),
                await http.post(
                    "/v1/solves", headers={"Origin": "https://planning.example:8443"}, content=b"x"
                ),
                await http.post("/v1/solves", headers={"Origin": "https://evil.example"}, content=b"x"),
            ]

    allowed, other, sent, refused = asyncio.run(ask())
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://planning.example:8443"
    assert "access-control-allow-origin" not in other.headers
    assert sent.status_code == 415  # past the guard: refused for its type, not its origin
    assert refused.status_code == 403


def test_the_api_pages_load_nothing_from_another_host(tmp_path: Path) -> None:
    """/docs and /redoc work offline: their scripts and styles come from the service."""

    async def ask() -> dict[str, httpx.Response]:
        async with _asgi(ServiceSettings(data=tmp_path)) as http:
            pages = {path: await http.get(path) for path in ("/docs", "/redoc")}
            for page in list(pages.values()):
                for link in re.findall(
                    r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text
                ):
                    path = next(part for part in link if part)
                    if path.startswith("/static"):
                        pages[path] = await http.get(path)
            return pages

    pages = asyncio.run(ask())
    for path in ("/docs", "/redoc"):
        assert pages[path].status_code == 200
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", pages[path].text), pages[path].text
        assert "googleapis" not in pages[path].text and "cdn" not in pages[path].text.lower()
    # Swagger UI's validator badge asks validator.swagger.io unless told not to
    assert '"validatorUrl": null' in pages["/docs"].text, pages["/docs"].text
    scripts = [p for p in pages if p.endswith(".js")]
    assert len(scripts) >= 2 and all(pages[p].status_code == 200 for p in scripts), scripts


def test_an_origin_option_that_is_not_an_origin_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--allow-origin", "https://x.example/page", "--data", str(tmp_path / "d")]
    )
    assert result.exit_code == 2
    assert "--allow-origin: https://x.example/page: an origin is scheme://host[:port]" in result.output
