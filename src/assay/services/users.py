"""Users, passwords and API tokens.

Tokens are shown once, when made, and stored only as a SHA-256 digest: a leaked database
does not leak working credentials. Passwords are hashed with argon2 (pwdlib).

Only admins manage users. Everyone may read and change their own name and password (a new
password needs the current one), never their own role. Users are never deleted (they carry
labels and history): a user who left is deactivated, which ends their web sessions and
revokes their API token (reactivated, they sign in again and need a new token). There is
always at least one active admin.

A new password ends the user's web sessions (all but the one that changed it, when they
changed their own) and keeps their API token: scripts keep running, and a token that may have
leaked is replaced by `reset_token` (`POST /api/current-user/reset-token`).

Web logins (`log_in`) go through the login throttle (services.login_throttle) and start a
server-side session (services.sessions); API tokens are not throttled.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services import login_throttle, sessions
from assay.services.access import Action, Actor, Role, authorize
from assay.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from assay.store.db import Database
from assay.store.models import User
from assay.store.types import utcnow

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
# The password policy, applied wherever a password is set (not at login: older passwords still
# work until changed). No strength estimator (zxcvbn is not a dependency): length is what
# counts, plus three cheap refusals: the email, its local part, and too few distinct characters.
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 hashes any length; a bound keeps a login from hashing megabytes
MIN_DISTINCT = 5
MAX_NAME = 150  # username, first_name, last_name (the columns' length)
# `ordering` of the user list (Label Studio's names) -> column; a leading "-" reverses.
ORDERINGS = {
    "id": User.id,
    "email": User.email,
    "username": User.username,
    "first_name": User.first_name,
    "last_name": User.last_name,
    "role": User.role,
    "is_active": User.is_active,
    "date_joined": User.created_at,
    "last_activity": User.last_activity,
}


_password_hash = PasswordHash.recommended()


def _hasher() -> PasswordHash:
    return _password_hash


def use_password_hasher(hasher: PasswordHash) -> PasswordHash:
    """Hash and verify passwords with `hasher` from now on; the one used before.

    The server keeps argon2's recommended cost; the test suite swaps in a cheap argon2 so that
    creating users does not dominate its time.
    """
    global _password_hash
    before, _password_hash = _password_hash, hasher
    return before


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
    username: str | None = None,
) -> tuple[User, str]:
    """Add a user; returns it with its API token (the only time the token is readable).

    No role check: for trusted callers (the command line, the demo). `add_user` is the same
    for a signed-in actor.
    """
    email = _valid_email(session, email)
    role = _valid_role(role)
    if password is not None:
        check_password(password, email)
    if token is not None and len(token) < 16:
        raise Invalid.field("token", "must have at least 16 characters")
    first_name = _valid_name("first_name", first_name)
    last_name = _valid_name("last_name", last_name)
    username = _valid_name("username", username or "") or email.split("@")[0]
    token = token or new_token()
    digest = token_digest(token)
    if session.scalar(select(User.id).where(User.token_hash == digest)) is not None:
        raise Conflict("That token is in use.", {"token": ["already taken"]})
    user = User(
        email=email,
        username=username,
        first_name=first_name,
        last_name=last_name,
        role=role,
        password_hash=_hasher().hash(password) if password else None,
        token_hash=digest,
    )
    session.add(user)
    session.flush()
    return user, token


def add_user(
    session: Session,
    actor: Actor,
    email: str,
    role: str = Role.ANNOTATOR,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    username: str | None = None,
) -> tuple[User, str]:
    """`create_user` on behalf of `actor`; Forbidden unless they may manage users."""
    authorize(session, actor, Action.USERS_MANAGE)
    return create_user(
        session,
        email,
        role,
        password=password,
        first_name=first_name,
        last_name=last_name,
        username=username,
    )


def list_users(
    session: Session,
    actor: Actor | None,
    is_active: bool | None = None,
    role: str | None = None,
    ordering: str = "id",
) -> list[User]:
    """Every user (or only the active or inactive ones, or one role's), for admins and leads;
    `actor`
    None is the command line.

    `ordering` is a field name, "-" first for descending (`-last_activity`); never-seen users
    sort last either way. Invalid names the bad `ordering` or `role`.
    """
    if actor is not None:
        authorize(session, actor, Action.USERS_VIEW)
    stmt = select(User)
    if is_active is not None:
        stmt = stmt.where(User.is_active.is_(is_active))
    if role is not None:
        stmt = stmt.where(User.role == _valid_role(role))
    column = ORDERINGS.get(ordering.removeprefix("-"))
    if column is None:
        raise Invalid.field(
            "ordering", f"must be one of {', '.join(ORDERINGS)}, '-' first for descending"
        )
    key = column.desc() if ordering.startswith("-") else column.asc()
    return list(session.scalars(stmt.order_by(key.nulls_last(), User.id)))


def view_user(session: Session, actor: Actor, user_id: int) -> User:
    """One user: anyone may read themselves, admins and leads anyone."""
    if actor.id != user_id:
        authorize(session, actor, Action.USERS_VIEW)
    return get_user(session, user_id)


def update_user(
    session: Session,
    actor: Actor | None,
    user_id: int,
    *,
    email: str | None = None,
    username: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
    current_password: str | None = None,
    keep_session: str | None = None,
) -> User:
    """Change the given fields of a user (None leaves a field as it is).

    `actor` None is the command line, run by whoever holds the database: no role check and
    no current password. Otherwise admins may change anyone; others only their own name and
    password (Forbidden names the field they may not change). Changing one's own password
    needs `current_password`. Conflict when the email is taken, or when the change would leave
    no active admin.

    A new password ends the user's web sessions but `keep_session` (the key of the session
    making the change, kept only for one's own password). Deactivating ends all of them and
    revokes the API token.
    """
    own = actor is not None and actor.id == user_id
    if actor is not None and not own:
        authorize(session, actor, Action.USERS_MANAGE)
    user = get_user(session, user_id)
    if email is not None and email.strip().lower() == user.email:
        email = None  # unchanged
    managed = {"email": email, "role": role, "is_active": is_active}
    if own and actor is not None and not actor.may(Action.USERS_MANAGE):
        for name, value in managed.items():
            if value is not None and value != getattr(user, name):
                raise Forbidden(
                    f"A {actor.role} may not change their own {name}; ask an admin.",
                    {name: ["only an admin can change this"]},
                )
    if email is not None:
        user.email = _valid_email(session, email)
    for name, value in (
        ("username", username),
        ("first_name", first_name),
        ("last_name", last_name),
    ):
        if value is not None:
            setattr(user, name, _valid_name(name, value))
    new_role = _valid_role(role) if role is not None else user.role
    still_active = user.is_active if is_active is None else is_active
    if user.role == Role.ADMIN and user.is_active and (new_role != Role.ADMIN or not still_active):
        _keep_an_admin(session, user)
    user.role = new_role
    if user.is_active and not still_active:
        sessions.end_all(session, user.id)
        user.token_hash = None
    user.is_active = still_active
    if password is not None:
        check_password(password, user.email)
        if own:
            _check_current_password(user, current_password)
        user.password_hash = _hasher().hash(password)
        sessions.end_all(session, user.id, keep=keep_session if own else None)
    session.flush()
    return user


def deactivate_user(session: Session, actor: Actor | None, user_id: int) -> User:
    """Deactivate, never delete: the user's labels, reviews and history stay theirs."""
    return update_user(session, actor, user_id, is_active=False)


def change_password(
    session: Session,
    actor: Actor,
    current_password: str,
    new_password: str,
    keep_session: str | None = None,
) -> None:
    """The actor's own new password; Invalid names `current_password` when it is wrong. Ends
    the actor's web sessions but `keep_session` (the one making the change, if any)."""
    user = get_user(session, actor.id)
    check_password(new_password, user.email, "new_password")
    _check_current_password(user, current_password)
    user.password_hash = _hasher().hash(new_password)
    sessions.end_all(session, user.id, keep=keep_session)


def _check_current_password(user: User, current: str | None) -> None:
    if not current:
        raise Invalid.field("current_password", "required to change your own password")
    if not user.password_hash or not _hasher().verify(current, user.password_hash):
        raise Invalid.field("current_password", "is wrong")


def _keep_an_admin(session: Session, user: User) -> None:
    """Conflict if `user` is the last active admin. Locks the admins' rows (PostgreSQL), so
    two admins demoting each other at once cannot both succeed."""
    stmt = (
        select(User.id)
        .where(User.role == Role.ADMIN, User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )
    if set(session.scalars(stmt)) <= {user.id}:
        raise Conflict(
            f"{user.email} is the last active admin; make another user admin first.",
            {"role": ["the last active admin cannot be demoted or deactivated"]},
        )


def _valid_email(session: Session, email: str) -> str:
    """The normalized email; Invalid when malformed, Conflict when taken (any case)."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise Invalid.field("email", f"{email!r} is not an email address")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"A user with email {email} exists.", {"email": ["already taken"]})
    return email


def _valid_role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError:
        raise Invalid.field("role", f"must be one of {', '.join(r.value for r in Role)}") from None


def check_password(password: str, email: str, field: str = "password") -> None:
    """Invalid naming `field` and the reason unless `password` may be set for `email`: 12 to
    1,024 characters, at least 5 of them different, and neither the email nor the part of it
    before the @ (in any case, spaces around ignored)."""
    if len(password) < MIN_PASSWORD:
        raise Invalid.field(field, f"must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid.field(field, f"must have at most {MAX_PASSWORD} characters")
    email = email.strip().lower()
    if password.strip().lower() in (email, email.split("@")[0]):
        raise Invalid.field(field, "must not be your email address or its part before the @")
    if len(set(password)) < MIN_DISTINCT:
        raise Invalid.field(field, f"must have at least {MIN_DISTINCT} different characters")


def _valid_name(field: str, value: str) -> str:
    value = value.strip()
    if len(value) > MAX_NAME:
        raise Invalid.field(field, f"must have at most {MAX_NAME} characters")
    return value


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


def command_line_actor(session: Session, email: str | None) -> Actor:
    """Who a command-line command acts as: the active user with `email`, else the first active
    admin (the lowest id; whoever runs the command holds the database). A deactivated user acts
    nowhere, here neither. NotFound when there is none."""
    if email:
        user = user_by_email(session, email)
        if user is None:
            raise NotFound(f"no user with email {email}")
        if not user.is_active:
            raise Forbidden(f"{email} is deactivated: reactivate them with `assay user set`")
    else:
        user = session.scalar(
            select(User).where(User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)
        )
        if user is None:
            raise NotFound(
                "no active admin yet: add one with `assay user add EMAIL --role admin`, "
                "or pass --user EMAIL"
            )
    return actor_of(user)


def find_by_email(session: Session, actor: Actor, email: str) -> User:
    """The user with `email` (any case), for those who may list users (a lead adding someone
    to a project); NotFound names the email."""
    authorize(session, actor, Action.USERS_VIEW)
    user = user_by_email(session, email)
    if user is None:
        raise NotFound(
            f"No user has the email {email.strip()!r}; an admin adds people on the People page.",
            {"email": ["no such user"]},
        )
    return user


def authenticate_token(session: Session, token: str) -> Actor:
    user = session.scalar(select(User).where(User.token_hash == token_digest(token)))
    if user is None or not user.is_active:
        raise Unauthorized("Invalid token.")
    return actor_of(user)


def authenticate_password(session: Session, email: str, password: str) -> Actor:
    """Check a login; the same error for a wrong email and a wrong password. Not throttled:
    what the web login calls is `log_in`."""
    if len(password) > MAX_PASSWORD:  # could never have been set; not worth hashing
        raise Unauthorized("Wrong email or password.")
    user = user_by_email(session, email)
    hasher = _hasher()
    if user is None or not user.password_hash or not user.is_active:
        hasher.hash(password)  # spend the same time, so timing does not reveal emails
        raise Unauthorized("Wrong email or password.")
    if not hasher.verify(password, user.password_hash):
        raise Unauthorized("Wrong email or password.")
    user.last_activity = utcnow()
    return actor_of(user)


def log_in(
    db: Database,
    email: str,
    password: str,
    address: str,
    lifetime: timedelta,
    now: datetime | None = None,
) -> tuple[Actor, str]:
    """A web login from client `address`: the actor and the key of their new session.

    TooManyRequests, before the password is looked at, while the account or the address must
    wait (services.login_throttle). Unauthorized for a wrong email or password, after the
    failure is committed: its own unit of work, so the failure counts although the login
    fails.
    """
    now = now or utcnow()
    attempt = login_throttle.Attempt.of(email, address)
    with db.session(write=True) as s:
        login_throttle.check(s, attempt, now)
        try:
            actor = authenticate_password(s, email, password)
        except Unauthorized as exc:
            login_throttle.record_failure(s, attempt, now)
            refused = exc
        else:
            login_throttle.record_success(s, attempt, now)
            return actor, sessions.start(s, actor.id, lifetime, now)
    raise refused


def log_out(session: Session, key: str) -> None:
    """End the web session with `key`."""
    sessions.end(session, key)


def session_actor(session: Session, key: str) -> Actor:
    """Who is signed in with web session `key`; Unauthorized when it has ended."""
    return actor_of(sessions.user_of(session, key))
