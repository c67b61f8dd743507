"""The gate every request passes before the application: the bearer token (compared in constant
time), loopback clients only when the service has no token, requests that change something from
the service's own origin only (or one the operator allows), and a bounded body (413).

A web page of another site can make the planner's browser send requests to the service (a form,
a ``fetch`` without a preflight), and the browser says so: ``Origin`` on every request that is
not a GET, and ``Sec-Fetch-Site`` in current browsers.  Such a request that would change
something (POST, DELETE) is refused with 403 unless it comes from a page of the service itself
or of an origin allowed with ``--allow-origin``.  A request without either header is not a
page's (curl, a script, a program) and passes, to meet the token or the loopback rule."""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNAUTHORISED = "a valid bearer token is required (Authorization: Bearer TOKEN)"
NOT_LOCAL = "this service has no token and answers the local machine only"
CROSS_ORIGIN = (
    "a request that changes something is accepted from this service's own pages only, not from a "
    "page of {origin} (an operator may allow an origin with --allow-origin)"
)
#: Methods that change nothing (a page elsewhere can send them, but cannot read the answer).
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: Sec-Fetch-Site values of a request that no other site's page made.
OWN_SITE = ("same-origin", "none")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Guard:
    """ASGI middleware: token or loopback, then the body read whole up to `max_body` bytes."""

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        max_body: int,
        local_names: tuple[str, ...] = (),
        allow_origins: tuple[str, ...] = (),
    ):
        self.app = app
        self.local_names = set(local_names)
        self.token = token.encode() if token else None
        self.max_body = max_body
        self.allow_origins = {_origin(o) for o in allow_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        if self.token is not None:
            if not self._authorised(headers.get("authorization", b"")):
                await _answer(send, 401, UNAUTHORISED, {"www-authenticate": "Bearer"})
                return
        elif not is_loopback((scope.get("client") or (None,))[0]) or not self._local_host(headers):
            await _answer(send, 403, NOT_LOCAL)
            return
        if scope["method"] not in SAFE_METHODS and not self._own_page(scope, headers):
            origin = headers.get("origin", b"another site").decode("latin-1")
            await _answer(send, 403, CROSS_ORIGIN.format(origin=origin))
            return
        too_big = f"the body is larger than this service's limit of {self.max_body} bytes"
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _answer(send, 413, too_big)
            return
        body = await self._body(receive)
        if body is None:
            await _answer(send, 413, too_big)
            return
        await self.app(scope, _replay(body, receive), send)

    def _local_host(self, headers: dict[str, bytes]) -> bool:
        """Whether the Host header names this machine (a page elsewhere can't reach us by DNS)."""
        host = headers.get("host", b"").decode("latin-1")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.local_names

    def _own_page(self, scope: Scope, headers: dict[str, bytes]) -> bool:
        """Whether a request that changes something may come from where the browser says it
        does: no page at all (no Origin, no Sec-Fetch-Site), the service's own page, or a page of
        an allowed origin."""
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site")
        if origin is not None:
            given = _origin(origin.decode("latin-1"))
            if given in self.allow_origins:
                return True
            own = _origin(f"{scope.get('scheme', 'http')}://{headers.get('host', b'').decode('latin-1')}")
            if given != own:
                return False
        return site is None or site.decode("latin-1").lower() in OWN_SITE

    def _authorised(self, header: bytes) -> bool:
        scheme, _, given = header.partition(b" ")
        expected = self.token or b""
        # compare_digest on equal-length digests: no timing signal from the token's length either
        return scheme.lower() == b"bearer" and hmac.compare_digest(_digest(given.strip()), _digest(expected))

    async def _body(self, receive: Receive) -> bytes | None:
        """The whole body, or None past the limit (never more than max_body + one chunk held)."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _origin(text: str) -> str:
    """An origin as browsers compare it: scheme and host in lower case, the default port left out
    (``HTTP://Host:80`` -> ``http://host``)."""
    text = text.strip().rstrip("/").lower()
    for scheme, port in (("http://", ":80"), ("https://", ":443")):
        if text.startswith(scheme) and text.endswith(port):
            return text.removesuffix(port)
    return text


def _digest(value: bytes) -> bytes:
    import hashlib

    return hashlib.sha256(value).digest()


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # the disconnect, for streaming responses

    return replay


async def _answer(send: Send, status: int, detail: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}, separators=(",", ":")).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
