"""Web sessions, kept in the database: every replica sees the same logins, and a login can be
ended before its cookie expires.

The browser's session cookie carries a random key; the database keeps only the key's SHA-256
digest (as for API tokens), so a leaked database holds no working login. A session lasts the
lifetime it was started with (`ASSAY_SESSION_MAX_AGE_S`, counted from sign-in, not extended
by use). Logging out ends it; a password change ends the user's other sessions; deactivation
ends all of them (services.users decides when).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from assay.services.errors import Unauthorized
from assay.store.bookkeeping import WebSession
from assay.store.models import User
from assay.store.types import utcnow

ENDED = "Your session has ended; log in again."


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(session: Session, user_id: int, lifetime: timedelta, now: datetime | None = None) -> str:
    """A new session of the user; returns its key (for the cookie, readable only now).

    Expired sessions of anyone are deleted on the way, so the table holds live logins only.
    """
    now = now or utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    key = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            key_hash=key_digest(key), user_id=user_id, created_at=now, expires_at=now + lifetime
        )
    )
    session.flush()
    return key


def user_of(session: Session, key: str, now: datetime | None = None) -> User:
    """The active user signed in with `key`. Unauthorized when the session is unknown, ended or
    expired, or its user is deactivated."""
    stmt = (
        select(User)
        .join(WebSession, WebSession.user_id == User.id)
        .where(
            WebSession.key_hash == key_digest(key),
            WebSession.expires_at > (now or utcnow()),
            User.is_active.is_(True),
        )
    )
    user = session.scalar(stmt)
    if user is None:
        raise Unauthorized(ENDED)
    return user


def end(session: Session, key: str) -> None:
    """End one session (logging out); an unknown key is no error."""
    session.execute(delete(WebSession).where(WebSession.key_hash == key_digest(key)))


def end_all(session: Session, user_id: int, keep: str | None = None) -> int:
    """End every session of the user, but the one with key `keep`; how many ended."""
    stmt = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(WebSession.key_hash != key_digest(keep))
    return session.execute(stmt).rowcount
