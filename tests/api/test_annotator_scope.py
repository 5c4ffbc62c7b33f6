"""Annotators work on their own jobs only: once a project organizes work in jobs, an annotator
sees the tasks of the jobs they are assigned to and the tasks they annotated, nothing else (not
in the task list, not by id, not their images). A project without jobs is open to its
annotators, as in Label Studio."""

from __future__ import annotations

from PIL import Image

from builders import box, job_aliases


def _import(client, people, project, n):
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": f"/data/media/project-{project['id']}/{i}.png"} for i in range(n)],
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["task_ids"]


def _listed(client, person, project):
    r = client.get(f"/api/tasks?project={project['id']}&page_size=100", headers=person.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["tasks"])  # the count is of what they may see
    return sorted(t["id"] for t in body["tasks"])


def test_annotators_see_their_jobs_tasks_and_their_own_work_only(client, people, project, settings):
    root = settings.resolved_media_root / f"project-{project['id']}"
    root.mkdir(parents=True, exist_ok=True)
    for i in range(5):
        Image.new("RGB", (8, 6), "red").save(root / f"{i}.png")
    t = _import(client, people, project, 5)
    ann, other, lead = people["annotator"], people["annotator2"], people["lead"]
    # no jobs yet: every task of the project, as in Label Studio
    assert _listed(client, ann, project) == t
    r = client.post(f"/api/tasks/{t[4]}/annotations", json={"result": [box(1, 1, 5, 5)]},
                    headers=other.headers)  # fmt: skip
    assert r.status_code == 201
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "mine", "task_ids": t[:2], "assignees": [ann.id]},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    # now: own jobs' tasks, by their aliases (+ what one annotated before); leads see all
    aliases = job_aliases(client, r.json()["id"])
    assert _listed(client, ann, project) == sorted(aliases[x] for x in t[:2])
    assert _listed(client, other, project) == [t[4]]
    assert _listed(client, lead, project) == t
    for task_id, status in ((t[0], 200), (t[2], 404), (t[4], 404)):
        seen = aliases.get(task_id, task_id)
        assert client.get(f"/api/tasks/{seen}", headers=ann.headers).status_code == status
        r = client.post(f"/api/tasks/{seen}/annotations", json={"result": []},
                        headers=ann.headers)  # fmt: skip
        assert r.status_code == (201 if status == 200 else 404), (task_id, r.text)
        # a job's image by its opaque URL; its real path answers as a file she may not see
        item = client.get(f"/data/items/{seen}/image", headers=ann.headers)
        assert item.status_code == status, task_id
        assert client.get(f"/data/media/project-{project['id']}/{task_id - t[0]}.png",
                          headers=ann.headers).status_code == 404  # fmt: skip
    assert client.get(f"/api/tasks/{t[2]}", headers=lead.headers).status_code == 200
    # the project's counts are of what each one sees, in the project and in the list
    for person, n_tasks, n_annotations in ((ann, 2, 1), (other, 1, 1), (lead, 5, 2)):
        one = client.get(f"/api/projects/{project['id']}", headers=person.headers).json()
        [listed] = client.get("/api/projects", headers=person.headers).json()["results"]
        for p in (one, listed):
            assert (p["task_number"], p["total_annotations_number"]) == (n_tasks, n_annotations)


def test_predictions_follow_the_same_scope(client, people, project):
    t = _import(client, people, project, 3)
    ann, lead = people["annotator"], people["lead"]
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "mine", "task_ids": t[:1], "assignees": [ann.id]},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    r_job = r.json()["id"]
    made = {}
    for task_id in (t[0], t[2]):
        r = client.post(
            "/api/predictions",
            json={"task": task_id, "result": [box(1, 1, 5, 5, score=0.9)], "model_version": "m"},
            headers=lead.headers,
        )
        assert r.status_code == 201, r.text
        made[task_id] = r.json()["id"]
    for query in (f"?project={project['id']}", ""):
        listed = client.get(f"/api/predictions{query}", headers=ann.headers).json()
        assert [p["task"] for p in listed] == [job_aliases(client, r_job)[t[0]]], query
    assert client.get(f"/api/predictions/{made[t[0]]}", headers=ann.headers).status_code == 200
    assert client.get(f"/api/predictions/{made[t[2]]}", headers=ann.headers).status_code == 404
    assert (
        len(client.get(f"/api/predictions?project={project['id']}", headers=lead.headers).json())
        == 2
    )
