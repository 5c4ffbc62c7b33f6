"""Periodic audits (a seeded, confidence-stratified sample of recent tasks as a GT-stage job,
reported tasks first, accuracy once done) and field feedback on predictions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import update

from assay.store.models import Task
from builders import RECT_CONFIG, aliases_of, annotate_job, box


def _recent(client, people, db, project_id):
    """40 tasks, one a day, each with a prediction of model m1 (seeded confidences)."""
    rng = np.random.default_rng(5)
    scores = rng.beta(5, 2, 40)
    items = [
        {
            "data": {"image": f"{i}.jpg"},
            "predictions": [
                {"result": [box(10, 10, 5, 5)], "score": float(s), "model_version": "m1"}
            ],
        }
        for i, s in enumerate(scores)
    ]
    r = client.post(
        f"/api/projects/{project_id}/import?return_task_ids=true",
        json=items,
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    ids = r.json()["task_ids"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.session() as s:
        for i, t in enumerate(ids):
            s.execute(update(Task).where(Task.id == t).values(created_at=start + timedelta(days=i)))
    preds = client.get(
        f"/api/predictions?project={project_id}", headers=people["lead"].headers
    ).json()
    return {
        "project": project_id,
        "tasks": ids,  # oldest first
        "prediction": {p["task"]: p["id"] for p in preds},
    }


@pytest.fixture
def recent(client, people, project, db):
    return _recent(client, people, db, project["id"])


def test_an_audit_samples_recent_tasks_stratified_by_confidence(client, people, recent):
    lead = people["lead"].headers
    url = f"/api/projects/{recent['project']}/audits"
    r = client.post(url, json={"size": 4, "seed": 11, "model_version": "m1"}, headers=lead)
    assert r.status_code == 201, r.text
    audit = r.json()
    assert audit["seed"] == 11 and audit["size"] == 4 and len(audit["task_ids"]) == 4
    newest = set(recent["tasks"][-20:])  # recent: 5 x size newest tasks
    assert set(audit["task_ids"]) <= newest
    strata = audit["sampling"]["strata"]
    assert [s["population"] for s in strata] == [5, 5, 5, 5]
    assert [s["sampled"] for s in strata] == [1, 1, 1, 1]
    assert audit["progress"] == {"done": 0, "total": 4, "percent": 0.0}
    assert audit["accuracy"] is None
    # a second audit never retakes an audited task
    again = client.post(url, json={"size": 4, "seed": 11}, headers=lead).json()
    assert not set(again["task_ids"]) & set(audit["task_ids"])
    # asking for more than there is: refused, naming the field, nothing written
    r = client.post(url, json={"size": 40}, headers=lead)
    assert r.status_code == 400 and "size" in r.json()["validation_errors"], r.text
    for body, field in (
        ({"size": 0}, "size"),
        ({"size": 2, "strata": 0}, "strata"),
        ({"size": 2, "recent": 1}, "recent"),
        ({"size": 2, "colour": 1}, "colour"),
    ):
        r = client.post(url, json=body, headers=lead)
        assert r.status_code == 400 and field in r.json()["validation_errors"], (body, r.text)
    assert client.get(url, headers=lead).json()["count"] == 2


def test_the_same_seed_draws_the_same_sample(client, people, recent, db):
    lead = people["lead"].headers
    twin = client.post(
        "/api/projects", json={"title": "twin", "label_config": RECT_CONFIG}, headers=lead
    ).json()
    twin = _recent(client, people, db, twin["id"])
    drawn = []
    for p in (recent, twin):
        r = client.post(
            f"/api/projects/{p['project']}/audits", json={"size": 5, "seed": 99}, headers=lead
        )
        assert r.status_code == 201, r.text
        drawn.append([p["tasks"].index(t) for t in r.json()["task_ids"]])
    assert drawn[0] == drawn[1]  # the same tasks, by position
    other = client.post(
        f"/api/projects/{twin['project']}/audits", json={"size": 5, "seed": 100}, headers=lead
    )
    assert other.status_code == 201, other.text


def test_audit_progress_and_accuracy_join_the_drift_output(client, people, recent):
    lead = people["lead"].headers
    url = f"/api/projects/{recent['project']}/audits"
    who = people["annotator"]
    body = {"size": 2, "seed": 1, "assignees": [who.id]}
    audit = client.post(url, json=body, headers=lead).json()
    # the audit job runs as any GT-stage job: its assignees annotate, then a lead decides
    annotate_job(client, who, audit["job"])
    right, wrong = audit["task_ids"]
    for task, result in ((right, [box(10, 10, 5, 5)]), (wrong, [box(60, 60, 5, 5)])):
        r = client.post(
            f"/api/tasks/{task}/ground-truth/done",
            json={"job": audit["job"], "result": result},
            headers=lead,
        )
        assert r.status_code == 200, r.text
    row = client.get(url, headers=lead).json()["results"][0]
    assert row["progress"]["done"] == 2 and row["finished"]
    assert row["scored"] == 2
    assert row["accuracy"] == pytest.approx(1 / 3)  # tp 1, fp 1, fn 1
    drift = client.get(
        f"/api/projects/{recent['project']}/drift?model_version=m1&window=week", headers=lead
    ).json()
    audited = [w for w in drift["windows"] if w["audit_scored"]]
    assert sum(w["audit_scored"] for w in audited) == 2
    assert sum(w["scored"] for w in drift["windows"]) == 2


def test_feedback_is_recorded_and_reported_tasks_go_first_to_the_next_audit(client, people, recent):
    lead = people["lead"].headers
    oldest = recent["tasks"][0]  # far outside the recent window
    pred = recent["prediction"][oldest]
    r = client.post(
        f"/api/tasks/{oldest}/feedback",
        json={"prediction": pred, "kind": "wrong_label", "comment": "that is a zebra"},
        headers=people["reviewer"].headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["task"] == oldest and r.json()["audit"] is None
    for body, field in (
        ({"kind": "nonsense"}, "kind"),
        ({"kind": "other", "prediction": recent["prediction"][recent["tasks"][1]]}, "prediction"),
        ({"kind": "other", "comment": 5}, "comment"),
        ({"kind": "other", "mood": "bad"}, "mood"),
    ):
        r = client.post(f"/api/tasks/{oldest}/feedback", json=body, headers=lead)
        assert r.status_code == 400 and field in r.json()["validation_errors"], (body, r.text)
    audit = client.post(
        f"/api/projects/{recent['project']}/audits", json={"size": 3, "seed": 2}, headers=lead
    ).json()
    assert audit["task_ids"][0] == oldest
    assert audit["sampling"]["reported"] == [oldest]
    listed = client.get(f"/api/projects/{recent['project']}/feedback", headers=lead).json()
    assert listed["count"] == 1
    assert listed["results"][0]["audit"] == audit["id"]
    assert listed["results"][0]["kind"] == "wrong_label"
    # reported once: the next audit does not take it again
    nxt = client.post(
        f"/api/projects/{recent['project']}/audits", json={"size": 3, "seed": 2}, headers=lead
    ).json()
    assert nxt["sampling"]["reported"] == []


def test_annotators_report_by_alias_and_see_nothing_of_drift(client, people, recent):
    lead = people["lead"]
    annotator = people["annotator"]
    task = recent["tasks"][5]
    job = client.post(
        f"/api/projects/{recent['project']}/jobs",
        json={"title": "j", "task_ids": [task], "assignees": [annotator.id]},
        headers=lead.headers,
    ).json()["id"]
    alias = aliases_of(client, lead, annotator, job)[task]
    r = client.post(
        f"/api/tasks/{task}/feedback", json={"kind": "other"}, headers=annotator.headers
    )
    assert r.status_code == 404, r.text  # her job's task by its real id: not there
    r = client.post(
        f"/api/tasks/{alias}/feedback",
        json={"kind": "missed_object", "comment": "a second elephant"},
        headers=annotator.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["task"] == alias
    assert "project" not in r.json() and "audit" not in r.json()
    listed = client.get(f"/api/projects/{recent['project']}/feedback", headers=lead.headers).json()
    assert listed["results"][0]["task"] == task
    for path in ("drift?model_version=m1", "audits", "feedback", "drift-settings"):
        r = client.get(f"/api/projects/{recent['project']}/{path}", headers=annotator.headers)
        assert r.status_code == 403, (path, r.text)


def test_feedback_is_listed_a_page_at_a_time(client, people, recent):
    lead = people["lead"].headers
    task = recent["tasks"][0]
    for i in range(3):
        r = client.post(
            f"/api/tasks/{task}/feedback",
            json={"kind": "wrong_label", "comment": f"report {i}"},
            headers=lead,
        )
        assert r.status_code == 201, r.text
    url = f"/api/projects/{recent['project']}/feedback?page_size=2"
    first = client.get(url, headers=lead).json()
    second = client.get(f"{url}&page=2", headers=lead).json()
    assert first["count"] == second["count"] == 3
    assert [f["comment"] for f in first["results"] + second["results"]] == [
        "report 2",
        "report 1",
        "report 0",
    ]
