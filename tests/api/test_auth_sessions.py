"""What a password change and deactivation do to web sessions and API tokens (issue #16 L5):
a password change ends the user's other web sessions and keeps the token; an admin's reset
ends all of them; deactivation ends them and revokes the token for good."""

from __future__ import annotations

from builders import csrf_of


def _whoami(c, headers=None) -> int:
    return c.get("/api/current-user/whoami", headers=headers).status_code


def test_own_password_change_ends_the_other_sessions_not_this_one_nor_the_token(
    client, people, signed_in
):
    me = people["reviewer"]
    here, elsewhere = signed_in(me), signed_in(me)
    csrf = csrf_of(here.get("/").text)
    r = here.post(
        "/api/current-user/password",
        json={"current_password": me.password, "new_password": "reviewer-new-password"},
        headers={"X-CSRFToken": csrf},
    )
    assert r.status_code == 204, r.text
    assert _whoami(here) == 200
    assert _whoami(elsewhere) == 401
    assert elsewhere.get("/", follow_redirects=False).headers["location"] == "/login"
    assert _whoami(client, me.headers) == 200  # the API token stays


def test_a_token_client_changing_its_password_ends_every_web_session(client, people, signed_in):
    me = people["annotator"]
    browser = signed_in(me)
    r = client.patch(
        f"/api/users/{me.id}",
        json={"password": "annotator-new-password", "current_password": me.password},
        headers=me.headers,
    )
    assert r.status_code == 200, r.text
    assert _whoami(browser) == 401 and _whoami(client, me.headers) == 200


def test_an_admins_reset_ends_every_session_of_that_user(client, people, signed_in):
    lead = people["lead"]
    browser = signed_in(lead)
    admin_browser = signed_in(people["admin"])
    r = client.patch(
        f"/api/users/{lead.id}",
        json={"password": "reset-by-the-admin"},
        headers=people["admin"].headers,
    )
    assert r.status_code == 200, r.text
    assert _whoami(browser) == 401
    assert _whoami(admin_browser) == 200  # only the lead's sessions
    assert _whoami(client, lead.headers) == 200


def test_deactivation_ends_sessions_and_revokes_the_token_for_good(client, people, signed_in):
    ann = people["annotator2"]
    browser = signed_in(ann)
    admin = people["admin"].headers
    assert client.delete(f"/api/users/{ann.id}", headers=admin).status_code == 204
    assert _whoami(browser) == 401 and _whoami(client, ann.headers) == 401
    client.patch(f"/api/users/{ann.id}", json={"is_active": True}, headers=admin)
    assert _whoami(browser) == 401 and _whoami(client, ann.headers) == 401
