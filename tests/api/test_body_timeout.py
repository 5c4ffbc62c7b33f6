"""A request body that stalls is answered 408 and its connection closed (issue #16 L7): a
client sending one byte a second was served for as long as it liked. Raw sockets against the
live server, with a short ASSAY_BODY_TIMEOUT_S; every test stops by itself within seconds."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from urllib.parse import urlparse

import pytest

from assay.http.middleware import BodyTimeout

STALL = 0.6  # seconds without a byte of body before the server gives up


@pytest.fixture
def settings(settings):
    """The suite's settings with a short stall timeout (the default is a minute)."""
    return settings.model_copy(update={"body_timeout_s": STALL})


def _connect(live_server: str) -> socket.socket:
    url = urlparse(live_server)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    sock.settimeout(10)  # no test waits on the server longer than this
    return sock


def _head(token: str, length: int) -> bytes:
    return (
        f"POST /api/tasks HTTP/1.1\r\nHost: assay\r\nAuthorization: Token {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_stalled_body_is_408_and_the_connection_closed(live_server, people):
    with _connect(live_server) as sock:
        sock.sendall(_head(people["lead"].token, 1000) + b'{"project": ')
        start = time.monotonic()
        answer = _read_all(sock)  # returns when the server closes the connection
        waited = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["status_code"] == 408 and "stalled" in body["detail"]
    assert STALL * 0.9 <= waited < STALL + 5


def test_a_slow_body_that_keeps_coming_is_served(live_server, people, project):
    """A stall, not a total: a body that takes three times the timeout, a few bytes at a
    time, each well within it, is read to the end."""
    payload = json.dumps({"project": project["id"], "data": {"image": "slow.jpg"}}).encode()
    pieces = [payload[i : i + len(payload) // 6 + 1] for i in range(0, len(payload), len(payload) // 6 + 1)]  # fmt: skip
    with _connect(live_server) as sock:
        sock.sendall(_head(people["lead"].token, len(payload)))
        start = time.monotonic()
        for piece in pieces:
            time.sleep(STALL / 2)
            sock.sendall(piece)
        took = time.monotonic() - start
        answer = sock.recv(65536)
    assert took > STALL * 2
    assert answer.startswith(b"HTTP/1.1 201"), answer[:300]


def test_only_the_body_is_timed_not_what_the_app_waits_for_after_it():
    """Starlette's streaming responses wait on `receive` for the client to leave: that wait
    must not end after the timeout (it would cut a long export)."""
    seen: list[str] = []

    async def app(scope, receive, send):
        first = await receive()
        seen.append(first["type"])
        try:
            await asyncio.wait_for(receive(), 0.3)  # the disconnect listener, waiting on
        except TimeoutError:
            seen.append("still waiting")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive():
        if not seen:
            return {"type": "http.request", "body": b"{}", "more_body": False}
        await asyncio.sleep(10)  # a client that stays connected
        raise AssertionError("not reached")

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    asyncio.run(BodyTimeout(app, seconds=0.05)({"type": "http"}, receive, send))
    assert seen == ["http.request", "still waiting"]
    assert sent[0]["status"] == 200
