"""Replicas: each task of a job goes to `replicas` different assignees (issue #10, item 1)."""

from __future__ import annotations

from builders import box, job_aliases


def _setup(client, people, project, replicas=2, who=("annotator", "annotator2", "reviewer")):
    ids = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": f"{i}.jpg"} for i in range(4)],
        headers=people["lead"].headers,
    ).json()["task_ids"]
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"task_ids": ids, "assignees": [people[w].id for w in who], "replicas": replicas},
        headers=people["lead"].headers,
    )
    return ids, r


def _annotate(client, person, job_id, n):
    done = []
    for _ in range(n):
        nxt = client.get(f"/api/jobs/{job_id}/next", headers=person.headers).json()
        if nxt["complete"]:
            break
        t = nxt["task"]["id"]
        r = client.post(
            f"/api/tasks/{t}/annotations",
            json={"job": job_id, "result": [box(1, 1, 2, 2)]},
            headers=person.headers,
        )
        assert r.status_code == 201, r.text
        done.append(t)
    return done


def test_queue_gives_each_task_to_replicas_people(client, people, project):
    ids, r = _setup(client, people, project)
    assert r.status_code == 201 and r.json()["replicas"] == 2
    job = r.json()["id"]
    a1, a2, third = people["annotator"], people["annotator2"], people["reviewer"]
    seen = job_aliases(client, job)  # what the annotators know the tasks by
    assert _annotate(client, a1, job, 2) == [seen[t] for t in ids[:2]]
    assert _annotate(client, a2, job, 1) == [seen[ids[0]]]  # task 0 now has its two replicas
    nxt = client.get(f"/api/jobs/{job}/next", headers=third.headers).json()
    assert nxt["task"]["id"] == ids[1] and nxt["remaining"] == 3
    assert _annotate(client, third, job, 4) == ids[1:]
    # tasks 1-3 have two now (a1 + third on 1; a1 can still take 2, 3)
    nxt = client.get(f"/api/jobs/{job}/next", headers=a1.headers).json()
    assert nxt["task"]["id"] == seen[ids[2]] and nxt["remaining"] == 2
    assert _annotate(client, a1, job, 4) == [seen[t] for t in ids[2:]]
    for person in (a1, a2, third):
        nxt = client.get(f"/api/jobs/{job}/next", headers=person.headers).json()
        assert nxt["complete"] and nxt["remaining"] == 0
    # a cancelled (skipped) annotation is no replica: the task comes back to others
    lead = people["lead"].headers
    anns = client.get(f"/api/tasks/{ids[3]}/annotations", headers=lead).json()
    r = client.patch(
        f"/api/annotations/{anns[0]['id']}", json={"was_cancelled": True}, headers=lead
    )
    assert r.status_code == 200, r.text
    nxt = client.get(f"/api/jobs/{job}/next", headers=a2.headers).json()
    assert nxt["task"]["id"] == seen[ids[3]]


def test_replicas_are_checked(client, people, project):
    for value, why in [
        (1, "from 2 to 11"),
        (12, "from 2 to 11"),
        ("2", "integer"),
        (True, "integer"),
    ]:
        _, r = _setup(client, people, project, replicas=value)
        assert r.status_code == 400 and "replicas" in r.json()["validation_errors"], r.text
        assert why in r.json()["detail"]
    _, r = _setup(client, people, project, replicas=3, who=("annotator", "annotator2"))
    assert r.status_code == 400 and "need at least 3 assignees" in r.json()["detail"]
    _, r = _setup(client, people, project, replicas=None)
    assert r.status_code == 201 and r.json()["replicas"] is None
    job = r.json()["id"]
    lead = people["lead"].headers
    r = client.patch(f"/api/jobs/{job}", json={"replicas": 3}, headers=lead)
    assert r.status_code == 200 and r.json()["replicas"] == 3
    r = client.patch(f"/api/jobs/{job}", json={"assignees": [people["annotator"].id]}, headers=lead)
    assert r.status_code == 400 and "replicas" in r.json()["validation_errors"]
    r = client.patch(
        f"/api/jobs/{job}",
        json={"assignees": [people["annotator"].id], "replicas": None},
        headers=lead,
    )
    assert r.status_code == 200 and r.json()["replicas"] is None
