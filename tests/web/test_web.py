"""The web pages, driven over the real ASGI app: what a signed-in (or not) user sees."""

from __future__ import annotations

import json
import re

import pytest

from builders import ParsedPage as _Page
from builders import box, csrf_of, header_counts, import_tasks, log_in

# -- login and logout -------------------------------------------------------------------------


def test_signed_out_pages_redirect_to_login_with_next(client, project):
    r = client.get(f"/projects/{project['id']}?page=2", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=%2Fprojects%2F{project['id']}%3Fpage%3D2"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/tasks/1", follow_redirects=False).status_code == 303


def test_wrong_password_shows_the_message_and_400(client, people):
    page = client.get("/login")
    r = client.post(
        "/login",
        data={
            "email": people["lead"].email,
            "password": "not-the-password",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert r.status_code == 400
    assert "Wrong email or password." in r.text
    assert 'value="lead@example.com"' in r.text  # the email stays filled in
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_login_goes_to_next_and_the_project_list_shows_the_project(client, people, project):
    r = log_in(client, people["lead"], next_="/?page=1")
    assert r.status_code == 303 and r.headers["location"] == "/?page=1"
    page = client.get("/")
    assert page.status_code == 200
    rows = _Page(page.text).rows
    assert rows == [["Survey", "0", "0", "0", "0 (0 %)", rows[0][5]]]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[0][5])
    assert "lead@example.com" in page.text and ">lead<" in page.text  # top bar: who and role
    assert f'href="/projects/{project["id"]}"' in page.text


def test_login_without_csrf_is_refused(client, people):
    client.get("/login")
    r = client.post(
        "/login",
        data={"email": people["lead"].email, "password": people["lead"].password},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert "CSRF check failed" in r.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


@pytest.mark.parametrize(
    "target", ["https://evil.example", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(client, people, target):
    r = log_in(client, people["lead"], next_=target)
    assert r.status_code == 303
    assert r.headers["location"] == "/"


def test_logout_ends_the_session(client, people, project):
    log_in(client, people["lead"])
    page = client.get("/")
    assert page.status_code == 200
    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token: a foreign site cannot log you out
    assert client.get("/", follow_redirects=False).status_code == 200
    r = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/projects").status_code == 401  # the API's cookie login ended too


def test_pages_send_csrf_meta_and_security_headers(client, people, project):
    log_in(client, people["lead"])
    page = client.get("/")
    token = csrf_of(page.text)
    assert f'<meta name="csrf-token" content="{token}">' in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self'
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    # the same token lets page JS call the JSON API with the session cookie
    r = client.patch(
        f"/api/projects/{project['id']}",
        json={"description": "aerial"},
        headers={"X-CSRFToken": token},
    )
    assert r.status_code == 200 and r.json()["description"] == "aerial"


# -- project list and project page ------------------------------------------------------------


def test_project_list_pages_and_404_past_the_end(client, people):
    log_in(client, people["lead"])
    for i in range(3):
        r = client.post(
            "/api/projects",
            json={"title": f"P{i}", "label_config": "<View><Image name='i' value='$image'/>"
                  "<Choices name='c' toName='i'><Choice value='a'/></Choices></View>"},
            headers=people["lead"].headers,
        )  # fmt: skip
        assert r.status_code == 201
    first = _Page(client.get("/?page_size=2").text).rows
    second = _Page(client.get("/?page_size=2&page=2").text).rows
    assert [r[0] for r in first] == ["P2", "P1"] and [r[0] for r in second] == ["P0"]
    past = client.get("/?page_size=2&page=3")
    assert past.status_code == 404 and "Invalid page." in past.text
    assert past.headers["content-type"].startswith("text/html")


def test_project_page_lists_tasks_with_counts_and_paginates(client, people, project):
    lead = people["lead"]
    items = []
    for i in range(55):
        item: dict = {"data": {"image": f"/data/media/project-{project['id']}/img{i}.png"}}
        if i % 2 == 0:
            item["annotations"] = [{"result": [box(10, 10, 20, 20)], "completed_by": lead.id}]
        if i % 5 == 0:
            item["predictions"] = [
                {"model_version": "m1", "score": 0.5, "result": [box(5, 5, 10, 10)]},
                {"model_version": "m2", "score": 0.7, "result": []},
            ]
        items.append(item)
    ids = import_tasks(client, lead, project["id"], items)
    log_in(client, lead)

    page = client.get(f"/projects/{project['id']}")
    assert page.status_code == 200
    parsed = _Page(page.text)
    assert len(parsed.rows) == 50
    first, second = parsed.records[:2]
    assert first["Task"] == f"#{ids[0]}"
    assert (first["Annotations"], first["Predictions"]) == ("1", "2")
    assert (second["Annotations"], second["Predictions"]) == ("0", "0")
    assert {
        "src": f"/data/thumbnails/project-{project['id']}/img0.png",  # never the full image
        "width": "96",
        "loading": "lazy",
    }.items() <= (parsed.images[0].items())
    # header counts: 55 tasks, 28 annotations, 22 predictions
    assert header_counts(page.text) == {
        "Tasks": "55",
        "With GT": "0",
        "Done": "0",
        "Empty": "0",
        "GT coverage": "0.0 %",
        "Annotations": "28",
        "Predictions": "22",
    }
    assert "1–50 of 55 tasks" in page.text and "page 1 of 2" in page.text
    assert f'href="/projects/{project["id"]}?page=2"' in page.text

    rest = _Page(client.get(f"/projects/{project['id']}?page=2").text)
    assert [r["Task"] for r in rest.records] == [f"#{i}" for i in ids[50:]]
    past = client.get(f"/projects/{project['id']}?page=3")
    assert past.status_code == 404 and "Invalid page." in past.text


def test_project_pages_hide_projects_the_user_is_not_in(client, people, project):
    r = client.post(
        "/api/projects",
        json={"title": "Secret", "label_config": project["label_config"]},
        headers=people["admin"].headers,
    )
    secret = r.json()["id"]
    log_in(client, people["annotator"])
    assert "Secret" not in client.get("/").text
    page = client.get(f"/projects/{secret}")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert f"Project {secret} not found." in page.text
    bad = client.get(f"/projects/{project['id']}?page=abc")
    assert bad.status_code == 400 and "page" in bad.text
    # the API keeps answering JSON
    assert client.get(f"/api/projects/{secret}").json()["status_code"] == 404


# -- task page -------------------------------------------------------------------------------


def _task_payload(html: str) -> dict:
    return json.loads(_Page(html).json_scripts["task-data"])


def test_task_page_embeds_the_regions_json_escaped(client, people, project):
    lead = people["lead"]
    hostile = "</script><script>alert(1)</script>"
    polygon = {
        "from_name": "label", "to_name": "image", "type": "rectanglelabels",
        "value": {"x": 50, "y": 50, "width": 10, "height": 5, "rotation": 30,
                  "rectanglelabels": ["Zebra"]},
    }  # fmt: skip
    [task_id] = import_tasks(
        client,
        lead,
        project["id"],
        [
            {
                "data": {"image": "https://images.example/a.jpg"},
                "annotations": [
                    {
                        "result": [box(10, 20, 30, 40), polygon],
                        "completed_by": people["annotator"].id,
                    },
                    {"result": [box(1, 2, 3, 4, "Giraffe")], "ground_truth": True},
                ],
                "predictions": [
                    {"model_version": hostile, "score": 0.25, "result": [box(5, 5, 5, 5)]}
                ],
            }
        ],
    )
    log_in(client, lead)
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert hostile not in page.text  # escaped in the JSON and in the side list
    payload = _task_payload(page.text)
    kinds = [(s["kind"], s["title"], s["regions"]) for s in payload["sources"]]
    assert kinds == [
        ("annotation", "annotator@example.com", 2),
        ("annotation", "lead@example.com", 1),
        ("prediction", hostile, 1),
    ]
    first = payload["sources"][0]["result"][0]["value"]
    assert (first["x"], first["y"], first["width"], first["height"]) == (10, 20, 30, 40)
    assert payload["sources"][1]["ground_truth"] is True
    assert payload["selected"] == payload["sources"][1]["key"]  # the GT is drawn first
    assert payload["colours"] == {"Elephant": "#e8590c", "Zebra": "#1c7ed6", "Giraffe": "#2f9e44"}
    assert '<img id="task-image" src="https://images.example/a.jpg"' in page.text
    assert "score 0.250" in page.text and ">GT<" in page.text


def test_annotators_see_only_their_own_annotations_on_the_task_page(
    client, people, project, signed_in
):
    [task_id] = import_tasks(
        client,
        people["lead"],
        project["id"],
        [{"image": f"/data/media/project-{project['id']}/x.png"}],
    )
    for key, x in (("annotator", 10), ("annotator2", 60)):
        r = client.post(
            f"/api/tasks/{task_id}/annotations",
            json={"result": [box(x, 10, 20, 20)]},
            headers=people[key].headers,
        )
        assert r.status_code == 201, r.text
    own_id = client.get(f"/api/tasks/{task_id}/annotations", headers=people["annotator"].headers)
    r = client.patch(
        f"/api/annotations/{own_id.json()[0]['id']}",
        json={"ground_truth": True},
        headers=people["lead"].headers,
    )
    assert r.status_code == 200, r.text  # even the annotator's own GT flag stays hidden

    own = signed_in(people["annotator"]).get(f"/tasks/{task_id}")
    payload = _task_payload(own.text)
    assert [s["title"] for s in payload["sources"]] == ["annotator@example.com"]
    assert "annotator2@example.com" not in own.text
    assert ">GT<" not in own.text and all(not s.get("ground_truth") for s in payload["sources"])

    reviewer = _task_payload(signed_in(people["reviewer"]).get(f"/tasks/{task_id}").text)
    assert [s["title"] for s in reviewer["sources"]] == [
        "annotator@example.com",
        "annotator2@example.com",
    ]
    project_page = _Page(signed_in(people["annotator"]).get(f"/projects/{project['id']}").text)
    assert project_page.records[0]["Annotations"] == "1"  # not the other annotator's


def test_task_page_errors_are_html(client, people, project):
    log_in(client, people["lead"])
    missing = client.get("/tasks/999999")
    assert missing.status_code == 404
    assert "Task 999999 not found." in missing.text and "<html" in missing.text
    assert "lead@example.com" in missing.text  # still inside the signed-in layout


def test_unsafe_image_urls_are_not_rendered(client, people, project):
    [task_id] = import_tasks(
        client, people["lead"], project["id"], [{"image": "javascript:alert(1)"}]
    )
    log_in(client, people["lead"])
    assert "javascript:" not in client.get(f"/projects/{project['id']}").text
    page = client.get(f"/tasks/{task_id}")
    assert page.status_code == 200 and "javascript:" not in page.text
    assert "no image the page can show" in page.text
