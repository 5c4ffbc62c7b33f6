"""The People page (`/people`) and a project's Members page (`/projects/{id}/members`): who may
see and change what (admin, lead, reviewer, annotator, anonymous), the API token shown once,
role changes and deactivation with the last-admin rule as a message, members added by email
and removed (labels stay), `DELETE /api/projects/{id}/members/{user}`, CSRF on every POST, and
in Chromium a lead adding an annotator from the project's Members page."""

from __future__ import annotations

import re

import chromium
from assay.services import users
from builders import Person, box, csrf_of

ROW_RE = re.compile(r'<tr data-user="(\d+)"')


def _rows(html: str) -> list[int]:
    return [int(i) for i in ROW_RE.findall(html)]


def _post(c, path: str, data: dict, page: str = "/people"):
    """A form POST with the CSRF token read from `page`."""
    token = csrf_of(c.get(page).text)
    return c.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


# People page -------------------------------------------------------------------------------


def test_people_page_for_admins_and_leads_only(client, signed_in, people):
    r = client.get("/people", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fpeople"
    for key in ("admin", "lead"):
        c = signed_in(people[key])
        r = c.get("/people")
        assert r.status_code == 200, key
        assert sorted(_rows(r.text)) == sorted(p.id for p in people.values())
        assert 'id="people-link"' in c.get("/").text
    for key in ("reviewer", "annotator"):
        c = signed_in(people[key])
        r = c.get("/people")
        assert r.status_code == 403 and "Not allowed" in r.text, key
        assert 'id="people-link"' not in c.get("/").text
        assert 'id="my-work-link"' in c.get("/").text  # the other header link stays


def test_only_admins_get_the_forms(signed_in, people):
    admin = signed_in(people["admin"]).get("/people").text
    lead = signed_in(people["lead"]).get("/people").text
    assert 'id="people-add"' in admin and 'action="/people/' in admin
    assert 'id="people-add"' not in lead and 'action="/people/' not in lead


def test_filters_by_role_and_active(db, signed_in, people):
    with db.session() as s:
        users.update_user(s, None, people["annotator2"].id, is_active=False)
    c = signed_in(people["lead"])
    ann = {people["annotator"].id, people["annotator2"].id}
    assert set(_rows(c.get("/people?role=annotator").text)) == ann
    assert set(_rows(c.get("/people?role=annotator&active=true").text)) == {people["annotator"].id}
    assert _rows(c.get("/people?active=false").text) == [people["annotator2"].id]
    assert c.get("/people?role=boss").status_code == 400


def test_admin_adds_a_person_and_sees_the_token_once(client, signed_in, people):
    c = signed_in(people["admin"])
    r = _post(c, "/people", {"email": "New@Example.com", "role": "reviewer", "password": ""})
    assert r.status_code == 200, r.text
    token = re.search(r'<code id="people-token">([0-9a-f]+)</code>', r.text).group(1)
    me = client.get("/api/current-user/whoami", headers={"Authorization": f"Token {token}"})
    assert me.status_code == 200 and me.json()["email"] == "new@example.com"
    assert me.json()["role"] == "reviewer"
    again = c.get("/people").text
    assert token not in again and "new@example.com" in again


def test_adding_a_person_shows_the_services_errors(signed_in, people):
    c = signed_in(people["admin"])
    r = _post(c, "/people", {"email": "not-an-email", "role": "annotator"})
    assert r.status_code == 400 and 'id="people-error"' in r.text
    assert "is not an email address" in r.text and 'value="not-an-email"' in r.text
    r = _post(c, "/people", {"email": "LEAD@example.com", "role": "annotator"})
    assert r.status_code == 409 and "exists" in r.text
    r = _post(c, "/people", {"email": "short@example.com", "role": "lead", "password": "short"})
    assert r.status_code == 400 and "at least 12 characters" in r.text
    r = _post(
        c,
        "/people",
        {"email": "pat.q@example.com", "role": "lead", "password": "Pat.Q@Example.com"},
    )
    assert r.status_code == 400 and "must not be your email address" in r.text


def test_leads_and_others_may_not_add_or_change_people(db, signed_in, people):
    target = people["annotator"].id
    for key in ("lead", "reviewer", "annotator"):
        c = signed_in(people[key])
        r = _post(c, "/people", {"email": f"x-{key}@example.com", "role": "admin"}, page="/")
        assert r.status_code == 403, key
        r = _post(c, f"/people/{target}/role", {"role": "admin"}, page="/")
        assert r.status_code == 403, key
        r = _post(c, f"/people/{target}/active", {"active": "false"}, page="/")
        assert r.status_code == 403, key
    with db.session() as s:
        assert users.user_by_email(s, "x-lead@example.com") is None
        assert users.get_user(s, target).role == "annotator"
        assert users.get_user(s, target).is_active


def test_admin_changes_a_role_and_deactivates(db, client, signed_in, people):
    c = signed_in(people["admin"])
    ann = people["annotator"]
    r = _post(c, f"/people/{ann.id}/role", {"role": "reviewer"})
    assert r.status_code == 303 and r.headers["location"] == "/people"
    r = _post(c, f"/people/{ann.id}/active", {"active": "false"})
    assert r.status_code == 303
    with db.session() as s:
        user = users.get_user(s, ann.id)
        assert (user.role, user.is_active) == ("reviewer", False)
    assert client.get("/api/current-user/whoami", headers=ann.headers).status_code == 401
    assert 'data-active="false"' in c.get("/people?active=false").text
    r = _post(c, f"/people/{ann.id}/active", {"active": "true"})
    assert r.status_code == 303
    with db.session(write=False) as s:
        assert users.get_user(s, ann.id).is_active
    # active again, but the token deactivation revoked stays revoked; signing in works
    assert client.get("/api/current-user/whoami", headers=ann.headers).status_code == 401
    assert signed_in(ann).get("/api/current-user/whoami").json()["id"] == ann.id


def test_the_last_active_admin_is_a_message_not_a_crash(db, signed_in, people):
    c = signed_in(people["admin"])
    me = people["admin"].id
    r = _post(c, f"/people/{me}/role", {"role": "lead"})
    assert r.status_code == 409 and 'id="people-error"' in r.text
    assert "last active admin" in r.text
    r = _post(c, f"/people/{me}/active", {"active": "false"})
    assert r.status_code == 409 and "last active admin" in r.text
    r = _post(c, f"/people/{me}/role", {"role": "boss"})
    assert r.status_code == 400 and "role: must be one of" in r.text
    with db.session() as s:
        assert users.get_user(s, me).role == "admin" and users.get_user(s, me).is_active


def test_people_posts_need_the_csrf_token(db, client, signed_in, people):
    c = signed_in(people["admin"])
    ann = people["annotator"].id
    for path, data in [
        ("/people", {"email": "csrf@example.com", "role": "annotator"}),
        (f"/people/{ann}/role", {"role": "lead"}),
        (f"/people/{ann}/active", {"active": "false"}),
    ]:
        for token in (None, "wrong"):
            body = data if token is None else {**data, "csrf_token": token}
            r = c.post(path, data=body, follow_redirects=False)
            assert r.status_code == 403 and "CSRF" in r.text, (path, token)
    r = client.post("/people", data={"email": "anon@example.com"}, follow_redirects=False)
    assert r.status_code == 403
    with db.session() as s:
        assert users.user_by_email(s, "csrf@example.com") is None
        assert users.get_user(s, ann).role == "annotator" and users.get_user(s, ann).is_active


# Members page ------------------------------------------------------------------------------


def _member_ids(c, project_id: int) -> list[int]:
    r = c.get(f"/projects/{project_id}/members")
    assert r.status_code == 200, r.text
    return _rows(r.text)


def test_members_page_lists_members_for_every_member(client, signed_in, people, project):
    pid = project["id"]
    expected = {people[k].id for k in ("lead", "reviewer", "annotator", "annotator2")}
    for key in ("admin", "lead", "reviewer", "annotator"):
        c = signed_in(people[key])
        assert set(_member_ids(c, pid)) == expected, key
        page = c.get(f"/projects/{pid}/members").text
        manages = key in ("admin", "lead")
        assert ('id="members-add"' in page) is manages, key
        assert ("/remove" in page) is manages, key
        assert 'id="members-link"' in c.get(f"/projects/{pid}").text
    r = client.get(f"/projects/{pid}/members", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_non_members_get_not_found(db, signed_in, people, project):
    with db.session() as s:
        outsider, _ = users.create_user(s, "out@example.com", "lead", password="out-password")

    c = signed_in(Person(outsider.id, "out@example.com", "lead", "", "out-password"))
    assert c.get(f"/projects/{project['id']}/members").status_code == 404
    r = _post(c, f"/projects/{project['id']}/members", {"email": "out@example.com"}, page="/")
    assert r.status_code == 404


def test_lead_adds_by_email_and_removes(db, client, signed_in, people, project):
    pid = project["id"]
    with db.session() as s:
        newbie, _ = users.create_user(s, "newbie@example.com", "annotator")
    c = signed_in(people["lead"])
    page = f"/projects/{pid}/members"
    assert "newbie@example.com" in c.get(page).text  # offered in the datalist
    r = _post(c, page, {"email": " NewBie@example.com "}, page=page)
    assert r.status_code == 303 and r.headers["location"] == f"{page}?added={newbie.id}"
    after = c.get(r.headers["location"]).text
    assert newbie.id in _rows(after) and "Added newbie@example.com." in after
    r = _post(c, f"{page}/{newbie.id}/remove", {}, page=page)
    assert r.status_code == 303 and r.headers["location"] == f"{page}?removed=1"
    assert newbie.id not in _member_ids(c, pid)


def test_unknown_email_and_self_removal_are_messages(signed_in, people, project):
    pid = project["id"]
    page = f"/projects/{pid}/members"
    c = signed_in(people["lead"])
    r = _post(c, page, {"email": "nobody@example.com"}, page=page)
    assert r.status_code == 404 and 'id="members-error"' in r.text
    assert "No user has the email" in r.text and 'value="nobody@example.com"' in r.text
    r = _post(c, f"{page}/{people['lead'].id}/remove", {}, page=page)
    assert r.status_code == 409 and "cannot remove yourself" in r.text
    r = _post(c, f"{page}/{people['admin'].id}/remove", {}, page=page)
    assert r.status_code == 404 and "is not a member" in r.text
    assert people["lead"].id in _member_ids(c, pid)


def test_reviewers_and_annotators_may_not_add_or_remove(db, signed_in, people, project):
    pid = project["id"]
    page = f"/projects/{pid}/members"
    for key in ("reviewer", "annotator"):
        c = signed_in(people[key])
        r = _post(c, page, {"email": "admin@example.com"}, page=page)
        assert r.status_code == 403, key
        r = _post(c, f"{page}/{people['annotator2'].id}/remove", {}, page=page)
        assert r.status_code == 403, key
    lead = signed_in(people["lead"])
    assert people["annotator2"].id in _member_ids(lead, pid)
    assert people["admin"].id not in _member_ids(lead, pid)


def test_members_posts_need_the_csrf_token(signed_in, people, project):
    pid = project["id"]
    c = signed_in(people["lead"])
    r = c.post(f"/projects/{pid}/members", data={"email": "admin@example.com"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = c.post(f"/projects/{pid}/members/{people['annotator'].id}/remove", data={})
    assert r.status_code == 403 and "CSRF" in r.text
    assert set(_member_ids(c, pid)) == {
        people[k].id for k in ("lead", "reviewer", "annotator", "annotator2")
    }


# The API -----------------------------------------------------------------------------------


def test_delete_member_api(client, people, project):
    pid, ann = project["id"], people["annotator"]
    r = client.post(
        f"/api/projects/{pid}/import",
        json=[{"data": {"image": f"/data/media/project-{pid}/a.png"}}],
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    task = client.get(f"/api/tasks?project={pid}", headers=ann.headers).json()["tasks"][0]["id"]
    r = client.post(
        f"/api/tasks/{task}/annotations", json={"result": [box(1, 1, 5, 5)]}, headers=ann.headers
    )
    assert r.status_code == 201, r.text
    annotation = r.json()["id"]

    r = client.delete(f"/api/projects/{pid}/members/{people['annotator2'].id}", headers=ann.headers)
    assert r.status_code == 403
    r = client.delete(f"/api/projects/{pid}/members/{ann.id}", headers=people["lead"].headers)
    assert r.status_code == 204 and r.content == b""
    members = client.get(f"/api/projects/{pid}/members", headers=people["lead"].headers).json()
    assert ann.id not in {m["id"] for m in members}
    assert client.get(f"/api/projects/{pid}", headers=ann.headers).status_code == 404
    r = client.get(f"/api/annotations/{annotation}", headers=people["lead"].headers)
    assert r.status_code == 200 and r.json()["completed_by"] == ann.id  # the label stays
    r = client.delete(f"/api/projects/{pid}/members/{ann.id}", headers=people["lead"].headers)
    assert r.status_code == 404


# In Chromium -------------------------------------------------------------------------------


@chromium.marks[0]
@chromium.marks[1]
def test_lead_adds_an_annotator_from_the_members_page(db, live_server, people, project):
    with db.session() as s:
        users.create_user(s, "fresh@example.com", "annotator")
    lead = people["lead"]
    with chromium.new_page(1200, 800) as page:
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", lead.email)
        page.fill("input[name=password]", lead.password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/projects/{project['id']}")
        page.click("#members-link")
        page.wait_for_url(f"{live_server}/projects/{project['id']}/members")
        assert "fresh@example.com" not in page.locator("#members-table").inner_text()
        page.fill("#members-email", "fresh@example.com")
        page.click("#members-add-button")
        page.wait_for_url(re.compile(r".*/members\?added=\d+$"))
        assert page.locator("#members-notice").inner_text() == "Added fresh@example.com."
        row = page.locator("#members-table tbody tr", has_text="fresh@example.com")
        assert row.count() == 1 and "annotator" in row.inner_text()
        chromium.shot(page, "project-members", full_page=True)
        page.click("#people-link")
        page.wait_for_url(f"{live_server}/people")
        assert page.locator("#people-table tbody tr", has_text="fresh@example.com").count() == 1
