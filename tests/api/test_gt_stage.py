"""Jobs, the annotator queue and the ground-truth stage (Scout's "ground truth review of tasks")."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assay.store.models import Annotation, TaskEvent
from builders import annotate_job, box, job_aliases


@pytest.fixture
def survey(client, people, project):
    """Six tasks; job A = tasks 0-3 for both annotators, job B = tasks 2-5 for annotator 1; a model on all."""
    lead = people["lead"].headers
    items = [
        {
            "data": {"image": f"{i}.jpg"},
            "predictions": [
                {
                    "result": [box(40, 40, 5, 5, label="Zebra")],
                    "score": 0.7,
                    "model_version": "det-v1",
                }
            ],
        }
        for i in range(6)
    ]
    ids = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true", json=items, headers=lead
    ).json()["task_ids"]
    a = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={
            "title": "Block A",
            "task_ids": ids[:4],
            "assignees": [people["annotator"].id, people["annotator2"].id],
        },
        headers=lead,
    )
    assert a.status_code == 201, a.text
    b = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "Block B", "task_ids": ids[2:], "assignees": [people["annotator"].id]},
        headers=lead,
    )
    return {"tasks": ids, "A": a.json()["id"], "B": b.json()["id"], "project": project["id"]}


def test_job_creation_checks_its_input(client, people, project, survey):
    lead = people["lead"].headers
    url = f"/api/projects/{project['id']}/jobs"
    other = client.post(
        "/api/projects", json={"title": "o", "label_config": project["label_config"]}, headers=lead
    ).json()
    foreign = client.post(
        f"/api/projects/{other['id']}/import?return_task_ids=true",
        json=[{"image": "x"}],
        headers=lead,
    ).json()["task_ids"][0]
    cases = [
        ({"title": "x", "task_ids": []}, "task_ids"),
        ({"title": "x", "task_ids": [survey["tasks"][0], foreign]}, "task_ids"),
        ({"title": "x", "task_ids": "1,2"}, "task_ids"),
        ({"title": "x", "task_ids": [survey["tasks"][0]], "assignees": [999]}, "assignees"),
    ]
    for body, field in cases:
        r = client.post(url, json=body, headers=lead)
        assert r.status_code == 400 and field in r.json()["validation_errors"], r.text
    assert (
        client.post(
            url, json={"task_ids": survey["tasks"]}, headers=people["annotator"].headers
        ).status_code
        == 403
    )
    assert client.get(url, headers=lead).json()["count"] == 2
    # annotators see only their own jobs
    assert [
        j["id"] for j in client.get(url, headers=people["annotator2"].headers).json()["results"]
    ] == [survey["A"]]
    assert (
        client.get(f"/api/jobs/{survey['B']}", headers=people["annotator2"].headers).status_code
        == 404
    )


def test_annotator_queue_and_progress(client, people, survey):
    ann = people["annotator"]
    first = client.get(f"/api/jobs/{survey['A']}/next", headers=ann.headers).json()
    seen = job_aliases(client, survey["A"])[survey["tasks"][0]]
    assert first["task"]["id"] == seen and first["remaining"] == 4
    made = annotate_job(client, ann, survey["A"])
    assert len(made) == 4
    job = client.get(f"/api/jobs/{survey['A']}", headers=people["lead"].headers).json()
    assert job["progress"]["annotated"] == 4 and job["progress"]["annotated_percent"] == 100.0
    # job B shares tasks 2 and 3, which the annotator has annotated already
    assert (
        client.get(f"/api/jobs/{survey['B']}/next", headers=ann.headers).json()["task"]["id"]
        == job_aliases(client, survey["B"])[survey["tasks"][4]]
    )
    # not an assignee: no queue; annotating into a job one is not in is refused
    assert (
        client.get(
            f"/api/jobs/{survey['B']}/next", headers=people["annotator2"].headers
        ).status_code
        == 404
    )
    in_b = job_aliases(client, survey["B"])[survey["tasks"][5]]  # as the annotator knows it
    r = client.post(
        f"/api/tasks/{in_b}/annotations",
        json={"job": survey["A"], "result": []},
        headers=ann.headers,
    )
    assert r.status_code == 400 and r.json()["validation_errors"] == {
        "task": [f"task {in_b} is not in job {survey['A']}"]  # the id sent, never the real one
    }
    r = client.post(
        f"/api/tasks/{survey['tasks'][5]}/annotations",
        json={"job": survey["B"], "result": []},
        headers=people["annotator2"].headers,
    )
    assert r.status_code == 404


def test_stage_waits_for_a_fully_annotated_job(client, people, survey):
    lead = people["lead"].headers
    annotate_job(client, people["annotator"], survey["B"])
    r = client.post(
        f"/api/tasks/{job_aliases(client, survey['A'])[survey['tasks'][0]]}/annotations",
        json={"job": survey["A"], "result": []},
        headers=people["annotator2"].headers,
    )
    assert r.status_code == 201, r.text
    r = client.get(f"/api/jobs/{survey['A']}/ground-truth/next", headers=lead)
    # tasks 2 and 3 count for job A too: annotator 1, an assignee of A, annotated them in B
    assert r.status_code == 409 and "3 of 4" in r.json()["detail"]
    r = client.post(
        f"/api/tasks/{survey['tasks'][0]}/ground-truth/done",
        json={"job": survey["A"], "result": []},
        headers=lead,
    )
    assert r.status_code == 409
    assert (
        client.get(f"/api/tasks/{survey['tasks'][0]}", headers=lead).json()["gt_status"] == "none"
    )


def _walk_stage(client, lead, job_id, pick=lambda st: st["regions"]):
    seen = []
    while True:
        st = client.get(f"/api/jobs/{job_id}/ground-truth/next", headers=lead).json()
        if st["complete"]:
            return seen, st
        seen.append(st["task"]["id"])
        r = client.post(
            f"/api/tasks/{st['task']['id']}/ground-truth/done",
            json={"job": job_id, "result": pick(st)},
            headers=lead,
        )
        assert r.status_code == 200, r.text


def test_stage_covers_every_task_once_in_random_order_and_done_is_global(
    client, people, survey, db
):
    lead = people["lead"].headers
    made = annotate_job(client, people["annotator"], survey["A"], x=10)
    annotate_job(client, people["annotator2"], survey["A"], x=20, label="Zebra")
    before = {a: client.get(f"/api/annotations/{a}", headers=lead).json()["result"] for a in made}

    st = client.get(f"/api/jobs/{survey['A']}/ground-truth/next", headers=lead).json()
    assert len(st["annotations"]) == 2 and st["start_from"] == people["annotator"].id
    st2 = client.get(
        f"/api/jobs/{survey['A']}/ground-truth/next?start_from={people['annotator2'].id}",
        headers=lead,
    ).json()
    assert st2["task"]["id"] == st["task"]["id"]  # stable until Done
    assert st2["regions"][0]["value"]["rectanglelabels"] == ["Zebra"]

    seen, done = _walk_stage(client, lead, survey["A"])
    assert sorted(seen) == sorted(survey["tasks"][:4]) and len(set(seen)) == 4
    assert seen != survey["tasks"][:4] or seen != sorted(seen, reverse=True)  # not simply job order
    assert (
        done["progress"]["done_percent"] == 100.0
        and done["counts"]["done"] == 4
        and done["counts"]["gt_regions"] == 4
    )

    # the annotators' annotations are untouched; GT is a new annotation by the lead
    for a, result in before.items():
        assert client.get(f"/api/annotations/{a}", headers=lead).json()["result"] == result
    with db.session(write=False) as s:
        gts = s.scalars(select(Annotation).where(Annotation.ground_truth.is_(True))).all()
    assert (
        len(gts) == 4
        and {g.completed_by_id for g in gts} == {people["lead"].id}
        and {g.job_id for g in gts} == {survey["A"]}
    )

    # done is global: job B's queue and stage skip tasks 2 and 3
    nxt = client.get(f"/api/jobs/{survey['B']}/next", headers=people["annotator"].headers).json()
    in_b = job_aliases(client, survey["B"])  # the ids the annotator knows job B's tasks by
    assert nxt["task"]["id"] == in_b[survey["tasks"][4]] and nxt["remaining"] == 2
    r = client.post(
        f"/api/tasks/{in_b[survey['tasks'][2]]}/annotations",
        json={"result": []},
        headers=people["annotator"].headers,
    )
    assert r.status_code == 409
    annotate_job(client, people["annotator"], survey["B"])
    seen_b, _ = _walk_stage(client, lead, survey["B"])
    assert sorted(seen_b) == survey["tasks"][4:]
    project = client.get(f"/api/projects/{survey['project']}", headers=lead).json()
    assert (project["done_number"], project["ground_truth_coverage"]) == (6, 100.0)


def test_empty_back_and_revise(client, people, survey):
    lead = people["lead"].headers
    annotate_job(client, people["annotator"], survey["A"])
    annotate_job(client, people["annotator2"], survey["A"])
    order, _ = _walk_stage(client, lead, survey["A"], pick=lambda st: [])
    assert all(
        client.get(f"/api/tasks/{t}", headers=lead).json()["gt_status"] == "empty" for t in order
    )
    assert (
        client.get(f"/api/projects/{survey['project']}", headers=lead).json()["empty_number"] == 4
    )

    prev = client.get(f"/api/jobs/{survey['A']}/ground-truth/previous", headers=lead).json()
    assert prev["task"]["id"] == order[-1] and prev["regions"] == []
    prev2 = client.get(
        f"/api/jobs/{survey['A']}/ground-truth/previous?before={order[-1]}", headers=lead
    ).json()
    assert prev2["task"]["id"] == order[-2]

    url = f"/api/tasks/{order[-1]}/ground-truth/done"
    r = client.post(url, json={"job": survey["A"], "result": [box(5, 5, 5, 5)]}, headers=lead)
    assert r.status_code == 409 and "already" in r.json()["detail"]  # Done twice
    r = client.post(
        url, json={"job": survey["A"], "result": [box(5, 5, 5, 5)], "revise": True}, headers=lead
    )
    assert r.status_code == 200 and r.json()["gt_status"] == "done"
    again = client.get(f"/api/jobs/{survey['A']}/ground-truth/previous", headers=lead).json()
    assert again["regions"][0]["value"]["x"] == 5
    hist = client.get(
        f"/api/projects/{survey['project']}/ground-truth/history?task={order[-1]}", headers=lead
    ).json()
    assert [h["action"] for h in hist["results"]] == ["edited", "set"]
    # revising in another job is refused
    r = client.post(url, json={"job": survey["B"], "result": [], "revise": True}, headers=lead)
    assert r.status_code in (400, 409)


def test_references_list_other_jobs_and_models(client, people, survey):
    lead = people["lead"].headers
    annotate_job(client, people["annotator"], survey["A"], x=10)
    annotate_job(client, people["annotator"], survey["B"], x=30)
    annotate_job(client, people["annotator2"], survey["A"], x=20)
    refs = client.get(f"/api/tasks/{survey['tasks'][0]}/references", headers=lead).json()
    assert sorted(r["kind"] for r in refs) == ["annotation", "annotation", "prediction"]
    assert {r["annotator"] for r in refs if r["kind"] == "annotation"} == {
        people["annotator"].id,
        people["annotator2"].id,
    }
    assert any("Block A" in r["title"] and "annotator2@example.com" in r["title"] for r in refs)
    model = next(r for r in refs if r["kind"] == "prediction")
    assert model["model_version"] == "det-v1" and "det-v1" in model["title"]
    assert (
        client.get(
            f"/api/tasks/{survey['tasks'][0]}/references", headers=people["annotator"].headers
        ).status_code
        == 404  # a task of her job she knows by its alias only; its real id names nothing
    )


def test_stage_bad_input_changes_nothing(client, people, survey):
    lead = people["lead"].headers
    annotate_job(client, people["annotator"], survey["A"])
    annotate_job(client, people["annotator2"], survey["A"])
    t0, t5 = survey["tasks"][0], survey["tasks"][5]
    cases = [
        (
            t0,
            {"job": survey["A"], "result": [box(1, 1, 2, 2, label="Cat")]},
            400,
            "result[0].value.rectanglelabels",
        ),
        (t5, {"job": survey["A"], "result": []}, 400, "task"),
        (t0, {"result": []}, 400, "job"),
        (t0, {"job": survey["A"], "result": [box(1, 1, -2, 2)]}, 400, "result[0].value.width"),
    ]
    for task_id, body, status, field in cases:
        r = client.post(f"/api/tasks/{task_id}/ground-truth/done", json=body, headers=lead)
        assert r.status_code == status, r.text
        assert field in r.json()["validation_errors"], r.json()
    assert all(
        client.get(f"/api/tasks/{t}", headers=lead).json()["gt_status"] == "none"
        for t in survey["tasks"]
    )
    for role in ("annotator", "reviewer"):
        h = people[role].headers
        assert client.get(f"/api/jobs/{survey['A']}/ground-truth/next", headers=h).status_code in (
            403,
            404,
        )
        r = client.post(
            f"/api/tasks/{t0}/ground-truth/done", json={"job": survey["A"], "result": []}, headers=h
        )
        assert r.status_code in (403, 404)
    assert (
        client.get(f"/api/jobs/{survey['A']}/ground-truth/previous", headers=lead).status_code
        == 404
    )


def test_reopen_is_an_admin_action_and_recorded(client, people, survey, db):
    lead = people["lead"].headers
    annotate_job(client, people["annotator"], survey["A"])
    annotate_job(client, people["annotator2"], survey["A"])
    order, _ = _walk_stage(client, lead, survey["A"])
    t = order[0]
    assert client.post(f"/api/tasks/{t}/ground-truth/reopen", headers=lead).status_code == 403
    r = client.post(f"/api/tasks/{t}/ground-truth/reopen", headers=people["admin"].headers)
    assert r.status_code == 200 and r.json()["gt_status"] == "none"
    assert (
        client.post(
            f"/api/tasks/{t}/ground-truth/reopen", headers=people["admin"].headers
        ).status_code
        == 409
    )
    with db.session(write=False) as s:
        events = s.scalars(
            select(TaskEvent.action).where(TaskEvent.task_id == t).order_by(TaskEvent.id)
        ).all()
    assert events == ["done", "reopened"]
    st = client.get(f"/api/jobs/{survey['A']}/ground-truth/next", headers=lead).json()
    assert st["task"]["id"] == t and st["complete"] is False
