"""A project's visibility policy: blind (the default) shows an annotator only their own work;
shared also shows the work of their co-assignees made in the same job, but never ground truth,
consensus, skips, reviews or scores of others, and in a way whose shape does not depend on
them (docs/api.md, "Visibility policy")."""

from __future__ import annotations

from sqlalchemy import select

from assay.services import users
from assay.store.models import JobAssignee, JobTask
from builders import Person, box


def _as_known(client, person, task_id, job_id=None):
    """The id `person` knows the task by: an annotator the alias in their job (`job_id`, else
    the first of their jobs holding it; services.task_aliases), anyone else its real id."""
    if person.role != "annotator":
        return task_id
    with client.app.state.db.session(write=False) as s:
        stmt = select(JobTask.alias).where(JobTask.task_id == task_id)
        if job_id is not None:
            stmt = stmt.where(JobTask.job_id == job_id)
        else:
            mine = select(JobAssignee.job_id).where(JobAssignee.user_id == person.id)
            stmt = stmt.where(JobTask.job_id.in_(mine))
        return s.scalars(stmt.order_by(JobTask.alias)).first() or task_id


def _third_annotator(db, client, people, project) -> Person:
    with db.session() as s:
        user, token = users.create_user(
            s, "annotator3@example.com", "annotator", password="third-annotator-pw"
        )
        person = Person(user.id, user.email, "annotator", token, "third-annotator-pw")
    r = client.post(f"/api/projects/{project['id']}/members", json={"user": person.id},
                    headers=people["lead"].headers)  # fmt: skip
    assert r.status_code == 201, r.text
    return person


def _tasks(client, people, project, n):
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": f"{i}.jpg"} for i in range(n)],
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["task_ids"]


def _job(client, people, project, task_ids, assignees, **extra):
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "job", "task_ids": task_ids, "assignees": [p.id for p in assignees]} | extra,
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _annotate(client, person, task_id, job_id, x=10.0):
    task_id = _as_known(client, person, task_id, job_id)
    r = client.post(f"/api/tasks/{task_id}/annotations",
                    json={"result": [box(x, 10, 20, 20)], "job": job_id}, headers=person.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _policy(client, people, project, value):
    r = client.patch(f"/api/projects/{project['id']}", json={"visibility": value},
                     headers=people["lead"].headers)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["visibility"] == value


def _seen(client, person, task_id):
    """The annotation ids a person reads of a task, the same three ways, and its counts."""
    task_id = _as_known(client, person, task_id)
    task = client.get(f"/api/tasks/{task_id}", headers=person.headers).json()
    listed = client.get(f"/api/tasks/{task_id}/annotations", headers=person.headers).json()
    ids = sorted(a["id"] for a in task["annotations"])
    assert ids == sorted(a["id"] for a in listed)
    # every annotation shown, a co-assignee's too, names the task as the reader knows it
    assert {a["task"] for a in task["annotations"] + listed} <= {task_id}
    assert task["total_annotations"] == len(ids)  # no count betrays what is not shown
    assert len(task["annotators"]) == len({a["completed_by"] for a in task["annotations"]})
    return ids


def test_blind_shows_only_own_work_and_shared_shows_co_assignees_work(client, people, project):
    ann, ann2 = people["annotator"], people["annotator2"]
    [t0, t1] = _tasks(client, people, project, 2)
    job = _job(client, people, project, [t0, t1], [ann, ann2])
    mine, theirs = _annotate(client, ann, t0, job), _annotate(client, ann2, t0, job, x=30)
    r = client.get(f"/api/projects/{project['id']}", headers=ann.headers)
    assert r.json()["visibility"] == "blind"  # the default
    assert _seen(client, ann, t0) == [mine]
    assert client.get(f"/api/annotations/{theirs}", headers=ann.headers).status_code == 404

    _policy(client, people, project, "shared")
    assert _seen(client, ann, t0) == [mine, theirs]
    assert _seen(client, ann2, t0) == [mine, theirs]
    r = client.get(f"/api/annotations/{theirs}", headers=ann.headers)
    assert r.status_code == 200 and r.json()["result"][0]["value"]["x"] == 30
    assert r.json()["task"] == _as_known(client, ann, t0, job) != t0  # her alias, not the id
    assert "ground_truth" not in r.json()
    # seeing is not changing, nor reading its reviews
    r = client.patch(f"/api/annotations/{theirs}", json={"result": []}, headers=ann.headers)
    assert r.status_code == 403
    assert client.delete(f"/api/annotations/{theirs}", headers=ann.headers).status_code == 403
    r = client.get(f"/api/annotations/{theirs}/reviews", headers=ann.headers)
    assert r.status_code == 403, r.text
    # the project's counts follow what they see
    p = client.get(f"/api/projects/{project['id']}", headers=ann.headers).json()
    assert p["total_annotations_number"] == 2

    _policy(client, people, project, "blind")
    assert _seen(client, ann, t0) == [mine]


def test_shared_hides_reviews_fixes_and_scores_of_others(client, people, project):
    ann, ann2, reviewer = people["annotator"], people["annotator2"], people["reviewer"]
    [t0] = _tasks(client, people, project, 1)
    job = _job(client, people, project, [t0], [ann, ann2])
    theirs = _annotate(client, ann2, t0, job, x=30)
    r = client.post(f"/api/annotations/{theirs}/reviews",
                    json={"action": "fix_accept", "result": [box(50, 50, 5, 5)]},
                    headers=reviewer.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    _policy(client, people, project, "shared")
    seen = client.get(f"/api/annotations/{theirs}", headers=ann.headers).json()
    # the author's own work, not the reviewer's fix; nothing of the review
    assert seen["result"][0]["value"]["x"] == 30
    assert (seen["review_status"], seen["revision"], seen["updated_by"]) == (None, None, ann2.id)
    # the author herself still reads her review and the fix
    own = client.get(f"/api/annotations/{theirs}", headers=ann2.headers).json()
    assert (own["review_status"], own["result"][0]["value"]["x"]) == ("fixed", 50)
    r = client.get(f"/api/annotations/{theirs}/quality", headers=ann.headers)
    assert r.status_code == 403


def test_shared_shows_only_work_of_the_same_job(client, db, people, project):
    """A task in two jobs (as a honeypot is): each job's assignees see that job's work only,
    so the number of attempts on a task says nothing about how many jobs it is in."""
    ann, ann2 = people["annotator"], people["annotator2"]
    ann3 = _third_annotator(db, client, people, project)
    [t0, t1] = _tasks(client, people, project, 2)
    # before the project has jobs, ann2 annotates t1 outside any job (by its real id)
    r = client.post(f"/api/tasks/{t1}/annotations", json={"result": []}, headers=ann2.headers)
    assert r.status_code == 201, r.text
    no_job = r.json()["id"]
    job_a = _job(client, people, project, [t0, t1], [ann, ann2])
    job_b = _job(client, people, project, [t0], [ann3])
    _policy(client, people, project, "shared")
    mine = _annotate(client, ann, t0, job_a)
    elsewhere = _annotate(client, ann3, t0, job_b)
    assert _seen(client, ann, t0) == [mine]
    assert _seen(client, ann, t1) == []
    assert client.get(f"/api/annotations/{elsewhere}", headers=ann.headers).status_code == 404
    assert client.get(f"/api/annotations/{no_job}", headers=ann.headers).status_code == 404
    assert _seen(client, ann3, t0) == [elsewhere]
    # leads see everything, as before
    assert _seen(client, people["lead"], t0) == [mine, elsewhere]


def test_shared_never_shows_ground_truth_of_others(client, people, project):
    ann, ann2, lead = people["annotator"], people["annotator2"], people["lead"]
    [t0, t1] = _tasks(client, people, project, 2)
    job = _job(client, people, project, [t0, t1], [ann, ann2])
    _policy(client, people, project, "shared")
    mine = _annotate(client, ann, t0, job)
    starred = _annotate(client, ann2, t0, job, x=30)
    plain = _annotate(client, ann2, t1, job, x=30)
    r = client.patch(
        f"/api/annotations/{starred}", json={"ground_truth": True}, headers=lead.headers
    )
    assert r.status_code == 200, r.text
    # t0 (with GT) and t1 (without) read alike: one annotation of ann2 less on t0, as if she
    # had not annotated it (or deleted it); nothing says GT
    assert _seen(client, ann, t0) == [mine]
    assert _seen(client, ann, t1) == [plain]
    assert client.get(f"/api/annotations/{starred}", headers=ann.headers).status_code == 404
    task = client.get(f"/api/tasks/{_as_known(client, ann, t0)}", headers=ann.headers).json()
    assert "ground_truth" not in task and "gt_status" not in task
    # the author still sees her work (without the flag)
    own = client.get(f"/api/annotations/{starred}", headers=ann2.headers).json()
    assert "ground_truth" not in own


def test_shared_with_replicas_shows_at_most_replicas_minus_one_others(client, db, people, project):
    """Every assignee gets a honeypot, only `replicas` of them an ordinary task: the cap keeps
    a honeypot's many attempts from standing out."""
    ann, ann2 = people["annotator"], people["annotator2"]
    ann3 = _third_annotator(db, client, people, project)
    [t0, t1] = _tasks(client, people, project, 2)
    job = _job(client, people, project, [t0, t1], [ann, ann2, ann3], replicas=2)
    _policy(client, people, project, "shared")
    first = _annotate(client, ann, t0, job)
    second = _annotate(client, ann2, t0, job)
    third = _annotate(client, ann3, t0, job)  # as on a honeypot: every assignee answers
    assert _seen(client, ann, t0) == [first, second]
    assert _seen(client, ann2, t0) == [first, second]
    assert _seen(client, ann3, t0) == [first, third]


def test_visibility_setting_is_checked_and_lead_only(client, people, project):
    url = f"/api/projects/{project['id']}"
    r = client.patch(url, json={"visibility": "open"}, headers=people["lead"].headers)
    assert r.status_code == 400
    assert "visibility" in r.json()["validation_errors"]
    r = client.patch(url, json={"visibility": "shared"}, headers=people["annotator"].headers)
    assert r.status_code == 403
    r = client.patch(url, json={"visibility": "shared"}, headers=people["reviewer"].headers)
    assert r.status_code == 403
    assert client.get(url, headers=people["lead"].headers).json()["visibility"] == "blind"
