"""Request context: who is asking (token or web session) and the database.

The web session cookie (Starlette's signed `assay_session`) holds the key of a server-side
session (services.sessions) under `SESSION_KEY`, and the session's CSRF token; who the key
belongs to, and whether it still counts, is decided by the database on every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.orm import Session

from assay.http.csrf import CSRF_HEADER, SAFE_METHODS, check_csrf
from assay.services import users
from assay.services.access import Actor
from assay.services.errors import Unauthorized
from assay.store.db import Database

SESSION_KEY = "sid"


@dataclass(frozen=True)
class Credentials:
    """What the request presented: an API token, or a web session's key."""

    token: str | None = None
    session_key: str | None = None

    def actor(self, session: Session) -> Actor:
        if self.token is not None:
            return users.authenticate_token(session, self.token)
        assert self.session_key is not None
        return users.session_actor(session, self.session_key)


@dataclass
class Ctx:
    credentials: Credentials
    db: Database
    _actor: Actor | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor:
        """The authenticated actor, checked once per request in a short read."""
        if self._actor is None:
            with self.db.session(write=False) as s:
                self._actor = self.credentials.actor(s)
        return self._actor

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.db.session(write=True) as s:
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.db.session(write=False) as s:
            yield s


def database(request: Request) -> Database:
    """The app's database (set once by `assay.app.create_app`)."""
    return request.app.state.db


def web_session_key(request: Request) -> str | None:
    """The key of the request's web session, if its cookie carries one."""
    if "session" not in request.scope:
        return None
    key = request.session.get(SESSION_KEY)
    return key if isinstance(key, str) and key else None


def start_web_session(request: Request, key: str) -> None:
    """Put a new session's key in the cookie, in a fresh cookie (and so a new CSRF token)."""
    request.session.clear()
    request.session[SESSION_KEY] = key


def client_address(request: Request) -> str:
    """The client's IP address: the peer's, or what a trusted proxy forwarded for
    (`ASSAY_TRUSTED_PROXIES`, applied by the app's proxy-headers middleware)."""
    return request.client.host if request.client else "unknown"


def credentials_of(request: Request) -> Credentials:
    """Token in the Authorization header (API clients), else the web session cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            raise Unauthorized("Authorization header must be 'Token <your API token>'.")
        return Credentials(token=token.strip())
    key = web_session_key(request)
    if key is None:
        raise Unauthorized("Authentication credentials were not provided.")
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return Credentials(session_key=key)


def context(request: Request) -> Ctx:
    """Authenticates before anything else about the request is looked at (401 comes first)."""
    ctx = Ctx(credentials=credentials_of(request), db=database(request))
    ctx.actor  # noqa: B018
    return ctx
