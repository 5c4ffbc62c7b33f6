"""The review stream page and the review parts of the project page, server-rendered: who sees
the page and the links, what the page hands its script, the Review and Reviewers columns and
the review-status filter. The clicking itself is in test_web_review_browser.py."""

from __future__ import annotations

import json
import re

import pytest

from builders import ParsedPage as _Page
from builders import box, by_task, counting_queries, import_tasks


@pytest.fixture
def stream(client, people, project) -> dict:
    """Three tasks; t0 and t1 annotated by both annotators, t2 by annotator only; a prediction
    on t0."""
    a1, a2 = people["annotator"].id, people["annotator2"].id

    def ann(author: int, x: float = 10) -> dict:
        return {"result": [box(x, 10, 20, 20)], "completed_by": author}

    items = [
        {
            "data": {"image": f"/data/media/project-{project['id']}/0.png"},
            "annotations": [ann(a1), ann(a2, 12)],
            "predictions": [
                {"model_version": "det-v1", "score": 0.4, "result": [box(9, 9, 20, 20)]}
            ],
        },
        {
            "data": {"image": f"/data/media/project-{project['id']}/1.png"},
            "annotations": [ann(a1), ann(a2)],
        },
        {"data": {"image": f"/data/media/project-{project['id']}/2.png"}, "annotations": [ann(a1)]},
    ]
    ids = import_tasks(client, people["lead"], project["id"], items)
    anns = {
        t: client.get(f"/api/tasks/{t}/annotations", headers=people["lead"].headers).json()
        for t in ids
    }
    return {"project": project["id"], "tasks": ids, "annotations": anns}


def _review(client, person, ann_id: int, action: str, **body) -> None:
    r = client.post(
        f"/api/annotations/{ann_id}/reviews",
        json={"action": action, **body},
        headers=person.headers,
    )
    assert r.status_code == 201, r.text


def test_reviewer_gets_the_stream_page_with_its_start_and_progress(signed_in, people, stream):
    reviewer = signed_in(people["reviewer"])
    r = reviewer.get(f"/projects/{stream['project']}/review")
    assert r.status_code == 200
    assert "0 of 5 reviewed" in r.text
    config = json.loads(_Page(r.text).json_scripts["review-config"])
    assert config["control"] == {"from_name": "label", "to_name": "image"}
    assert [label["name"] for label in config["labels"]] == ["Elephant", "Zebra", "Giraffe"]
    assert config["image_key"] == "image"
    assert config["urls"]["next"] == f"/api/projects/{stream['project']}/review/next"
    assert config["people"][str(people["annotator2"].id)] == "annotator2@example.com"
    assert config["order"] == "task" and config["tasks"] is None and config["sees_quality"]
    # the order and annotator pickers, with the project's annotators
    assert 'value="accuracy"' in r.text and "annotator2@example.com</option>" in r.text


def test_stream_page_takes_order_annotator_and_a_task_subset(signed_in, people, stream):
    reviewer = signed_in(people["reviewer"])
    t0, t1, _ = stream["tasks"]
    a2 = people["annotator2"].id
    url = f"/projects/{stream['project']}/review?order=agreement&annotator={a2}&tasks={t0},{t1}"
    r = reviewer.get(url)
    assert r.status_code == 200
    config = json.loads(_Page(r.text).json_scripts["review-config"])
    assert (config["order"], config["annotator"], config["tasks"]) == ("agreement", a2, [t0, t1])
    assert "0 of 2 reviewed" in r.text and "2 selected tasks" in r.text
    # "Everyone" submits an empty annotator: the whole stream
    r = reviewer.get(f"/projects/{stream['project']}/review?annotator=&order=task")
    assert r.status_code == 200 and "0 of 5 reviewed" in r.text
    # bad values get the error page, not a traceback
    r = reviewer.get(f"/projects/{stream['project']}/review?order=random")
    assert r.status_code == 400 and "order" in r.text and "<h1>" in r.text
    assert reviewer.get(f"/projects/{stream['project']}/review?tasks=a,b").status_code == 400
    for query in (f"tasks={t0},{2**63}", f"annotator={2**63}", "annotator=" + "9" * 5000):
        r = reviewer.get(f"/projects/{stream['project']}/review?{query}")
        assert r.status_code == 400, (query, r.status_code)  # not a database overflow


def test_progress_counts_what_the_reviewer_reviewed(signed_in, client, people, stream):
    t0 = stream["tasks"][0]
    first = stream["annotations"][t0][0]["id"]
    _review(client, people["reviewer"], first, "accept")
    r = signed_in(people["reviewer"]).get(f"/projects/{stream['project']}/review")
    assert "1 of 5 reviewed" in r.text


def test_annotator_may_not_open_the_stream_or_the_dashboard(signed_in, people, stream):
    annotator = signed_in(people["annotator"])
    for page in ("review", "dashboard"):
        r = annotator.get(f"/projects/{stream['project']}/{page}")
        assert r.status_code == 403, page
        assert "Not allowed" in r.text and "review-config" not in r.text
    r = annotator.get(f"/projects/{stream['project']}")
    assert r.status_code == 200
    assert 'id="review-link"' not in r.text and 'id="dashboard-link"' not in r.text
    assert "Review All Tasks" not in r.text


def test_outsiders_get_404_and_anonymous_users_the_login(app, signed_in, people, db, stream):
    from fastapi.testclient import TestClient

    from assay.services import users

    with db.session() as s:
        users.create_user(s, "stranger@example.com", "reviewer", password="stranger-password")
    from builders import Person

    stranger = signed_in(Person(0, "stranger@example.com", "reviewer", "", "stranger-password"))
    assert stranger.get(f"/projects/{stream['project']}/review").status_code == 404
    with TestClient(app) as anonymous:
        r = anonymous.get(f"/projects/{stream['project']}/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["reviewer", "lead", "admin"])
def test_review_and_dashboard_links_for_those_who_may(signed_in, people, stream, role):
    page = signed_in(people[role]).get(f"/projects/{stream['project']}").text
    assert f'href="/projects/{stream["project"]}/review" id="review-link"' in page
    assert f'href="/projects/{stream["project"]}/dashboard" id="dashboard-link"' in page


# -- the data manager's Review and Reviewers columns, filter and button ---------------------------


def _assign(client, lead, project_id: int, task_ids: list[int], reviewers: list[int]) -> None:
    r = client.post(
        f"/api/dm/actions?id=assign_reviewers&project={project_id}",
        json={"selectedItems": {"all": False, "included": task_ids}, "reviewers": reviewers},
        headers=lead.headers,
    )
    assert r.status_code == 200, r.text


def test_review_and_reviewers_columns_show_statuses_and_people(signed_in, client, people, stream):
    t0, t1, t2 = stream["tasks"]
    a = stream["annotations"]
    _review(client, people["reviewer"], a[t0][0]["id"], "accept")
    _review(client, people["reviewer"], a[t0][1]["id"], "reject", comment="No.")
    _review(client, people["lead"], a[t1][0]["id"], "fix_accept", result=[box(1, 1, 5, 5)])
    _assign(client, people["lead"], stream["project"], [t1, t2], [people["reviewer"].id])
    r = signed_in(people["reviewer"]).get(f"/projects/{stream['project']}")
    rows = by_task(_Page(r.text))
    assert rows[f"#{t0}"]["Review"] == "✓ 1 ✗ 1"
    assert rows[f"#{t1}"]["Review"] == "✎ 1 ○ 1"
    assert rows[f"#{t2}"]["Review"] == "○ 1"
    assert rows[f"#{t0}"]["Reviewers"] == "reviewer@example.com ✓"
    assert rows[f"#{t1}"]["Reviewers"] == "reviewer@example.com, lead@example.com ✓"
    assert rows[f"#{t2}"]["Reviewers"] == "reviewer@example.com"
    # the review-status filter: only tasks with a rejected annotation
    r = signed_in(people["reviewer"]).get(f"/projects/{stream['project']}?review_status=rejected")
    assert list(by_task(_Page(r.text))) == [f"#{t0}"]
    assert 'aria-current="page">Rejected</a>' in r.text
    # the GT filter links keep the review filter, and the other way round
    assert (
        f'href="/projects/{stream["project"]}?review_status=rejected&amp;ground_truth=true"'
        in r.text
    )
    r = signed_in(people["reviewer"]).get(
        f"/projects/{stream['project']}?review_status=fixed&ground_truth=true"
    )
    assert "No tasks match these filters." in r.text


def test_review_button_and_assign_reviewers_dialog_for_leads(signed_in, people, stream):
    r = signed_in(people["lead"]).get(f"/projects/{stream['project']}")
    assert f'id="dm-review" href="/projects/{stream["project"]}/review"' in r.text
    assert ">Review All Tasks</a>" in r.text
    dialog = r.text.split('id="dm-reviewers-dialog"')[1].split("</dialog>")[0]
    offered = re.findall(r'name="reviewer" value="(\d+)"> ([^ ]+)', dialog)
    assert offered == [
        (str(people["lead"].id), "lead@example.com"),
        (str(people["reviewer"].id), "reviewer@example.com"),
    ]
    # reviewers get the button (a plain link) but not the action
    r = signed_in(people["reviewer"]).get(f"/projects/{stream['project']}")
    assert 'id="dm-review"' in r.text and "assign_reviewers" not in r.text


def test_review_columns_take_a_fixed_number_of_queries(signed_in, client, people, stream, db):
    reviewer = signed_in(people["reviewer"])
    url = f"/projects/{stream['project']}"
    _assign(client, people["lead"], stream["project"], stream["tasks"], [people["reviewer"].id])
    with counting_queries(db) as few:
        assert reviewer.get(url + "?page_size=2").status_code == 200
    a1 = people["annotator"].id
    more = [
        {"data": {"image": f"/data/media/project-{stream['project']}/m{i}.png"},
         "annotations": [{"result": [box(5, 5, 5, 5)], "completed_by": a1}]}
        for i in range(20)
    ]  # fmt: skip
    ids = import_tasks(client, people["lead"], stream["project"], more)
    _assign(client, people["lead"], stream["project"], ids, [people["reviewer"].id])
    with counting_queries(db) as many:
        r = reviewer.get(url + "?page_size=30")
    assert r.status_code == 200 and r.text.count("○ 1") == 21
    assert len(many) == len(few), (len(few), len(many))
