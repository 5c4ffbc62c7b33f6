"""Managing users: admins list, add, change and deactivate users over the API, the command line
and label-studio-sdk; everyone reads and changes their own name and password; there is always
an active admin; a deactivated user can no longer log in or use their token."""

from __future__ import annotations

import pytest
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError
from pwdlib import PasswordHash
from typer.testing import CliRunner

from assay.cli import app as cli_app
from assay.services import users
from assay.services.access import Actor, Role
from assay.services.errors import Conflict, Forbidden, Invalid
from builders import csrf_of, log_in

ROLES = ["admin", "lead", "reviewer", "annotator"]


# action -> (request builder taking people and the acting role, expected status per role)
MATRIX = {
    "list users": (
        lambda p, me: ("GET", "/api/users/", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403, "anonymous": 401},
    ),
    "create user": (
        lambda p, me: ("POST", "/api/users/", {"email": f"new-{me}@example.com"}),
        {"admin": 201, "lead": 403, "reviewer": 403, "annotator": 403, "anonymous": 401},
    ),
    "view another user": (
        lambda p, me: ("GET", f"/api/users/{p['annotator2'].id}/", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403, "anonymous": 401},
    ),
    "view oneself": (
        lambda p, me: ("GET", f"/api/users/{p[me].id if me in p else 1}/", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200, "anonymous": 401},
    ),
    "rename another user": (
        lambda p, me: ("PATCH", f"/api/users/{p['annotator2'].id}/", {"first_name": "Ann"}),
        {"admin": 200, "lead": 403, "reviewer": 403, "annotator": 403, "anonymous": 401},
    ),
    "rename oneself": (
        lambda p, me: ("PATCH", f"/api/users/{p[me].id if me in p else 1}/", {"last_name": "X"}),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200, "anonymous": 401},
    ),
    "change one's own role": (
        lambda p, me: (
            "PATCH",
            f"/api/users/{p[me].id if me in p else 1}/",
            {"role": "lead" if me == "admin" else "admin"},
        ),
        # the admin may, but is the only active admin here (see test_last_active_admin_*)
        {"admin": 409, "lead": 403, "reviewer": 403, "annotator": 403, "anonymous": 401},
    ),
    "change another's role": (
        lambda p, me: ("PATCH", f"/api/users/{p['annotator2'].id}/", {"role": "reviewer"}),
        {"admin": 200, "lead": 403, "reviewer": 403, "annotator": 403, "anonymous": 401},
    ),
    "deactivate another user": (
        lambda p, me: ("DELETE", f"/api/users/{p['annotator2'].id}/", None),
        {"admin": 204, "lead": 403, "reviewer": 403, "annotator": 403, "anonymous": 401},
    ),
    "deactivate oneself": (
        lambda p, me: ("DELETE", f"/api/users/{p[me].id if me in p else 1}/", None),
        # the admin is the only active admin here: 409, see test_last_active_admin_*
        {"admin": 409, "lead": 403, "reviewer": 403, "annotator": 403, "anonymous": 401},
    ),
    "change one's password": (
        lambda p, me: (
            "POST",
            "/api/current-user/password",
            {
                "current_password": p[me].password if me in p else "x",
                "new_password": "a-new-password",
            },
        ),
        {"admin": 204, "lead": 204, "reviewer": 204, "annotator": 204, "anonymous": 401},
    ),
}


@pytest.mark.parametrize("action", list(MATRIX))
def test_role_action_matrix(client, people, action):
    build, expected = MATRIX[action]
    answers = {}
    for role in ["anonymous", "annotator", "reviewer", "lead", "admin"]:  # the admin's changes last
        method, url, body = build(people, role)
        headers = people[role].headers if role in people else {}
        r = client.request(method, url, json=body, headers=headers)
        answers[role] = r.status_code
        if r.status_code >= 400:
            assert r.json()["detail"], r.text
        if method == "GET":  # without the trailing slash too (the SDKs use both)
            assert client.get(url.rstrip("/"), headers=headers).status_code == r.status_code
    assert answers == expected


def test_admin_lists_users_with_role_and_activity(client, people):
    admin = people["admin"].headers
    client.delete(f"/api/users/{people['annotator2'].id}", headers=admin)
    everyone = client.get("/api/users/", headers=admin).json()
    assert [u["email"] for u in everyone] == [f"{k}@example.com" for k in people]
    by_email = {u["email"]: u for u in everyone}
    assert by_email["lead@example.com"]["role"] == "lead"
    assert by_email["annotator2@example.com"]["is_active"] is False
    assert "password_hash" not in by_email["lead@example.com"]
    assert "token" not in by_email["lead@example.com"]

    active = client.get("/api/users?is_active=true", headers=admin).json()
    assert "annotator2@example.com" not in {u["email"] for u in active}
    assert len(active) == 4
    inactive = client.get("/api/users?is_active=false", headers=admin).json()
    assert [u["email"] for u in inactive] == ["annotator2@example.com"]
    annotators = client.get("/api/users?role=annotator", headers=admin).json()
    assert {u["email"] for u in annotators} == {"annotator@example.com", "annotator2@example.com"}
    newest = client.get("/api/users?ordering=-id", headers=admin).json()
    assert [u["id"] for u in newest] == sorted((u["id"] for u in everyone), reverse=True)
    by_email_order = client.get("/api/users?ordering=email", headers=admin).json()
    assert [u["email"] for u in by_email_order] == sorted(by_email)

    bad = client.get("/api/users?ordering=password", headers=admin)
    assert bad.status_code == 400 and "ordering" in bad.json()["validation_errors"]
    bad = client.get("/api/users?role=king", headers=admin)
    assert bad.status_code == 400 and "role" in bad.json()["validation_errors"]


def test_admin_creates_a_user_whose_token_is_shown_once_and_works(client, people):
    admin = people["admin"].headers
    r = client.post(
        "/api/users",
        json={
            "email": "  New.Person@Example.com ",
            "role": "reviewer",
            "password": "long-enough-pw",
            "first_name": "New",
            "last_name": "Person",
            "phone": "ignored",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["email"] == "new.person@example.com"
    assert (made["role"], made["is_active"], made["initials"]) == ("reviewer", True, "NP")
    me = client.get("/api/current-user/whoami", headers={"Authorization": f"Token {made['token']}"})
    assert me.status_code == 200 and me.json()["id"] == made["id"]
    again = client.get(f"/api/users/{made['id']}", headers=admin).json()
    assert "token" not in again and again["email"] == "new.person@example.com"
    # default role: annotator
    plain = client.post("/api/users", json={"email": "plain@example.com"}, headers=admin).json()
    assert plain["role"] == "annotator"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"email": "NEW.PERSON@example.com"}, 409, "email"),  # unique, any case
        ({"email": "not-an-email"}, 400, "email"),
        ({}, 400, "email"),
        ({"email": "x@example.com", "role": "king"}, 400, "role"),
        ({"email": "x@example.com", "password": "short"}, 400, "password"),
        ({"email": "x@example.com", "first_name": "a" * 151}, 400, "first_name"),
    ],
)
def test_create_user_errors_name_the_field(client, people, body, status, field):
    admin = people["admin"].headers
    client.post("/api/users", json={"email": "new.person@example.com"}, headers=admin)
    r = client.post("/api/users", json=body, headers=admin)
    assert r.status_code == status, r.text
    assert field in r.json()["validation_errors"], r.json()
    assert r.json()["status_code"] == status


def test_admin_changes_a_user(client, people):
    admin = people["admin"].headers
    uid = people["annotator"].id
    r = client.patch(
        f"/api/users/{uid}/",
        json={"role": "reviewer", "first_name": "Ann", "last_name": "Otator", "email": "A@x.org"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["role"], got["first_name"], got["last_name"]) == ("reviewer", "Ann", "Otator")
    assert got["email"] == "a@x.org"
    # the role is in force at once
    me = client.get("/api/current-user/whoami", headers=people["annotator"].headers).json()
    assert me["role"] == "reviewer"
    taken = client.patch(f"/api/users/{uid}", json={"email": "LEAD@example.com"}, headers=admin)
    assert taken.status_code == 409 and "email" in taken.json()["validation_errors"]
    bad = client.patch(f"/api/users/{uid}", json={"role": "boss"}, headers=admin)
    assert bad.status_code == 400 and "role" in bad.json()["validation_errors"]
    bad = client.patch(f"/api/users/{uid}", json={"is_active": "maybe"}, headers=admin)
    assert bad.status_code == 400 and "is_active" in bad.json()["validation_errors"]
    missing = client.patch("/api/users/99999", json={"first_name": "x"}, headers=admin)
    assert missing.status_code == 404
    assert client.get("/api/users/99999", headers=admin).status_code == 404
    assert client.delete("/api/users/99999", headers=admin).status_code == 404


def test_admin_resets_anothers_password_without_the_current_one(client, people):
    uid = people["lead"].id
    r = client.patch(
        f"/api/users/{uid}", json={"password": "reset-by-admin"}, headers=people["admin"].headers
    )
    assert r.status_code == 200, r.text
    people["lead"].password = "reset-by-admin"
    assert log_in(client, people["lead"]).status_code == 303
    short = client.patch(
        f"/api/users/{uid}", json={"password": "short"}, headers=people["admin"].headers
    )
    assert short.status_code == 400 and "password" in short.json()["validation_errors"]


def test_non_admin_cannot_change_own_role_or_activity(client, people):
    me = people["annotator"]
    r = client.patch(f"/api/users/{me.id}", json={"role": "admin"}, headers=me.headers)
    assert r.status_code == 403 and "role" in r.json()["validation_errors"]
    r = client.patch(f"/api/users/{me.id}", json={"is_active": False}, headers=me.headers)
    assert r.status_code == 403 and "is_active" in r.json()["validation_errors"]
    r = client.patch(f"/api/users/{me.id}", json={"email": "me@else.org"}, headers=me.headers)
    assert r.status_code == 403 and "email" in r.json()["validation_errors"]
    # nothing changed, not even the name sent alongside
    r = client.patch(
        f"/api/users/{me.id}", json={"first_name": "Sneaky", "role": "lead"}, headers=me.headers
    )
    assert r.status_code == 403
    mine = client.get(f"/api/users/{me.id}", headers=me.headers).json()
    assert (mine["role"], mine["first_name"], mine["is_active"]) == ("annotator", "", True)
    # sending one's unchanged role (a full form) is fine
    same = client.patch(
        f"/api/users/{me.id}",
        json={"role": "annotator", "email": "ANNOTATOR@example.com", "first_name": "Ann"},
        headers=me.headers,
    )
    assert same.status_code == 200 and same.json()["first_name"] == "Ann"


def test_own_password_change_needs_the_current_password(client, people):
    me = people["reviewer"]
    url = "/api/current-user/password/"
    wrong = client.post(
        url,
        json={"current_password": "not-it-at-all", "new_password": "brand-new-pw"},
        headers=me.headers,
    )
    assert wrong.status_code == 400
    assert "current_password" in wrong.json()["validation_errors"]
    missing = client.post(url, json={"new_password": "brand-new-pw"}, headers=me.headers)
    assert missing.status_code == 400 and "current_password" in missing.json()["validation_errors"]
    short = client.post(
        url, json={"current_password": me.password, "new_password": "short"}, headers=me.headers
    )
    assert short.status_code == 400 and "new_password" in short.json()["validation_errors"]
    assert log_in(client, me).status_code == 303  # still the old password
    client.cookies.clear()

    ok = client.post(
        url,
        json={"current_password": me.password, "new_password": "brand-new-pw"},
        headers=me.headers,
    )
    assert ok.status_code == 204, ok.text
    assert log_in(client, me).status_code == 400  # the old one no longer works
    me.password = "brand-new-pw"
    assert log_in(client, me).status_code == 303


def test_own_password_through_patch_needs_the_current_password(client, people):
    me = people["admin"]  # even an admin, for their own account
    url = f"/api/users/{me.id}"
    r = client.patch(url, json={"password": "brand-new-pw"}, headers=me.headers)
    assert r.status_code == 400 and "current_password" in r.json()["validation_errors"]
    r = client.patch(
        url,
        json={"password": "brand-new-pw", "current_password": "wrong-wrong"},
        headers=me.headers,
    )
    assert r.status_code == 400 and "current_password" in r.json()["validation_errors"]
    r = client.patch(
        url,
        json={"password": "brand-new-pw", "current_password": me.password},
        headers=me.headers,
    )
    assert r.status_code == 200, r.text
    me.password = "brand-new-pw"
    assert log_in(client, me).status_code == 303


def test_deactivated_user_cannot_use_token_or_log_in_and_keeps_labels(
    client, people, project, signed_in
):
    ann = people["annotator"]
    tid = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": "a.jpg"}],
        headers=people["lead"].headers,
    ).json()["task_ids"][0]
    made = client.post(f"/api/tasks/{tid}/annotations", json={"result": []}, headers=ann.headers)
    assert made.status_code == 201
    browser = signed_in(ann)
    assert browser.get("/api/current-user/whoami").status_code == 200

    r = client.delete(f"/api/users/{ann.id}/", headers=people["admin"].headers)
    assert r.status_code == 204 and r.content == b""

    assert client.get("/api/current-user/whoami", headers=ann.headers).status_code == 401
    assert browser.get("/api/current-user/whoami").status_code == 401  # an open session ends too
    assert log_in(client, ann).status_code == 400
    # never deleted: still listed, inactive, and their annotation is still theirs
    row = client.get(f"/api/users/{ann.id}", headers=people["admin"].headers).json()
    assert row["is_active"] is False
    kept = client.get(f"/api/annotations/{made.json()['id']}", headers=people["lead"].headers)
    assert kept.status_code == 200 and kept.json()["completed_by"] == ann.id

    # reactivated: they sign in again; the old token stays revoked, a new one works
    back = client.patch(
        f"/api/users/{ann.id}", json={"is_active": True}, headers=people["admin"].headers
    )
    assert back.status_code == 200 and back.json()["is_active"] is True
    assert client.get("/api/current-user/whoami", headers=ann.headers).status_code == 401
    assert browser.get("/api/current-user/whoami").status_code == 401  # the old session too
    assert log_in(client, ann).status_code == 303
    page = client.get("/")
    token = client.post(
        "/api/current-user/reset-token", headers={"X-CSRFToken": csrf_of(page.text)}
    ).json()["token"]
    me = client.get("/api/current-user/whoami", headers={"Authorization": f"Token {token}"})
    assert me.status_code == 200 and me.json()["id"] == ann.id


def test_last_active_admin_cannot_be_demoted_or_deactivated(client, db, people):
    admin = people["admin"]
    for body in ({"role": "lead"}, {"is_active": False}):
        r = client.patch(f"/api/users/{admin.id}", json=body, headers=admin.headers)
        assert r.status_code == 409, r.text
        assert "last active admin" in r.json()["detail"]
    r = client.delete(f"/api/users/{admin.id}", headers=admin.headers)
    assert r.status_code == 409 and "last active admin" in r.json()["detail"]
    assert client.get("/api/current-user/whoami", headers=admin.headers).json()["role"] == "admin"

    # an inactive admin does not count
    second = client.post(
        "/api/users", json={"email": "boss2@example.com", "role": "admin"}, headers=admin.headers
    ).json()
    assert client.delete(f"/api/users/{second['id']}", headers=admin.headers).status_code == 204
    r = client.patch(f"/api/users/{admin.id}", json={"role": "lead"}, headers=admin.headers)
    assert r.status_code == 409

    # with another active admin, one may step down
    client.patch(f"/api/users/{second['id']}", json={"is_active": True}, headers=admin.headers)
    r = client.patch(f"/api/users/{admin.id}", json={"role": "lead"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["role"] == "lead"
    # ... and the remaining one is now the last (with a new token: deactivation revoked theirs)
    with db.session() as s:
        boss2 = {"Authorization": f"Token {users.reset_token(s, second['id'])}"}
    r = client.delete(f"/api/users/{second['id']}", headers=boss2)
    assert r.status_code == 409
    # the demoted admin lost user management at once (as a lead they may still list people)
    r = client.post("/api/users", json={"email": "x@example.com"}, headers=admin.headers)
    assert r.status_code == 403


def test_service_rules(db, people):
    """The same rules for any caller of the service (the web and the CLI use it too)."""
    annotator = Actor(people["annotator"].id, Role.ANNOTATOR)
    with db.session() as s:
        with pytest.raises(Forbidden, match="Annotators cannot see the list of people"):
            users.list_users(s, annotator)
        with pytest.raises(Forbidden, match="role"):
            users.update_user(s, annotator, annotator.id, role="admin")
        with pytest.raises(Invalid, match="current_password"):
            users.change_password(s, annotator, "wrong-password", "new-password-1")
        # the command line (actor None) is trusted, but the last-admin rule holds for it too
        with pytest.raises(Conflict, match="last active admin"):
            users.deactivate_user(s, None, people["admin"].id)
        changed = users.update_user(
            s, None, people["lead"].id, role="admin", password="set-by-the-cli"
        )
        assert changed.role == "admin"
    with db.session() as s:
        users.authenticate_password(s, "lead@example.com", "set-by-the-cli")
        assert users.deactivate_user(s, None, people["admin"].id).is_active is False


def test_sdk_lists_gets_creates_updates_and_deactivates_users(live_server, people):
    ls = LabelStudio(base_url=live_server, api_key=people["admin"].token)
    listed = ls.users.list()
    assert [u.email for u in listed] == [f"{k}@example.com" for k in people]
    assert all(u.username for u in listed)

    one = ls.users.get(id=people["lead"].id)
    assert one.email == "lead@example.com" and one.id == people["lead"].id

    made = ls.users.create(username="field", email="field@example.com", password="field-pass-1")
    assert made.id and made.email == "field@example.com"
    assert made.username == "field"

    renamed = ls.users.update(id=made.id, first_name="Field", last_name="Worker")
    assert (renamed.first_name, renamed.last_name) == ("Field", "Worker")

    ls.users.delete(id=made.id)
    assert ls.users.get(id=made.id).is_active is False  # kept, deactivated

    annotator = LabelStudio(base_url=live_server, api_key=people["annotator"].token)
    with pytest.raises(ApiError) as denied:
        annotator.users.list()
    assert denied.value.status_code == 403
    assert annotator.users.get(id=people["annotator"].id).email == "annotator@example.com"


@pytest.fixture
def cli_env(db, settings, monkeypatch):
    """Point the CLI at the test database and data folder."""
    from assay import settings as settings_module

    monkeypatch.setenv("ASSAY_DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ASSAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COLUMNS", "160")
    settings_module.get_settings.cache_clear()
    yield settings_module.get_settings()
    settings_module.get_settings.cache_clear()


def _cli(*args: str):
    return CliRunner().invoke(cli_app, list(args))


def test_cli_user_list(cli_env, people, client):
    client.delete(f"/api/users/{people['annotator2'].id}", headers=people["admin"].headers)
    result = _cli("user", "list")
    assert result.exit_code == 0, result.output
    assert "5 users" in result.output
    lines = {line.split("│")[2].strip(): line for line in result.output.splitlines() if "@" in line}
    assert set(lines) == {f"{k}@example.com" for k in people}
    assert "lead" in lines["lead@example.com"] and "yes" in lines["lead@example.com"]
    assert " no " in lines["annotator2@example.com"]

    inactive = _cli("user", "list", "--inactive")
    assert inactive.exit_code == 0 and "1 users" in inactive.output
    assert "annotator2@example.com" in inactive.output and "lead@" not in inactive.output
    leads = _cli("user", "list", "--role", "lead")
    assert "1 users" in leads.output and "lead@example.com" in leads.output

    bad = _cli("user", "list", "--role", "king")
    assert bad.exit_code == 1 and "role" in bad.output and len(bad.output.splitlines()) == 1


def test_cli_user_set(cli_env, people, client):
    result = _cli(
        "user", "set", "LEAD@example.com", "--role", "reviewer", "--password", "cli-password-1"
    )
    assert result.exit_code == 0, result.output
    assert "lead@example.com (reviewer, active)" in result.output
    me = client.get("/api/current-user/whoami", headers=people["lead"].headers).json()
    assert me["role"] == "reviewer"
    people["lead"].password = "cli-password-1"
    assert log_in(client, people["lead"]).status_code == 303
    client.cookies.clear()

    off = _cli("user", "set", "annotator@example.com", "--inactive")
    assert off.exit_code == 0 and "inactive" in off.output
    assert (
        client.get("/api/current-user/whoami", headers=people["annotator"].headers).status_code
        == 401
    )
    on = _cli("user", "set", "annotator@example.com", "--active", "--first-name", "Ann")
    assert on.exit_code == 0
    # deactivation revoked the token: a new one
    token = _cli("user", "token", "annotator@example.com").output.split("token:")[1].strip()
    me = client.get("/api/current-user/whoami", headers={"Authorization": f"Token {token}"})
    assert me.json()["first_name"] == "Ann"

    for args, words in [
        (("nobody@example.com", "--role", "lead"), "no user with email"),
        (("lead@example.com",), "nothing to change"),
        (("lead@example.com", "--role", "king"), "role"),
        (("lead@example.com", "--password", "short"), "password"),
        (("admin@example.com", "--inactive"), "last active admin"),
        (("admin@example.com", "--role", "annotator"), "last active admin"),
    ]:
        bad = _cli("user", "set", *args)
        assert bad.exit_code == 1, (args, bad.output)
        assert words in bad.output and len(bad.output.strip().splitlines()) == 1, bad.output


def test_cli_user_token(cli_env, people, client):
    result = _cli("user", "token", "reviewer@example.com")
    assert result.exit_code == 0, result.output
    token = result.output.split("token:")[1].strip()
    assert len(token) >= 16
    assert (
        client.get("/api/current-user/whoami", headers=people["reviewer"].headers).status_code
        == 401
    )
    me = client.get("/api/current-user/whoami", headers={"Authorization": f"Token {token}"})
    assert me.status_code == 200 and me.json()["email"] == "reviewer@example.com"
    missing = _cli("user", "token", "nobody@example.com")
    assert missing.exit_code == 1 and "no user with email" in missing.output


def test_server_hashes_with_recommended_argon2(client, db, monkeypatch):
    """The suite hashes cheaply (conftest); the server's own hasher is argon2 at pwdlib's
    recommended cost, and a login through it works."""
    cheap = users.use_password_hasher(PasswordHash.recommended())
    try:
        with db.session() as s:
            users.create_user(s, "real@example.com", "annotator", password="real-password")
        with db.session() as s:
            stored = users.user_by_email(s, "real@example.com").password_hash
        assert stored.startswith("$argon2id$") and "m=65536,t=3" in stored
        page = client.get("/login")
        r = client.post(
            "/login",
            data={
                "email": "real@example.com",
                "password": "real-password",
                "csrf_token": csrf_of(page.text),
                "next": "",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
    finally:
        users.use_password_hasher(cheap)


def test_password_policy_wherever_a_password_is_set(client, people, cli_env):
    """12 to 1,024 characters, not the email nor its local part: refused with 400 naming the
    field and the reason, by the API (create, change, own change) and the command line."""
    admin = people["admin"].headers
    for password, reason in [
        ("elevenchars", "at least 12 characters"),
        ("x" * 1020 + "abcde", "at most 1024 characters"),
        ("Pat.Quinn.Field@example.com", "must not be your email address"),
        ("pat.quinn.field", "must not be your email address or its part before the @"),
    ]:
        r = client.post(
            "/api/users",
            json={"email": "pat.quinn.field@example.com", "password": password},
            headers=admin,
        )
        assert r.status_code == 400, (password, r.text)
        assert list(r.json()["validation_errors"]) == ["password"]
        assert reason in r.json()["validation_errors"]["password"][0]
    me = people["reviewer"]
    r = client.post(
        "/api/current-user/password",
        json={"current_password": me.password, "new_password": "REVIEWER@example.com"},
        headers=me.headers,
    )
    assert r.status_code == 400 and "must not be your email" in r.json()["detail"]
    assert list(r.json()["validation_errors"]) == ["new_password"]
    r = client.patch(
        f"/api/users/{people['lead'].id}", json={"password": "lead@example.com"}, headers=admin
    )
    assert r.status_code == 400 and list(r.json()["validation_errors"]) == ["password"]

    added = _cli("user", "add", "cli.person@example.com", "--password", "cli.person")
    assert added.exit_code == 1 and "password" in added.output
    added = _cli("user", "add", "cli.person@example.com", "--password", "cli.person-ok!")
    assert added.exit_code == 0, added.output
