"""The ground-truth stage pages, server-rendered: the job list, who may open the editor, what the
editor page embeds for its JS, the not-ready message and the completion page."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from builders import Person, annotate_job, box

CONFIG_RE = re.compile(r'<script id="gt-config" type="application/json">(.*?)</script>', re.S)
ROW_RE = re.compile(r'<tr data-job="(\d+)">(.*?)</tr>', re.S)
TAG_RE = re.compile(r"<[^>]+>")


def make_survey(client: TestClient, people: dict[str, Person], project: dict, images: list[str]):
    """Tasks with the given images; job "Ready" holds all but the last for both annotators,
    job "Waiting" the last one for annotator 1 only. A model predicted one box on each task."""
    lead = people["lead"].headers
    items = [
        {
            "data": {"image": image},
            "predictions": [
                {"result": [box(40, 40, 10, 10, "Zebra")], "score": 0.8, "model_version": "det-v1"}
            ],
        }
        for image in images
    ]
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true", json=items, headers=lead
    )
    assert r.status_code == 201, r.text
    ids = r.json()["task_ids"]
    both = [people["annotator"].id, people["annotator2"].id]
    ready = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "Ready", "task_ids": ids[:-1], "assignees": both},
        headers=lead,
    ).json()["id"]
    waiting = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "Waiting", "task_ids": ids[-1:], "assignees": both[:1]},
        headers=lead,
    ).json()["id"]
    return {"tasks": ids, "ready": ready, "waiting": waiting, "project": project["id"]}


@pytest.fixture
def survey(client, people, project):
    s = make_survey(
        client, people, project, [f"/data/media/project-{project['id']}/{i}.jpg" for i in range(4)]
    )
    annotate_job(client, people["annotator"], s["ready"], x=10)
    annotate_job(client, people["annotator2"], s["ready"], x=30, label="Zebra")
    return s


def rows_of(page_html: str) -> dict[int, str]:
    """Each job row's text, whitespace collapsed, by job id."""
    return {
        int(job): " ".join(html.unescape(TAG_RE.sub(" ", body)).split())
        for job, body in ROW_RE.findall(page_html)
    }


def config_of(page_html: str) -> dict:
    match = CONFIG_RE.search(page_html)
    assert match, "the page embeds no editor config"
    return json.loads(match.group(1))


def walk_stage(client: TestClient, lead: Person, job_id: int, empty_first: bool = False) -> None:
    first = True
    while True:
        st = client.get(f"/api/jobs/{job_id}/ground-truth/next", headers=lead.headers).json()
        if st["complete"]:
            return
        result = [] if empty_first and first else st["regions"]
        first = False
        r = client.post(
            f"/api/tasks/{st['task']['id']}/ground-truth/done",
            json={"job": job_id, "result": result},
            headers=lead.headers,
        )
        assert r.status_code == 200, r.text


# -- the job list -------------------------------------------------------------------------------


def test_job_list_shows_progress_assignees_and_stage_links_to_leads(
    client, people, survey, signed_in
):
    page = signed_in(people["lead"]).get(f"/projects/{survey['project']}/jobs")
    assert page.status_code == 200
    rows = rows_of(page.text)
    assert list(rows) == [survey["ready"], survey["waiting"]]
    ready, waiting = rows[survey["ready"]], rows[survey["waiting"]]
    assert ready.startswith(f"Ready #{survey['ready']} 3 annotator@example.com, annotator2@")
    assert "100 % 3 of 3" in ready and "0 % 0 of 3" in ready and "Ground-truth stage" in ready
    assert "0 % 0 of 1" in waiting and "waiting for annotations" in waiting
    assert f'href="/jobs/{survey["ready"]}/ground-truth"' in page.text
    assert f'href="/jobs/{survey["waiting"]}/ground-truth"' not in page.text
    assert '<progress max="100" value="100.0"></progress>' in page.text

    # part way through the stage the GT bar moves; at the end the link says Finished
    lead = people["lead"]
    st = client.get(f"/api/jobs/{survey['ready']}/ground-truth/next", headers=lead.headers).json()
    client.post(
        f"/api/tasks/{st['task']['id']}/ground-truth/done",
        json={"job": survey["ready"], "result": st["regions"]},
        headers=lead.headers,
    )
    again = rows_of(signed_in(lead).get(f"/projects/{survey['project']}/jobs").text)
    assert "33 % 1 of 3" in again[survey["ready"]]
    walk_stage(client, lead, survey["ready"])
    done = signed_in(lead).get(f"/projects/{survey['project']}/jobs").text
    assert "Finished" in rows_of(done)[survey["ready"]]
    assert f'href="/jobs/{survey["ready"]}/ground-truth/complete"' in done


def test_job_list_for_reviewers_and_annotators(client, people, survey, signed_in):
    reviewer = signed_in(people["reviewer"]).get(f"/projects/{survey['project']}/jobs")
    rows = rows_of(reviewer.text)
    assert len(rows) == 2 and "annotator2@example.com" in rows[survey["ready"]]
    assert "/ground-truth" not in reviewer.text and "Ground-truth stage" not in reviewer.text

    # annotator 2 is in one job only, and sees neither GT progress nor other people's emails
    annotator = signed_in(people["annotator2"]).get(f"/projects/{survey['project']}/jobs")
    rows = rows_of(annotator.text)
    assert list(rows) == [survey["ready"]]
    assert rows[survey["ready"]] == (
        f"Ready #{survey['ready']} Continue Hand in & feedback → 3 2 annotators 100 % 3 of 3"
    )
    assert f'href="/jobs/{survey["ready"]}/feedback"' in annotator.text
    assert "Ground truth done" not in annotator.text and "@example.com</td>" not in annotator.text

    outsider = signed_in(people["annotator2"]).get("/projects/999999/jobs")
    assert outsider.status_code == 404 and "Project 999999 not found." in outsider.text


# -- the editor page ------------------------------------------------------------------------------


def test_only_leads_and_admins_open_the_stage(client, people, survey, signed_in):
    url = f"/jobs/{survey['ready']}/ground-truth"
    for key in ("lead", "admin"):
        page = signed_in(people[key]).get(url)
        assert page.status_code == 200, key
        assert (
            'id="gt-editor"' in page.text and config_of(page.text)["job"]["id"] == survey["ready"]
        )
    for key, status in (("reviewer", 403), ("annotator", 403)):
        page = signed_in(people[key]).get(url)
        assert page.status_code == status, key
        assert page.headers["content-type"].startswith("text/html")
        assert (
            "gt-config" not in page.text
            and f"{key.capitalize()}s cannot open the ground-truth stage." in page.text
        )
    # not assigned to the job: it does not exist for them
    r = client.post(
        f"/api/projects/{survey['project']}/jobs",
        json={"title": "Other", "task_ids": survey["tasks"][:1], "assignees": []},
        headers=people["lead"].headers,
    )
    other = signed_in(people["annotator"]).get(f"/jobs/{r.json()['id']}/ground-truth")
    assert other.status_code == 404 and f"Job {r.json()['id']} not found." in other.text
    assert signed_in(people["lead"]).get("/jobs/999999/ground-truth").status_code == 404
    signed_out = client.get(url, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login?next=%2Fjobs%2F")


def test_a_job_not_fully_annotated_says_so(client, people, survey, signed_in):
    page = signed_in(people["lead"]).get(f"/jobs/{survey['waiting']}/ground-truth")
    assert page.status_code == 409
    assert (
        f"Job {survey['waiting']} is not fully annotated yet: 0 of 1 tasks are annotated or done."
        in page.text
    )
    assert 'id="gt-blocked"' in page.text and "gt-config" not in page.text
    assert f'href="/projects/{survey["project"]}/jobs"' in page.text
    complete = signed_in(people["lead"]).get(f"/jobs/{survey['waiting']}/ground-truth/complete")
    assert complete.status_code == 409 and "not fully annotated" in complete.text


def test_the_editor_page_embeds_labels_colours_control_and_urls(client, people, survey, signed_in):
    page = signed_in(people["lead"]).get(f"/jobs/{survey['ready']}/ground-truth")
    config = config_of(page.text)
    job = survey["ready"]
    labels = [
        {"name": "Elephant", "colour": "#e8590c"},
        {"name": "Zebra", "colour": "#1c7ed6"},
        {"name": "Giraffe", "colour": "#2f9e44"},
    ]
    assert config == {
        "job": {"id": job, "title": "Ready"},
        "control": {"from_name": "label", "to_name": "image"},
        "labels": labels,
        "tools": [
            {
                "kind": "box",
                "type": "rectanglelabels",
                "from_name": "label",
                "to_name": "image",
                "labels": labels,
                "rotatable": True,
            }
        ],
        "fields": [],
        "image_key": "image",
        "people": {
            str(people[k].id): f"{k}@example.com" for k in ("lead", "annotator", "annotator2")
        },
        "start": "next",
        "urls": {
            "next": f"/api/jobs/{job}/ground-truth/next",
            "previous": f"/api/jobs/{job}/ground-truth/previous",
            "done": "/api/tasks/{task}/ground-truth/done",
            "references": "/api/tasks/{task}/references",
            "complete": f"/jobs/{job}/ground-truth/complete",
            "jobs": f"/projects/{survey['project']}/jobs",
        },
    }
    for name in (
        "editor_geometry",
        "editor_view",
        "editor_picker",
        "editor_tools",
        "editor_keys",
        "editor",
    ):
        assert f'<script src="/static/{name}.js?v=' in page.text
    for control in ("gt-start-from", "gt-reference", "gt-done", "gt-back", "gt-zoom-in"):
        assert f'id="{control}"' in page.text
    assert "Keyboard and mouse" in page.text and "Ctrl + Enter" in page.text
    assert client.get("/static/editor.js").status_code == 200


def test_hostile_titles_stay_inside_the_json(client, people, project, signed_in):
    hostile = "</script><script>alert(1)</script>"
    s = make_survey(
        client, people, project, [f"/data/media/project-{project['id']}/{n}.jpg" for n in "ab"]
    )
    client.patch(f"/api/jobs/{s['ready']}", json={"title": hostile}, headers=people["lead"].headers)
    annotate_job(client, people["annotator"], s["ready"])
    annotate_job(client, people["annotator2"], s["ready"])
    page = signed_in(people["lead"]).get(f"/jobs/{s['ready']}/ground-truth")
    assert page.status_code == 200 and hostile not in page.text
    assert config_of(page.text)["job"]["title"] == hostile


def test_a_project_the_editor_cannot_edit_gets_a_message(client, people, signed_in):
    lead = people["lead"]
    config = (
        "<View><Image name='image' value='$image'/>"
        "<BrushLabels name='mask' toName='image'><Label value='herd'/></BrushLabels></View>"
    )
    p = client.post(
        "/api/projects", json={"title": "Classes", "label_config": config}, headers=lead.headers
    ).json()
    ids = client.post(
        f"/api/projects/{p['id']}/import?return_task_ids=true",
        json=[{"image": f"/data/media/project-{p['id']}/x.jpg"}],
        headers=lead.headers,
    ).json()["task_ids"]
    job = client.post(
        f"/api/projects/{p['id']}/jobs", json={"task_ids": ids}, headers=lead.headers
    ).json()["id"]
    r = client.post(
        f"/api/tasks/{ids[0]}/annotations", json={"job": job, "result": []}, headers=lead.headers
    )
    assert r.status_code == 201, r.text
    page = signed_in(lead).get(f"/jobs/{job}/ground-truth")
    assert page.status_code == 409
    assert "has no control the editor supports" in page.text and "gt-config" not in page.text


# -- the completion page ------------------------------------------------------------------------


def test_at_100_percent_the_stage_shows_the_completion_page(client, people, survey, signed_in):
    lead = people["lead"]
    browser = signed_in(lead)
    unfinished = browser.get(f"/jobs/{survey['ready']}/ground-truth/complete")
    assert unfinished.status_code == 200
    assert "Ground truth in progress" in unfinished.text and 'id="count-open">3<' in unfinished.text

    walk_stage(client, lead, survey["ready"], empty_first=True)
    r = browser.get(f"/jobs/{survey['ready']}/ground-truth", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/jobs/{survey['ready']}/ground-truth/complete"
    page = browser.get(r.headers["location"])
    assert page.status_code == 200 and "Ground truth finished" in page.text
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', page.text))
    assert counts == {"total": "3", "done": "2", "empty": "1", "regions": "2"}
    assert f'href="/jobs/{survey["ready"]}/ground-truth?back=1"' in page.text

    # "go back to the last task" opens the editor on the last finished task
    back = browser.get(f"/jobs/{survey['ready']}/ground-truth?back=1")
    assert back.status_code == 200 and config_of(back.text)["start"] == "previous"
    for key in ("reviewer", "annotator"):
        assert (
            signed_in(people[key]).get(f"/jobs/{survey['ready']}/ground-truth/complete").status_code
            == 403
        )
