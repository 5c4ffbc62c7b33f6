"""Users, passwords and API tokens.

Tokens are shown once, when made, and stored only as a SHA-256 digest: a leaked database
does not leak working credentials. Passwords are hashed with argon2 (pwdlib).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import lru_cache

from pwdlib import PasswordHash
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services.access import Actor, Role
from assay.services.errors import Conflict, Invalid, NotFound, Unauthorized
from assay.store.models import User
from assay.store.types import utcnow

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD = 8


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_hex(20)


def actor_of(user: User) -> Actor:
    return Actor(id=user.id, role=Role(user.role), email=user.email)


def create_user(
    session: Session,
    email: str,
    role: str,
    password: str | None = None,
    token: str | None = None,
    first_name: str = "",
    last_name: str = "",
) -> tuple[User, str]:
    """Add a user; returns it with its API token (the only time the token is readable)."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise Invalid.field("email", f"{email!r} is not an email address")
    try:
        role = Role(role).value
    except ValueError:
        raise Invalid.field("role", f"must be one of {', '.join(r.value for r in Role)}") from None
    if password is not None and len(password) < MIN_PASSWORD:
        raise Invalid.field("password", f"must have at least {MIN_PASSWORD} characters")
    if token is not None and len(token) < 16:
        raise Invalid.field("token", "must have at least 16 characters")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"A user with email {email} exists.", {"email": ["already taken"]})
    token = token or new_token()
    digest = token_digest(token)
    if session.scalar(select(User.id).where(User.token_hash == digest)) is not None:
        raise Conflict("That token is in use.", {"token": ["already taken"]})
    user = User(
        email=email,
        username=email.split("@")[0],
        first_name=first_name,
        last_name=last_name,
        role=role,
        password_hash=_hasher().hash(password) if password else None,
        token_hash=digest,
    )
    session.add(user)
    session.flush()
    return user, token


def reset_token(session: Session, user_id: int) -> str:
    user = get_user(session, user_id)
    token = new_token()
    user.token_hash = token_digest(token)
    return token


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} not found.")
    return user


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate_token(session: Session, token: str) -> Actor:
    user = session.scalar(select(User).where(User.token_hash == token_digest(token)))
    if user is None or not user.is_active:
        raise Unauthorized("Invalid token.")
    return actor_of(user)


def authenticate_password(session: Session, email: str, password: str) -> Actor:
    """Check a login; the same error for a wrong email and a wrong password."""
    user = user_by_email(session, email)
    hasher = _hasher()
    if user is None or not user.password_hash or not user.is_active:
        hasher.hash(password)  # spend the same time, so timing does not reveal emails
        raise Unauthorized("Wrong email or password.")
    if not hasher.verify(password, user.password_hash):
        raise Unauthorized("Wrong email or password.")
    user.last_activity = utcnow()
    return actor_of(user)


def active_user(session: Session, user_id: int) -> Actor:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Your session has ended; log in again.")
    return actor_of(user)
