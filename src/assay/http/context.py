"""Request context: who is asking (token or web session) and the database."""

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


@dataclass(frozen=True)
class Credentials:
    """What the request presented: an API token, or a signed-in web session's user id."""

    token: str | None = None
    user_id: int | None = None

    def actor(self, session: Session) -> Actor:
        if self.token is not None:
            return users.authenticate_token(session, self.token)
        assert self.user_id is not None
        return users.active_user(session, self.user_id)


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


def credentials_of(request: Request) -> Credentials:
    """Token in the Authorization header (API clients), else the web session cookie."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            raise Unauthorized("Authorization header must be 'Token <your API token>'.")
        return Credentials(token=token.strip())
    user_id = request.session.get("uid") if "session" in request.scope else None
    if user_id is None:
        raise Unauthorized("Authentication credentials were not provided.")
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return Credentials(user_id=int(user_id))


def context(request: Request) -> Ctx:
    """Authenticates before anything else about the request is looked at (401 comes first)."""
    ctx = Ctx(credentials=credentials_of(request), db=database(request))
    ctx.actor  # noqa: B018
    return ctx
