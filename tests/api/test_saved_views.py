"""Saved Data Manager filters (`/api/dm/views`): personal ones for their owner only,
project-wide ones for every member, made by leads and admins; `GET /api/tasks?view=` applies
one's filters and ordering to what the caller may see."""

from __future__ import annotations

from sqlalchemy import select

from assay.store.models import SavedView

ID_AT_LEAST = {"filter": "filter:tasks:id", "operator": "greater_or_equal", "type": "Number"}


def _tasks(client, people, project, n):
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": f"{i}.jpg"} for i in range(n)],
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["task_ids"]


def _view(client, person, project, title, scope=None, **data):
    body = {"project": project["id"], "data": {"title": title, **data}}
    if scope:
        body["scope"] = scope
    r = client.post("/api/dm/views", json=body, headers=person.headers)
    assert r.status_code == 201, r.text
    return r.json()


def _titles(client, person, project):
    r = client.get(f"/api/dm/views?project={project['id']}", headers=person.headers)
    assert r.status_code == 200, r.text
    return [v["data"]["title"] for v in r.json()]


def test_personal_views_are_their_owners_and_project_views_everyones(client, people, project):
    ann, ann2, lead = people["annotator"], people["annotator2"], people["lead"]
    mine = _view(client, ann, project, "mine")
    assert (mine["scope"], mine["user"], mine["project"]) == ("personal", ann.id, project["id"])
    _view(client, lead, project, "for everyone", scope="project")
    _view(client, lead, project, "lead's own")
    assert _titles(client, ann, project) == ["mine", "for everyone"]
    assert _titles(client, ann2, project) == ["for everyone"]
    assert _titles(client, lead, project) == ["for everyone", "lead's own"]
    assert client.get(f"/api/dm/views/{mine['id']}", headers=ann2.headers).status_code == 404
    assert client.get(f"/api/dm/views/{mine['id']}", headers=lead.headers).status_code == 404


def test_only_leads_and_admins_share_a_view(client, people, project):
    ann, reviewer = people["annotator"], people["reviewer"]
    for person in (ann, reviewer):
        r = client.post(
            "/api/dm/views",
            json={"project": project["id"], "scope": "project", "data": {"title": "x"}},
            headers=person.headers,
        )
        assert r.status_code == 403, r.text
    mine = _view(client, ann, project, "mine")
    r = client.patch(f"/api/dm/views/{mine['id']}", json={"scope": "project"}, headers=ann.headers)
    assert r.status_code == 403
    r = client.patch(
        f"/api/dm/views/{mine['id']}", json={"data": {"title": "renamed"}}, headers=ann.headers
    )
    assert r.status_code == 200 and r.json()["data"] == {"title": "renamed"}


def test_a_view_lists_its_tasks_for_whoever_applies_it(client, people, project):
    lead = people["lead"]
    t = _tasks(client, people, project, 4)
    shared = _view(
        client, lead, project, "later ones", scope="project",
        filters={"conjunction": "and", "items": [ID_AT_LEAST | {"value": t[1]}]},
        ordering=["-tasks:id"],
    )  # fmt: skip
    for person in (lead, people["annotator"]):  # no jobs yet: the annotator sees every task
        r = client.get(
            f"/api/tasks?project={project['id']}&view={shared['id']}", headers=person.headers
        )
        assert r.status_code == 200, r.text
        assert [x["id"] for x in r.json()["tasks"]] == [t[3], t[2], t[1]]
        assert r.json()["total"] == 3
    r = client.get(
        f"/api/tasks?project={project['id']}&view={shared['id']}&query=%7B%7D",
        headers=lead.headers,
    )
    assert r.status_code == 400 and "view" in r.json()["validation_errors"]


def test_a_ground_truth_view_is_refused_to_an_annotator(client, people, project):
    _tasks(client, people, project, 2)
    gt = _view(
        client, people["lead"], project, "with GT", scope="project",
        filters={"conjunction": "and", "items": [
            {"filter": "filter:tasks:ground_truth", "operator": "equal", "type": "Boolean",
             "value": True}]},
    )  # fmt: skip
    url = f"/api/tasks?project={project['id']}&view={gt['id']}"
    assert client.get(url, headers=people["lead"].headers).status_code == 200
    assert client.get(url, headers=people["annotator"].headers).status_code == 403


def test_bad_views_are_refused_naming_the_field(client, people, project):
    lead = people["lead"].headers
    cases = [
        ({"filters": {"conjunction": "and", "items": [{"filter": "filter:tasks:nope"}]}},
         "data.filters.items[0].filter"),
        ({"ordering": ["tasks:a", "tasks:b"]}, "data.ordering"),
        ({"title": 5}, "data.title"),
        ({"colour": "red"}, "data.colour"),
    ]  # fmt: skip
    for data, field in cases:
        r = client.post(
            "/api/dm/views", json={"project": project["id"], "data": data}, headers=lead
        )
        assert r.status_code == 400, (data, r.text)
        assert field in r.json()["validation_errors"], (data, r.json())
    r = client.post(
        "/api/dm/views",
        json={"project": project["id"], "scope": "team", "data": {}},
        headers=lead,
    )
    assert r.status_code == 400 and "scope" in r.json()["validation_errors"]
    r = client.post("/api/dm/views", json={"data": {}}, headers=lead)
    assert r.status_code == 400 and "project" in r.json()["validation_errors"]


def test_a_view_of_another_project_does_not_apply(client, people, project):
    view = _view(client, people["lead"], project, "here")
    r = client.post(
        "/api/projects",
        json={"title": "other", "label_config": project["label_config"]},
        headers=people["lead"].headers,
    )
    other = r.json()["id"]
    r = client.get(f"/api/tasks?project={other}&view={view['id']}", headers=people["lead"].headers)
    assert r.status_code == 400 and "view" in r.json()["validation_errors"]


def test_deleting_a_view_keeps_its_row(client, db, people, project):
    lead = people["lead"]
    view = _view(client, lead, project, "gone soon", scope="project")
    r = client.delete(f"/api/dm/views/{view['id']}", headers=people["annotator"].headers)
    assert r.status_code == 403
    assert client.delete(f"/api/dm/views/{view['id']}", headers=lead.headers).status_code == 204
    assert client.get(f"/api/dm/views/{view['id']}", headers=lead.headers).status_code == 404
    assert _titles(client, lead, project) == []
    with db.session() as s:
        row = s.scalar(select(SavedView).where(SavedView.id == view["id"]))
        assert row.deleted_at is not None and row.data["title"] == "gone soon"


def test_each_view_says_whether_the_caller_may_change_it(client, people, project):
    ann, lead, admin = people["annotator"], people["lead"], people["admin"]
    shared = _view(client, lead, project, "shared", scope="project")
    mine = _view(client, ann, project, "mine")
    assert mine["can_change"] is True and shared["can_change"] is True

    def can_change(person):
        r = client.get(f"/api/dm/views?project={project['id']}", headers=person.headers)
        return {v["data"]["title"]: v["can_change"] for v in r.json()}

    assert can_change(ann) == {"shared": False, "mine": True}
    assert can_change(people["reviewer"]) == {"shared": False}
    assert can_change(admin) == {"shared": True}
    got = client.get(f"/api/dm/views/{shared['id']}", headers=ann.headers).json()
    assert got["can_change"] is False
    # what can_change promises holds: the annotator's change is refused, the lead's is not
    body = {"data": {"title": "renamed"}}
    r = client.patch(f"/api/dm/views/{shared['id']}", json=body, headers=ann.headers)
    assert r.status_code == 403
    r = client.patch(f"/api/dm/views/{shared['id']}", json=body, headers=lead.headers)
    assert r.status_code == 200 and r.json()["can_change"] is True
