"""Server-side web sessions (issue #16 L5): logout, a password change and deactivation end
them; deactivation also revokes the API token; a password change keeps it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from assay.services import sessions, users
from assay.services.errors import Unauthorized
from assay.store.bookkeeping import WebSession

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _sign_in(db, person, now=None) -> str:
    _actor, key = users.log_in(db, person.email, person.password, "192.0.2.1", DAY, now=now)
    return key


def _who(db, key: str, now=None) -> int:
    with db.session(write=False) as s:
        return sessions.user_of(s, key, now).id


def _ended(db, key: str, now=None) -> bool:
    try:
        _who(db, key, now)
    except Unauthorized:
        return True
    return False


def test_a_session_lasts_its_lifetime_and_logging_out_ends_it(db, people):
    lead = people["lead"]
    key = _sign_in(db, lead, now=T0)
    assert _who(db, key, T0 + DAY - timedelta(seconds=1)) == lead.id
    assert _ended(db, key, T0 + DAY)
    other = _sign_in(db, lead)
    with db.session() as s:
        users.log_out(s, other)
    assert _ended(db, other)
    with db.session() as s, pytest.raises(Unauthorized, match="session has ended"):
        users.session_actor(s, "made-up")


def test_only_the_keys_digest_is_stored_and_expired_rows_go(db, people):
    key = _sign_in(db, people["lead"], now=T0)
    _sign_in(db, people["reviewer"], now=T0 + 2 * DAY)  # the lead's has expired by now
    with db.session(write=False) as s:
        rows = s.execute(select(WebSession.user_id, WebSession.key_hash)).all()
    assert rows == [(people["reviewer"].id, rows[0][1])]
    assert key not in rows[0][1] and len(rows[0][1]) == 64


def test_a_password_change_ends_the_other_sessions_and_keeps_the_token(db, people):
    me = people["annotator"]
    here, elsewhere = _sign_in(db, me), _sign_in(db, me)
    with db.session() as s:
        actor = users.session_actor(s, here)
        users.change_password(s, actor, me.password, "a-brand-new-one", keep_session=here)
    assert _who(db, here) == me.id and _ended(db, elsewhere)
    with db.session(write=False) as s:
        assert users.authenticate_token(s, me.token).id == me.id

    # the same through PATCH of one's own user; an admin's reset ends all of them
    me.password = "a-brand-new-one"
    other = _sign_in(db, me)
    with db.session() as s:
        users.update_user(
            s,
            users.session_actor(s, here),
            me.id,
            password="yet-another-one",
            current_password=me.password,
            keep_session=here,
        )
    assert _who(db, here) == me.id and _ended(db, other)
    with db.session() as s:
        admin = users.authenticate_token(s, people["admin"].token)
        users.update_user(s, admin, me.id, password="set-by-the-admin", keep_session=here)
    assert _ended(db, here)


def test_deactivation_ends_every_session_and_revokes_the_token(db, people):
    me = people["annotator"]
    keys = [_sign_in(db, me), _sign_in(db, me)]
    with db.session() as s:
        users.deactivate_user(s, None, me.id)
    assert all(_ended(db, k) for k in keys)
    with db.session() as s:
        users.update_user(s, None, me.id, is_active=True)
    with db.session(write=False) as s, pytest.raises(Unauthorized):
        users.authenticate_token(s, me.token)  # reactivation does not bring it back
    assert all(_ended(db, k) for k in keys)
    assert _who(db, _sign_in(db, me)) == me.id
