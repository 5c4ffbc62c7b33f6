"""The rework loop (#18): a reject with a reason sends the work back into its annotator's queue,
the resubmission is a new revision of the same annotation and returns to the reviewer who
rejected it; project review settings; a lead's acceptance gate closes a job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from assay.store.models import Annotation, Review
from builders import add_member, aliases_of, box, import_tasks


def _job(client, people, project_id, tasks, who=("annotator",)):
    r = client.post(
        f"/api/projects/{project_id}/jobs",
        json={"title": "j", "task_ids": tasks, "assignees": [people[w].id for w in who]},
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _next(client, person, job_id):
    r = client.get(f"/api/jobs/{job_id}/next", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _submit(client, person, job_id, task_id, result):
    r = client.post(
        f"/api/tasks/{task_id}/annotations",
        json={"job": job_id, "result": result},
        headers=person.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _reject(client, person, ann_id, **body):
    return client.post(
        f"/api/annotations/{ann_id}/reviews",
        json={"action": "reject", **body},
        headers=person.headers,
    )


def _stream(client, person, project_id):
    r = client.get(f"/api/projects/{project_id}/review/next", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def loop(client, people, project):
    """Three tasks in a job of the annotator, who annotated the first two."""
    tasks = import_tasks(
        client, people["lead"], project["id"], [{"image": f"{i}.jpg"} for i in range(3)]
    )
    job = _job(client, people, project["id"], tasks)
    # the annotator knows the job's tasks by alias (services.task_aliases): `tasks` as they do
    seen = aliases_of(client, people["lead"], people["annotator"], job)
    tasks = [seen[t] for t in tasks]
    anns = [_submit(client, people["annotator"], job, t, [box(10, 10, 20, 20)]) for t in tasks[:2]]
    return {"project": project["id"], "job": job, "tasks": tasks, "anns": anns}


def test_default_settings_and_who_reads_and_changes_them(client, people, project):
    url = f"/api/projects/{project['id']}/review-settings"
    r = client.get(url, headers=people["reviewer"].headers)
    assert r.status_code == 200
    assert r.json()["reject_returns_to_annotator"] is True
    assert {"missed objects", "wrong label", "loose boxes"} <= set(r.json()["reject_reasons"])
    assert client.get(url, headers=people["annotator"].headers).status_code == 403
    r = client.patch(url, json={"reject_reasons": ["blurry"]}, headers=people["reviewer"].headers)
    assert r.status_code == 403
    r = client.patch(
        url, json={"reject_reasons": ["too small", "wrong label"]}, headers=people["lead"].headers
    )
    assert r.status_code == 200 and r.json()["reject_reasons"] == ["too small", "wrong label"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reject_returns_to_annotator": "yes"}, "reject_returns_to_annotator"),
        ({"reject_reasons": []}, "reject_reasons"),
        ({"reject_reasons": ["a", "a"]}, "reject_reasons"),
        ({"reject_reasons": ["Other"]}, "reject_reasons"),
        ({"reject_reasons": [""]}, "reject_reasons"),
        ({"reject_reasons": ["ok"], "colour": "red"}, "colour"),
    ],
)
def test_bad_settings_are_refused_naming_the_field_and_change_nothing(
    client, people, project, body, field
):
    url = f"/api/projects/{project['id']}/review-settings"
    before = client.get(url, headers=people["lead"].headers).json()
    r = client.patch(url, json=body, headers=people["lead"].headers)
    assert r.status_code == 400, r.text
    assert list(r.json()["validation_errors"]) == [field]
    assert client.get(url, headers=people["lead"].headers).json() == before


def test_a_reject_needs_a_reason_of_the_list(client, people, loop):
    ann = loop["anns"][0]
    r = _reject(client, people["reviewer"], ann, reason="ugly")
    assert r.status_code == 400
    assert list(r.json()["validation_errors"]) == ["reason"]
    assert "missed objects" in r.json()["validation_errors"]["reason"][0]
    r = client.post(
        f"/api/annotations/{ann}/reviews",
        json={"action": "accept", "reason": "wrong label"},
        headers=people["reviewer"].headers,
    )
    assert r.status_code == 400 and list(r.json()["validation_errors"]) == ["reason"]
    reviews = client.get(f"/api/annotations/{ann}/reviews", headers=people["lead"].headers).json()
    assert reviews == []
    r = _reject(client, people["reviewer"], ann, reason="other", comment="the sky is not an animal")
    assert r.status_code == 201 and r.json()["reason"] == "other"


def test_rejected_work_comes_back_first_with_the_reason_and_its_regions(client, people, loop):
    job, (_, t1, t2), (_, a1) = loop["job"], loop["tasks"], loop["anns"]
    before = _next(client, people["annotator"], job)
    assert before["task"]["id"] == t2 and before["rework"] is None and before["remaining"] == 1
    r = _reject(
        client, people["reviewer"], a1, reason="loose boxes", comment="tighten the left box"
    )
    assert r.status_code == 201, r.text
    nxt = _next(client, people["annotator"], job)
    assert nxt["task"]["id"] == t1  # before the new task
    assert nxt["remaining"] == 2 and nxt["complete"] is False
    rw = nxt["rework"]
    assert (rw["reason"], rw["comment"]) == ("loose boxes", "tighten the left box")
    assert rw["reviewer"]["id"] == people["reviewer"].id and rw["reviewer"]["name"]
    assert rw["annotation"]["id"] == a1 and rw["annotation"]["result"][0]["value"]["x"] == 10
    # the task by the id the annotator knows it by (its alias in the job), not its real one
    assert rw["annotation"]["task"] == t1


def test_resubmission_is_a_new_revision_and_returns_to_the_rejecting_reviewer(
    db, client, people, loop
):
    reviewer2 = add_member(db, client, people["lead"], loop["project"], "reviewer2", "reviewer")
    job, (a0, a1) = loop["job"], loop["anns"]
    assert _reject(client, people["reviewer"], a1, reason="wrong label").status_code == 201
    r = client.patch(
        f"/api/annotations/{a1}",
        json={"result": [box(12, 12, 15, 15)]},
        headers=people["annotator"].headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == a1 and r.json()["review_status"] == "none"
    revs = client.get(f"/api/annotations/{a1}/revisions", headers=people["lead"].headers).json()
    assert [x["action"] for x in revs] == ["created", "resubmitted"]
    assert _next(client, people["annotator"], job)["rework"] is None  # out of the queue again
    # back to the reviewer who rejected it, first in their stream (a0 is older, still unreviewed)
    first = _stream(client, people["reviewer"], loop["project"])
    assert first["annotation"]["id"] == a1
    # out of the other reviewer's stream; a lead still has it
    other = _stream(client, reviewer2, loop["project"])
    assert other["annotation"]["id"] == a0 and other["total"] == 1
    assert _stream(client, people["lead"], loop["project"])["total"] == 2
    # the reviewer accepts the second pass; the reject stays in the history, superseded
    r = client.post(
        f"/api/annotations/{a1}/reviews",
        json={"action": "accept"},
        headers=people["reviewer"].headers,
    )
    assert r.status_code == 201, r.text
    reviews = client.get(f"/api/annotations/{a1}/reviews", headers=people["lead"].headers).json()
    assert [(x["action"], x["superseded_at"] is not None) for x in reviews] == [
        ("reject", True),
        ("accept", False),
    ]
    assert reviews[1]["reviewed_revision"] == 2


def test_an_unchanged_resubmission_still_counts_and_a_superseded_reject_cannot_be_undone(
    client, people, loop
):
    a1 = loop["anns"][1]
    rid = _reject(client, people["reviewer"], a1).json()["id"]
    ann = client.get(f"/api/annotations/{a1}", headers=people["annotator"].headers).json()
    r = client.patch(
        f"/api/annotations/{a1}",
        json={"result": ann["result"]},
        headers=people["annotator"].headers,
    )
    assert r.status_code == 200 and r.json()["review_status"] == "none"
    r = client.post(f"/api/reviews/{rid}/undo", headers=people["reviewer"].headers)
    assert r.status_code == 409 and "resubmitted" in r.json()["detail"]


def test_undoing_a_reject_takes_the_work_out_of_the_queue(client, people, loop):
    a1 = loop["anns"][1]
    rid = _reject(client, people["reviewer"], a1).json()["id"]
    assert _next(client, people["annotator"], loop["job"])["rework"]["review"] == rid
    assert (
        client.post(f"/api/reviews/{rid}/undo", headers=people["reviewer"].headers).status_code
        == 200
    )
    assert _next(client, people["annotator"], loop["job"])["rework"] is None


def test_with_the_setting_off_a_reject_stays_with_the_reviewer(client, people, loop):
    r = client.patch(
        f"/api/projects/{loop['project']}/review-settings",
        json={"reject_returns_to_annotator": False},
        headers=people["lead"].headers,
    )
    assert r.status_code == 200
    assert _reject(client, people["reviewer"], loop["anns"][1]).status_code == 201
    nxt = _next(client, people["annotator"], loop["job"])
    assert nxt["rework"] is None and nxt["task"]["id"] == loop["tasks"][2]


def test_accepting_a_job_closes_it_to_its_annotators_and_reopening_opens_it(client, people, loop):
    job, a0 = loop["job"], loop["anns"][0]
    ann_h = people["annotator"].headers
    assert (
        client.post(f"/api/jobs/{job}/accept", headers=people["reviewer"].headers).status_code
        == 403
    )
    assert client.post(f"/api/jobs/{job}/accept", headers=ann_h).status_code in (403, 404)
    r = client.post(f"/api/jobs/{job}/accept", headers=people["lead"].headers)
    assert r.status_code == 200 and r.json()["accepted_by"] == people["lead"].id
    assert client.post(f"/api/jobs/{job}/accept", headers=people["lead"].headers).status_code == 409
    nxt = _next(client, people["annotator"], job)
    assert nxt["closed"] is True and nxt["task"] is None and "closed" in nxt["detail"]
    r = client.post(
        f"/api/tasks/{loop['tasks'][2]}/annotations",
        json={"job": job, "result": []},
        headers=ann_h,
    )
    assert r.status_code == 403 and "closed" in r.json()["detail"]
    r = client.patch(f"/api/annotations/{a0}", json={"result": []}, headers=ann_h)
    assert r.status_code == 403 and "closed" in r.json()["detail"]
    assert client.delete(f"/api/annotations/{a0}", headers=ann_h).status_code == 403
    assert client.get(f"/api/annotations/{a0}", headers=ann_h).json()["result"]  # unchanged
    r = client.delete(f"/api/jobs/{job}/accept", headers=people["lead"].headers)
    assert r.status_code == 200 and r.json()["accepted_at"] is None
    assert _next(client, people["annotator"], job)["task"]["id"] == loop["tasks"][2]
    r = client.patch(f"/api/annotations/{a0}", json={"result": []}, headers=ann_h)
    assert r.status_code == 200


def test_dashboard_reports_first_pass_acceptance_passes_and_time_to_acceptance(
    db, client, people, loop, signed_in
):
    job, (a0, a1), t2 = loop["job"], loop["anns"], loop["tasks"][2]
    a2 = _submit(client, people["annotator"], job, t2, [box(1, 1, 5, 5)])
    rv = people["reviewer"]
    accept = {"action": "accept"}
    assert (
        client.post(f"/api/annotations/{a0}/reviews", json=accept, headers=rv.headers).status_code
        == 201
    )
    assert _reject(client, rv, a1, reason="wrong label").status_code == 201
    r = client.patch(
        f"/api/annotations/{a1}", json={"result": []}, headers=people["annotator"].headers
    )
    assert r.status_code == 200
    assert (
        client.post(f"/api/annotations/{a1}/reviews", json=accept, headers=rv.headers).status_code
        == 201
    )
    assert _reject(client, rv, a2).status_code == 201  # still rejected: reviewed, not accepted
    # a0 accepted 100 s after it was made, a1 300 s after
    t = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with db.session() as s:
        s.execute(update(Annotation).where(Annotation.id.in_([a0, a1, a2])).values(created_at=t))
        for ann, wait in ((a0, 100), (a1, 300)):
            s.execute(
                update(Review)
                .where(Review.annotation_id == ann, Review.action == "accept")
                .values(created_at=t + timedelta(seconds=wait))
            )
    rows = client.get(
        f"/api/projects/{loop['project']}/dashboard/annotators", headers=people["lead"].headers
    ).json()
    mine = next(
        r
        for r in (rows["results"] if isinstance(rows, dict) else rows)
        if r["annotator"] == people["annotator"].id
    )
    assert mine["first_pass_acceptance"] == pytest.approx(1 / 3, abs=1e-6)
    assert mine["passes_per_accepted"] == 1.5
    assert mine["median_time_to_acceptance"] == 200
    csv_text = client.get(
        f"/api/projects/{loop['project']}/dashboard/annotators?format=csv",
        headers=people["lead"].headers,
    ).text
    header = csv_text.splitlines()[0].split(",")
    assert {"first_pass_acceptance", "passes_per_accepted", "median_time_to_acceptance"} <= set(
        header
    )
    page = signed_in(people["lead"]).get(f"/projects/{loop['project']}/dashboard").text
    assert "33.3 %" in page and "1.50" in page and "3 min" in page
