"""Login throttling (issue #16 L3): exponential backoff with a cap per account and per address,
counting only failures, in the database; an attacker cannot lock a person out for good."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from assay.services import users
from assay.services.errors import TooManyRequests, Unauthorized
from assay.services.login_throttle import ACCOUNT, ADDRESS, FORGET_AFTER, Backoff
from assay.store.bookkeeping import LoginThrottle
from assay.store.db import Database

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOME, ATTACKER = "192.0.2.10", "203.0.113.66"


def _log_in(db, email, password, address, now):
    return users.log_in(db, email, password, address, DAY, now=now)


def _fail(db, email, address, now, times=1):
    for _ in range(times):
        with pytest.raises(Unauthorized):
            _log_in(db, email, "not-the-password", address, now)


def _wait(db, email, password, address, now) -> int:
    with pytest.raises(TooManyRequests) as refused:
        _log_in(db, email, password, address, now)
    assert refused.value.status_code == 429
    return refused.value.retry_after


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def test_backoff_doubles_from_one_second_up_to_its_cap():
    assert [ACCOUNT.wait(n).total_seconds() for n in range(4, 16)] == [
        0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300,
    ]  # fmt: skip
    assert ADDRESS.wait(9) == timedelta(0) and ADDRESS.wait(10) == s(1)
    assert ADDRESS.wait(10_000) == ADDRESS.cap == timedelta(minutes=15)
    assert Backoff(free=0, cap=s(5)).wait(0) == s(1)


def test_failures_slow_the_account_and_even_the_right_password_waits(db, people):
    lead = people["lead"]
    _fail(db, lead.email, HOME, T0, times=ACCOUNT.free)
    # the sixth attempt waits 1 s, right password or not; the refusal itself is not counted
    assert _wait(db, lead.email, lead.password, HOME, T0) == 1
    assert _wait(db, lead.email, "not-the-password", HOME, T0 + s(0.5)) == 1
    _fail(db, lead.email, HOME, T0 + s(1))  # the 6th failure: now 2 s
    assert _wait(db, lead.email, lead.password, HOME, T0 + s(2)) == 1
    actor, key = _log_in(db, lead.email, lead.password, HOME, T0 + s(3))
    assert actor.id == lead.id and key
    # a success resets the account: four more failures and no wait for the account (the
    # address, at 10 failures now, asks for 1 s)
    _fail(db, lead.email, HOME, T0 + s(4), times=ACCOUNT.free - 1)
    _log_in(db, lead.email, lead.password, HOME, T0 + s(5))


def test_the_address_is_throttled_across_accounts_and_a_success_does_not_reset_it(db, people):
    for i in range(ADDRESS.free):
        _fail(db, f"guess{i}@example.com", ATTACKER, T0)
    lead = people["lead"]
    assert _wait(db, lead.email, lead.password, ATTACKER, T0) == 1  # any account from there
    _log_in(db, lead.email, lead.password, HOME, T0)  # other addresses are not affected
    # an account of one's own does not wipe the address's count: the next failure is the 11th
    me = people["annotator"]
    _log_in(db, me.email, me.password, ATTACKER, T0 + s(1))
    _fail(db, "guess@example.com", ATTACKER, T0 + s(1))
    assert _wait(db, "guess@example.com", "x", ATTACKER, T0 + s(1)) == 2


def test_waits_are_capped_and_failures_forgotten(db, people):
    lead, last = people["lead"], T0
    for i in range(30):  # an attacker who always waits as long as asked
        last = T0 + i * ADDRESS.cap
        _fail(db, lead.email, ATTACKER, last)
    # the person, from elsewhere, waits at most the account's cap (5 min) after a failure
    assert _wait(db, lead.email, lead.password, HOME, last + s(1)) == 299
    assert _wait(db, "x@example.com", "x", ATTACKER, last + s(1)) == 899  # the address: 15 min
    _log_in(db, lead.email, lead.password, HOME, last + ACCOUNT.cap)
    # an hour without failures: the address starts from zero again
    later = last + FORGET_AFTER + s(1)
    _fail(db, lead.email, ATTACKER, later, times=ACCOUNT.free)
    _log_in(db, lead.email, lead.password, ATTACKER, later + s(1))


def test_the_person_gets_in_from_a_known_address_while_attacked(db, people):
    """The account's wait alone would let anyone lock an admin out by failing on purpose."""
    admin = people["admin"]
    _log_in(db, admin.email, admin.password, HOME, T0)  # where they usually sign in
    now = T0
    for i in range(20):  # many addresses, each well under its own limit, as fast as allowed
        _fail(db, admin.email, f"198.51.100.{i}", now)
        last, now = now, now + ACCOUNT.wait(i + 1)
    assert _wait(db, admin.email, admin.password, "192.0.2.99", last + s(1)) == 299
    actor, _ = _log_in(db, admin.email, admin.password, HOME, last + s(1))
    assert actor.id == admin.id


def test_unknown_emails_wait_alike(db, people):
    _fail(db, "nobody@example.com", HOME, T0, times=ACCOUNT.free)
    _fail(db, people["lead"].email, "192.0.2.11", T0, times=ACCOUNT.free)
    assert _wait(db, "nobody@example.com", "x", HOME, T0) == 1
    assert _wait(db, people["lead"].email, "x", "192.0.2.11", T0) == 1


def test_replicas_share_the_counts(db, people):
    """Two servers on one database: failures counted by one slow down logins on the other."""
    other = Database.connect(db.engine.url.render_as_string(hide_password=False))
    try:
        _fail(db, people["lead"].email, HOME, T0, times=ACCOUNT.free)
        assert _wait(other, people["lead"].email, people["lead"].password, "192.0.2.12", T0) == 1
    finally:
        other.dispose()


def test_what_was_typed_is_not_stored(db, people):
    _fail(db, "Typed-A-Password-Here@example.com", HOME, T0)
    with db.session(write=False) as s:
        rows = s.execute(select(LoginThrottle.scope, LoginThrottle.key_hash)).all()
    assert {scope for scope, _ in rows} == {"account", "address"}
    assert all(len(k) == 64 and "Typed" not in k and "192" not in k for _, k in rows)


def test_concurrent_attempts_are_counted_one_after_another(db, people):
    """A burst of simultaneous guesses gets no more tries than one guess after another."""

    def attempt(i: int) -> str:
        try:
            _log_in(db, people["lead"].email, f"guess-{i}", f"198.51.100.{i}", T0)
        except (Unauthorized, TooManyRequests) as exc:
            return type(exc).__name__
        return "in"

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(attempt, range(24)))
    assert answers.count("Unauthorized") == ACCOUNT.free
    assert answers.count("TooManyRequests") == 24 - ACCOUNT.free
