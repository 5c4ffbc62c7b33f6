"""ASGI middleware: optional trailing slashes, request body limit and stall timeout, secure
cookies over HTTPS."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class OptionalTrailingSlash:
    """Serve `/api/projects/` and `/api/projects` alike, without redirects (the SDKs use both)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class BodyLimit:
    """Answer 413 when a body is larger than `max_bytes`, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self._message())
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(send)

    def _message(self) -> str:
        mib = self.max_bytes / 2**20
        return f"Request body is larger than the {mib:g} MiB this server accepts."

    async def _too_large(self, send: Send) -> None:
        await _error(send, 413, self._message())


class BodyTooLarge(Exception):
    """A streamed body passed the limit while the app read it. FastAPI turns what reading
    raises into a 400 (`api.errors` answers 413 for this cause); elsewhere BodyLimit does."""


class BodyTimeout:
    """Answer 408 and close the connection when a request body stalls: no byte of it for
    `seconds` (0: never). A stall, not a total: a big upload on a slow link goes on as long
    as its bytes keep coming. uvicorn has no such timeout of its own (its keep-alive timeout
    runs only between requests), so a client sending one byte a second held a worker's
    connection and the request's memory for as long as it liked.

    Only the body is timed: once it is complete, `receive` waits unbounded again, as
    Starlette's streaming responses wait on it for the client to disconnect.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            await self.app(scope, receive, send)
            return
        body_done = False
        started = False
        answered = False

        async def timed_receive() -> Message:
            nonlocal body_done, answered
            if body_done:
                return await receive()
            if answered:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), self.seconds)
            except TimeoutError:
                if not started:
                    answered = True
                    await _error(
                        send, 408,
                        f"The request body stalled: no byte of it for {self.seconds:g} s.",
                        close=True,
                    )  # fmt: skip
                return {"type": "http.disconnect"}  # the app stops reading, as if it left
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 408 went out; what the app makes of the "disconnect" does not
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, timed_receive, guarded_send)


async def _error(send: Send, status: int, detail: str, close: bool = False) -> None:
    """An error in Label Studio's shape, sent before the app answered."""
    body: dict[str, Any] = {"status_code": status, "detail": detail, "validation_errors": {}}
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class SecureCookiesOverHttps:
    """Give every cookie the Secure flag in answers to requests that came over HTTPS.

    The scheme is the ASGI scope's: https for TLS to this server, or when a trusted proxy said
    so (`X-Forwarded-Proto`, applied before this runs by uvicorn's ProxyHeadersMiddleware with
    `ASSAY_TRUSTED_PROXIES`). A browser then never sends the cookie over plain HTTP.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def secure_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, _secure(value) if name.lower() == b"set-cookie" else value)
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, secure_send)


def _secure(cookie: bytes) -> bytes:
    flags = {part.strip().lower() for part in cookie.split(b";")[1:]}
    return cookie if b"secure" in flags else cookie + b"; secure"
