"""The login form's defences (issue #16 L3, L5): throttling with 429 and Retry-After, logins
that end on the server, and the session cookie's flags."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta

import itsdangerous
import pytest
from fastapi.testclient import TestClient

from assay.app import create_app
from assay.services import users
from assay.services.login_throttle import ACCOUNT, ADDRESS
from assay.settings import Settings
from builders import log_in

TRUSTED_PROXY = ("127.0.0.1", 50000)


@pytest.fixture
def clock(monkeypatch):
    """The login's clock, moved by hand: `clock.advance(seconds)`."""

    class Clock:
        now = users.utcnow()

        def advance(self, seconds: float) -> None:
            self.now += timedelta(seconds=seconds)

    c = Clock()
    monkeypatch.setattr(users, "utcnow", lambda: c.now)
    return c


def _cookie(response) -> str:
    return next(v for k, v in response.headers.multi_items() if k == "set-cookie")


def test_failed_logins_are_throttled_with_429_and_retry_after(client, people, clock):
    lead = people["lead"]
    wrong = replace(lead, password="not-the-password")
    for _ in range(ACCOUNT.free):
        assert log_in(client, wrong).status_code == 400
    r = log_in(client, lead)  # even the right password waits, before it is looked at
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert "Too many failed logins; try again in 1 s." in r.text
    assert 'value="lead@example.com"' in r.text
    clock.advance(1)
    assert log_in(client, lead).status_code == 303


def test_token_auth_is_not_throttled(client, people, signed_in, clock):
    lead = people["lead"]
    browser = signed_in(lead)
    wrong = replace(lead, password="not-the-password")
    for _ in range(ADDRESS.free + 3):
        clock.advance(600)  # as slowly as the throttle asks: account and address both count
        assert log_in(client, wrong).status_code == 400
    assert log_in(client, lead).status_code == 429
    assert client.get("/api/current-user/whoami", headers=lead.headers).status_code == 200
    assert browser.get("/api/current-user/whoami").status_code == 200  # signed in before


def test_the_throttle_believes_forwarded_addresses_only_from_trusted_proxies(app, people):
    def fail(c: TestClient, forwarded_for: str, email: str):
        c.headers["X-Forwarded-For"] = forwarded_for
        return log_in(c, replace(people["lead"], email=email, password="wrong-password"))

    with TestClient(app, client=TRUSTED_PROXY) as proxied:
        for i in range(ADDRESS.free):
            assert fail(proxied, "203.0.113.5", f"guess{i}@example.com").status_code == 400
        assert fail(proxied, "203.0.113.5", "guess@example.com").status_code == 429
        assert fail(proxied, "203.0.113.6", "guess@example.com").status_code == 400
    with TestClient(app) as direct:  # the header of an untrusted peer changes nothing
        for i in range(ADDRESS.free):
            assert fail(direct, f"198.51.100.{i}", f"other{i}@example.com").status_code == 400
        assert fail(direct, "198.51.100.99", "other@example.com").status_code == 429


def test_a_copied_cookie_stops_working_after_logout(app, people, signed_in):
    browser = signed_in(people["lead"])
    copy = TestClient(app)
    copy.cookies.set("assay_session", browser.cookies["assay_session"])
    assert copy.get("/", follow_redirects=False).status_code == 200
    page = browser.get("/")
    csrf = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert copy.get("/", follow_redirects=False).headers["location"] == "/login"
    assert copy.get("/api/current-user/whoami").status_code == 401
    copy.close()


def test_a_forged_cookie_with_a_user_id_signs_no_one_in(client, people, settings):
    """Before, the cookie held the user's id: whoever had the secret key was anyone."""
    signer = itsdangerous.TimestampSigner(settings.secret_key)
    for data in ({"uid": people["admin"].id}, {"sid": "guessed-session-key"}):
        value = signer.sign(base64.b64encode(json.dumps(data).encode())).decode()
        client.cookies.set("assay_session", value)
        assert client.get("/api/current-user/whoami").status_code == 401
        assert client.get("/", follow_redirects=False).headers["location"] == "/login"


@pytest.mark.parametrize(
    ("setting", "base_url", "peer", "forwarded_proto", "secure"),
    [
        ("auto", "http://testserver", ("testclient", 50000), None, False),
        ("auto", "https://testserver", ("testclient", 50000), None, True),
        ("auto", "http://testserver", TRUSTED_PROXY, "https", True),
        ("auto", "http://testserver", ("testclient", 50000), "https", False),  # untrusted
        ("true", "http://testserver", ("testclient", 50000), None, True),
        ("false", "https://testserver", ("testclient", 50000), None, False),
    ],
)
def test_the_session_cookie_flags(db, tmp_path, setting, base_url, peer, forwarded_proto, secure):
    settings = Settings(
        data_dir=tmp_path, secret_key="k" * 32, background_queue="thread", secure_cookies=setting
    )
    app = create_app(settings, db=db, run_migrations=False)
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    with TestClient(app, base_url=base_url, client=peer, headers=headers) as c:
        r = c.get("/login")  # the cookie that carries the CSRF token, and later the session
        flags = {f.strip().lower() for f in _cookie(r).split(";")[1:]}
    assert {"httponly", "samesite=lax"} <= flags
    assert ("secure" in flags) is secure
