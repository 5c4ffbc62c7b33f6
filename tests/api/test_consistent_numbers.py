"""Consistent numbers (issue #18, item 5): each count means the same wherever a user meets it."""

from __future__ import annotations

from builders import HONEYPOT_GT as GT
from builders import box, honeypots_of, make_job
from builders import honeypot_settings as settings


def _annotate_without_job(client, person, task_ids, hp, honeypot_result):
    """Label Studio API style: one annotation per task, no `"job"` in the body."""
    for t in task_ids:
        result = honeypot_result if t in hp else [box(1, 1, 3, 3)]
        r = client.post(
            f"/api/tasks/{t}/annotations", json={"result": result}, headers=person.headers
        )
        assert r.status_code == 201, r.text


def test_work_made_without_job_counts_for_the_job_everywhere(client, people, pool):
    settings(client, people, pool, per_job=2, max_attempts=3)
    ann = people["annotator"]
    job = make_job(client, people, pool, pool["plain"][:4])
    url = f"/api/jobs/{job['id']}"
    hp = set(honeypots_of(client, people, job["id"]))
    tasks = client.get(url, headers=ann.headers).json()["task_ids"]
    assert len(tasks) == 6
    _annotate_without_job(client, ann, tasks, hp, GT)
    # the queue, the job's progress and My work agree: every task is annotated
    nxt = client.get(f"{url}/next", headers=ann.headers).json()
    assert nxt["complete"] and nxt["remaining"] == 0
    prog = client.get(url, headers=ann.headers).json()["progress"]
    assert (prog["annotated"], prog["total"], prog["fully_annotated"]) == (6, 6, True)
    lead_prog = client.get(url, headers=people["lead"].headers).json()["progress"]
    assert lead_prog["annotated"] == 6
    # and the hand-in scores the answers the annotator gave
    fb = client.post(f"{url}/submit", headers=ann.headers).json()
    assert fb["status"] == "accepted" and fb["score"] == 1.0


def test_hand_in_refuses_while_tasks_are_unannotated_and_burns_no_attempt(client, people, pool):
    settings(client, people, pool, per_job=2, max_attempts=3)
    ann = people["annotator"]
    job = make_job(client, people, pool, pool["plain"][:4])
    url = f"/api/jobs/{job['id']}"
    hp = set(honeypots_of(client, people, job["id"]))
    tasks = client.get(url, headers=ann.headers).json()["task_ids"]
    _annotate_without_job(client, ann, tasks[:3], hp, GT)
    r = client.post(f"{url}/submit", headers=ann.headers)
    assert r.status_code == 409
    assert "3 of 6 tasks" in r.json()["detail"] and "unannotated" in r.json()["detail"]
    fb = client.get(f"{url}/feedback", headers=ann.headers).json()
    assert fb["status"] == "open" and fb["attempts"] == [] and fb["attempts_left"] == 3
