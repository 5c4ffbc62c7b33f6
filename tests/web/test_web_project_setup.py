"""New project, project settings, the import page and the export form: the forms, the
errors they show, and who may (lead, admin; reviewers export; annotators nothing)."""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qs, urlsplit

from builders import ParsedPage, box, csrf_of


def _post(c, path: str, data: dict, page: str):
    token = csrf_of(c.get(page).text)
    return c.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _project(c, headers, project_id):
    return c.get(f"/api/projects/{project_id}", headers=headers).json()


def test_a_lead_creates_a_polygon_project_from_a_label_set(signed_in, people, client):
    c = signed_in(people["lead"])
    assert 'id="new-project"' in c.get("/").text
    page = c.get("/projects/new")
    assert page.status_code == 200 and 'name="label"' in page.text
    r = _post(
        c,
        "/projects/new",
        {"title": "Roofs", "description": "aerial", "shape": "polygon", "mode": "labels",
         "label": ["roof", "", "tree"], "colour": ["#ff0000", "#00ff00", "#0000ff"]},
        "/projects/new",
    )  # fmt: skip
    assert r.status_code == 303
    pid = int(r.headers["location"].rsplit("/", 1)[1])
    body = _project(client, people["lead"].headers, pid)
    assert (body["title"], body["description"]) == ("Roofs", "aerial")
    control = body["parsed_label_config"]["label"]
    assert control["type"] == "PolygonLabels" and control["labels"] == ["roof", "tree"]
    assert 'background="#0000ff"' in body["label_config"]
    # the lead is a member and sees the new links
    page = c.get(f"/projects/{pid}").text
    for link in ("settings-link", "import-link", "export-link", "dm-export"):
        assert f'id="{link}"' in page


def test_a_pasted_config_and_the_errors_shown_on_the_form(signed_in, people):
    c = signed_in(people["admin"])
    r = _post(
        c,
        "/projects/new",
        {"title": "Twice", "shape": "rectangle", "mode": "labels", "label": ["a", "a"],
         "colour": ["#000000", "#111111"]},
        "/projects/new",
    )  # fmt: skip
    assert r.status_code == 400
    text = html.unescape(r.text)
    assert 'label "a" is listed twice' in text and 'id="form-error"' in text
    assert 'value="Twice"' in text  # the form comes back filled in
    r = _post(
        c,
        "/projects/new",
        {"title": "X", "mode": "xml", "label_config": "<View><Image name='i' value='$i'/>"},
        "/projects/new",
    )
    assert r.status_code == 400 and "not well-formed XML" in html.unescape(r.text)
    config = (
        '<View><Image name="img" value="$img"/>'
        '<KeyPointLabels name="kp" toName="img"><Label value="eye"/></KeyPointLabels></View>'
    )
    r = _post(c, "/projects/new", {"title": "Faces", "mode": "xml", "label_config": config},
              "/projects/new")  # fmt: skip
    assert r.status_code == 303


def test_reviewers_and_annotators_may_not_create_projects(signed_in, people):
    for key in ("reviewer", "annotator"):
        c = signed_in(people[key])
        assert 'id="new-project"' not in c.get("/").text
        r = c.get("/projects/new")
        assert r.status_code == 403 and "Not allowed" in r.text, key
        token = csrf_of(c.get("/").text)
        r = c.post("/projects/new", data={"title": "t", "label": ["a"], "csrf_token": token})
        assert r.status_code == 403 and "Not allowed" in r.text, key


def test_settings_add_a_label_and_refuse_dropping_one_in_use(signed_in, people, project, client):
    c = signed_in(people["lead"])
    pid = project["id"]
    url = f"/projects/{pid}/settings"
    page = c.get(url)
    assert page.status_code == 200 and 'value="Elephant"' in page.text
    # a task with an Elephant box
    ids = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[{"image": "a.jpg"}],
        headers=people["lead"].headers,
    ).json()["task_ids"]
    client.post(
        f"/api/tasks/{ids[0]}/annotations",
        json={"result": [box(1, 1, 2, 2)]},
        headers=people["lead"].headers,
    )
    labels = _project(client, people["lead"].headers, pid)["parsed_label_config"]
    names = next(iter(labels.values()))["labels"]
    r = _post(
        c, url,
        {"title": "Renamed", "description": "d", "mode": "labels",
         "label": [*names, "Okapi"], "colour": ["#123456"] * (len(names) + 1)},
        url,
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{url}?saved=1"
    body = _project(client, people["lead"].headers, pid)
    assert body["title"] == "Renamed"
    assert next(iter(body["parsed_label_config"].values()))["labels"] == [*names, "Okapi"]
    assert "Saved." in c.get(r.headers["location"]).text
    # dropping Elephant, which the annotation uses, is refused and nothing changes
    kept = [n for n in names if n != "Elephant"] + ["Okapi"]
    r = _post(c, url, {"title": "Again", "mode": "labels", "label": kept}, url)
    assert r.status_code == 400
    assert "no longer fits the new config" in html.unescape(r.text)
    assert _project(client, people["lead"].headers, pid)["title"] == "Renamed"


def test_settings_are_for_leads_and_admins(signed_in, people, project):
    for key in ("reviewer", "annotator"):
        c = signed_in(people[key])
        assert 'id="settings-link"' not in c.get(f"/projects/{project['id']}").text
        r = c.get(f"/projects/{project['id']}/settings")
        assert r.status_code == 403 and "Not allowed" in r.text, key


def test_import_page_who_may(signed_in, people, project):
    pid = project["id"]
    page = signed_in(people["lead"]).get(f"/projects/{pid}/import")
    assert page.status_code == 200
    assert f"/api/projects/{pid}/images" in page.text and 'id="labels-format"' in page.text
    assert "annotator@example.com" in page.text  # members to import annotations as
    for key in ("reviewer", "annotator"):
        c = signed_in(people[key])
        assert 'id="import-link"' not in c.get(f"/projects/{pid}").text
        r = c.get(f"/projects/{pid}/import")
        assert r.status_code == 403 and "Not allowed" in r.text


def test_export_form_redirects_to_the_streamed_api_export(signed_in, people, project):
    pid = project["id"]
    c = signed_in(people["lead"])
    page = c.get(f"/projects/{pid}/export?ids=3,5")
    assert page.status_code == 200 and "The 2 selected tasks" in page.text
    r = c.get(
        f"/projects/{pid}/export/download",
        params={"exportType": "YOLO", "ground_truth_only": "true", "as_of": "2026-12-01T10:30",
                "accepted_only": "true", "model_version": "", "ids": "3,5"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.path == f"/api/projects/{pid}/export"
    assert parse_qs(target.query) == {
        "exportType": ["YOLO"],
        "ground_truth_only": ["true"],
        "as_of": ["2026-12-01T10:30:00+00:00"],
        "review_status": ["accepted,fixed"],
        "ids": ["3", "5"],
    }
    r = c.get(f"/projects/{pid}/export/download", params={"exportType": "JSON"})
    assert r.status_code == 200 and r.json() == []
    assert "attachment" in r.headers["content-disposition"]
    bad = c.get(f"/projects/{pid}/export/download", params={"as_of": "yesterday",
                                                           "ground_truth_only": "true"})  # fmt: skip
    assert bad.status_code == 400 and "as_of" in bad.text
    # reviewers may export; annotators not
    assert signed_in(people["reviewer"]).get(f"/projects/{pid}/export").status_code == 200
    c = signed_in(people["annotator"])
    assert 'id="export-link"' not in c.get(f"/projects/{pid}").text
    r = c.get(f"/projects/{pid}/export")
    assert r.status_code == 403 and "Not allowed" in r.text


def test_label_colours_chosen_in_settings_colour_the_task_page(signed_in, people, project, client):
    c = signed_in(people["lead"])
    url = f"/projects/{project['id']}/settings"
    r = _post(
        c, url,
        {"title": "Survey", "mode": "labels", "label": ["Elephant", "Zebra", "Giraffe"],
         "colour": ["#101010", "#202020", "#303030"]},
        url,
    )  # fmt: skip
    assert r.status_code == 303
    task_id = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": "https://images.example/a.jpg"}],
        headers=people["lead"].headers,
    ).json()["task_ids"][0]
    payload = json.loads(ParsedPage(c.get(f"/tasks/{task_id}").text).json_scripts["task-data"])
    assert payload["colours"] == {"Elephant": "#101010", "Zebra": "#202020", "Giraffe": "#303030"}


def test_settings_turn_prediction_prefill_on_for_one_model_and_off_again(
    signed_in, people, project, client
):
    lead = people["lead"]
    c = signed_in(lead)
    pid = project["id"]
    url = f"/projects/{pid}/settings"
    ids = client.post(
        f"/api/projects/{pid}/import?return_task_ids=true",
        json=[{"image": "a.jpg"}],
        headers=lead.headers,
    ).json()["task_ids"]
    pred = {"task": ids[0], "model_version": "det-v2", "result": [box(1, 1, 2, 2)]}
    assert client.post("/api/predictions", json=pred, headers=lead.headers).status_code == 201
    page = c.get(url)
    assert 'id="project-prefill"' in page.text and '<option value="det-v2"' in page.text
    assert 'id="project-prefill" checked' not in page.text  # off by default
    names = ["Elephant", "Zebra", "Giraffe"]
    form = {"title": "Survey", "mode": "labels", "label": names, "colour": ["#123456"] * 3}
    r = _post(c, url, {**form, "prefill": "1", "model_version": "det-v2"}, url)
    assert r.status_code == 303, r.text
    body = _project(client, lead.headers, pid)
    assert body["show_collab_predictions"] is True and body["model_version"] == "det-v2"
    assert 'id="project-prefill" checked' in c.get(url).text
    r = _post(c, url, form, url)  # the box unticked
    body = _project(client, lead.headers, pid)
    assert body["show_collab_predictions"] is False and body["model_version"] == ""


def test_settings_set_visibility_and_hourly_rate(signed_in, people, project, client):
    c = signed_in(people["lead"])
    pid = project["id"]
    url = f"/projects/{pid}/settings"
    page = c.get(url).text
    assert '<option value="blind" selected>' in page
    labels = _project(client, people["lead"].headers, pid)["parsed_label_config"]
    names = next(iter(labels.values()))["labels"]
    form = {"title": "S", "mode": "labels", "label": names, "colour": ["#123456"] * len(names)}
    r = _post(c, url, form | {"visibility": "shared", "hourly_rate": "22.5"}, url)
    assert r.status_code == 303, r.text
    body = _project(client, people["lead"].headers, pid)
    assert (body["visibility"], body["hourly_rate"]) == ("shared", 22.5)
    assert 'value="22.5"' in c.get(url).text
    r = _post(c, url, form | {"visibility": "open", "hourly_rate": "lots"}, url)
    assert r.status_code == 400
    r = _post(c, url, form | {"visibility": "shared", "hourly_rate": "lots"}, url)
    assert r.status_code == 400 and "must be a number" in html.unescape(r.text)
    r = _post(c, url, form | {"visibility": "shared", "hourly_rate": ""}, url)  # blank unsets
    assert r.status_code == 303
    body = _project(client, people["lead"].headers, pid)
    assert (body["visibility"], body["hourly_rate"]) == ("shared", None)


def test_settings_change_the_rework_loop_and_the_reject_reasons(signed_in, people, project, client):
    c = signed_in(people["lead"])
    pid = project["id"]
    url = f"/projects/{pid}/settings"
    page = c.get(url).text
    assert 'id="reject-returns"' in page and "missed objects" in page
    labels = _project(client, people["lead"].headers, pid)["parsed_label_config"]
    names = next(iter(labels.values()))["labels"]
    form = {"title": "Survey", "mode": "labels", "label": names, "review_settings": "1"}
    r = _post(c, url, {**form, "reject_reasons": "blurry\n\n too small \n"}, url)
    assert r.status_code == 303, r.text
    got = client.get(f"/api/projects/{pid}/review-settings", headers=people["lead"].headers).json()
    # the unticked box turns the rework loop off
    assert got == {"reject_returns_to_annotator": False, "reject_reasons": ["blurry", "too small"]}
    # a reason listed twice is refused with the field named, and nothing changes
    r = _post(
        c, url,
        {**form, "title": "Changed", "reject_returns_to_annotator": "on",
         "reject_reasons": "blurry\nblurry"},
        url,
    )  # fmt: skip
    assert r.status_code == 400
    assert 'data-field="reject_reasons"' in r.text and "listed twice" in html.unescape(r.text)
    assert _project(client, people["lead"].headers, pid)["title"] == "Survey"
    assert (
        client.get(f"/api/projects/{pid}/review-settings", headers=people["lead"].headers).json()
        == got
    )
