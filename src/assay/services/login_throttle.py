"""Login throttling: exponential backoff per account and per client address, counted in the
database so that every replica sees the same failures.

Only failed logins count. While an account or an address must wait, a login is refused with
TooManyRequests before the password is looked at, and the refusal is not counted. After
`Backoff.free` failures each further one doubles the wait, from 1 s up to `Backoff.cap`; a key
with no failure for `FORGET_AFTER` starts again from zero.

- Account (the email as typed, normalized; unknown emails alike, so waits reveal nothing):
  slows guessing one person's password from many addresses. A success resets it.
- Address (the client's IP, as the trusted proxy reports it): slows one machine guessing
  many accounts. A success does not reset it, else an attacker with an account of their own
  could wipe their count between guesses; it is forgotten after `FORGET_AFTER`.
- Known addresses: an address the account signed in from in the last `KNOWN_FOR` skips the
  account's wait (never its own). The account's wait alone would let anyone lock a person
  out by failing on purpose; so the person still gets in from where they usually work, and
  from anywhere else waits at most `ACCOUNT.cap` after the last failure.

Keys are stored as SHA-256 digests: a password typed into the email field is never kept.
On PostgreSQL the attempt's rows are locked (`FOR UPDATE`) from the check to the record, so
concurrent attempts on one account or address are counted one after the other; on SQLite the
write transaction (`BEGIN IMMEDIATE`) does the same.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from assay.services.errors import TooManyRequests
from assay.store.bookkeeping import LoginThrottle


@dataclass(frozen=True)
class Backoff:
    """No wait for the first `free` failures, then 1 s, 2 s, 4 s, ... up to `cap`."""

    free: int
    cap: timedelta

    def wait(self, failures: int) -> timedelta:
        """How long after the last of `failures` failures the next attempt must wait.

        >>> [ACCOUNT.wait(n).total_seconds() for n in (4, 5, 6, 13, 14, 40)]
        [0.0, 1.0, 2.0, 256.0, 300.0, 300.0]
        """
        if failures < self.free:
            return timedelta(0)
        exponent = min(failures - self.free, 30)
        return min(self.cap, timedelta(seconds=2**exponent))


ACCOUNT = Backoff(free=5, cap=timedelta(minutes=5))
ADDRESS = Backoff(free=10, cap=timedelta(minutes=15))
FORGET_AFTER = timedelta(hours=1)
KNOWN_FOR = timedelta(days=30)
MAX_KEY = 320  # longer input is cut: an email has at most 254 characters


@dataclass(frozen=True)
class Attempt:
    """The digests a login attempt is counted under."""

    account: str
    address: str
    known: str  # this account from this address

    @classmethod
    def of(cls, email: str, address: str) -> Attempt:
        email = email.strip().lower()[:MAX_KEY]
        address = address[:MAX_KEY]
        return cls(_digest(email), _digest(address), _digest(f"{email}\n{address}"))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def check(session: Session, attempt: Attempt, now: datetime) -> None:
    """TooManyRequests (with the seconds to wait) while the attempt's account or address must
    wait; otherwise the attempt's rows exist and are locked until the transaction ends."""
    _forget_stale(session, now)
    rows = {"account": attempt.account, "address": attempt.address}
    _insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    session.execute(
        _insert(LoginThrottle).on_conflict_do_nothing(),
        [{"scope": s, "key_hash": k, "failures": 0, "at": now} for s, k in sorted(rows.items())],
    )
    found = session.execute(
        select(LoginThrottle.scope, LoginThrottle.failures, LoginThrottle.at)
        .where(tuple_(LoginThrottle.scope, LoginThrottle.key_hash).in_(list(rows.items())))
        .order_by(LoginThrottle.scope, LoginThrottle.key_hash)
        .with_for_update()
    ).all()
    known = session.scalar(
        select(LoginThrottle.at).where(
            LoginThrottle.scope == "known", LoginThrottle.key_hash == attempt.known
        )
    )
    until = now
    for scope, failures, at in found:
        if scope == "account" and known is not None:
            continue
        backoff = ACCOUNT if scope == "account" else ADDRESS
        until = max(until, at + backoff.wait(failures))
    if until > now:
        seconds = math.ceil((until - now).total_seconds())
        raise TooManyRequests(
            f"Too many failed logins; try again in {seconds} s.", retry_after=seconds
        )


def record_failure(session: Session, attempt: Attempt, now: datetime) -> None:
    """Count one failure for the account and the address (rows made by `check`)."""
    session.execute(
        update(LoginThrottle)
        .where(
            tuple_(LoginThrottle.scope, LoginThrottle.key_hash).in_(
                [("account", attempt.account), ("address", attempt.address)]
            )
        )
        .values(failures=LoginThrottle.failures + 1, at=now)
    )


def record_success(session: Session, attempt: Attempt, now: datetime) -> None:
    """Reset the account, drop the address's row if it has no failures, and remember the
    address as one this account signs in from."""
    session.execute(
        delete(LoginThrottle).where(
            or_(
                (LoginThrottle.scope == "account") & (LoginThrottle.key_hash == attempt.account),
                (LoginThrottle.scope == "address")
                & (LoginThrottle.key_hash == attempt.address)
                & (LoginThrottle.failures == 0),
            )
        )
    )
    _insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    stmt = _insert(LoginThrottle).values(scope="known", key_hash=attempt.known, failures=0, at=now)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["scope", "key_hash"], set_={"at": now})
    )


def _forget_stale(session: Session, now: datetime) -> None:
    """Delete the rows that no longer count; rows another attempt holds are left to it."""
    stale = (
        select(LoginThrottle.scope, LoginThrottle.key_hash)
        .where(
            or_(
                (LoginThrottle.scope != "known") & (LoginThrottle.at < now - FORGET_AFTER),
                (LoginThrottle.scope == "known") & (LoginThrottle.at < now - KNOWN_FOR),
            )
        )
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(LoginThrottle).where(tuple_(LoginThrottle.scope, LoginThrottle.key_hash).in_(stale))
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
