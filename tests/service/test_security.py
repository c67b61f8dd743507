"""Who may talk to the service: a bearer token when it has one (compared in constant time, never
echoed), the local machine only when it has none."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from allocator.cli import main
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
