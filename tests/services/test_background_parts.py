"""Partitioned background jobs: a recompute split into parts over task ranges, each claimed
by any worker, retried when it fails, stopped by a cancel; the whole ends as one run would.

The thread queue (both databases) runs the parts one after another in this process;
tests/services/test_replicas.py runs them on two `assay worker` processes on PostgreSQL.
"""

from __future__ import annotations

import math
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from assay.services import background, quality
from assay.services.background import state as background_state
from assay.services.quality import rescore
from assay.store.bookkeeping import BackgroundJob
from assay.store.types import utcnow
from builders import actor_of, annotate, box, quality_state, survey, wait_for_job

N_TASKS = 9


def _project(db, people) -> int:
    """Every task has a GT; two annotators drew on each (so every task has an agreement)."""
    pid, task_ids = survey(db, people, N_TASKS)
    for i, t in enumerate(task_ids):
        annotate(db, people["lead"], t, [box(10, 10, 20, 20), box(50, 50, 10, 10)], gt=True)
        annotate(db, people["annotator"], t, [box(10 + i, 10, 20, 20)])
        annotate(db, people["annotator2"], t, [box(10, 10, 20, 20, label="Giraffe")])
    return pid


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(rescore, "PART_TASKS", 2)


def _parts(db, job_id: int) -> list[BackgroundJob]:
    with db.session(write=False) as s:
        return list(
            s.scalars(
                select(BackgroundJob)
                .where(BackgroundJob.parent_id == job_id)
                .order_by(BackgroundJob.id)
            )
        )


def test_a_recompute_runs_in_parts_and_ends_as_a_single_run_does(db, client, people, small_parts):
    pid = _project(db, people)
    quality.recompute_project(db, pid)  # in one go, in this process
    single = quality_state(db, pid)
    lead = people["lead"].headers

    job_id = client.post(f"/api/projects/{pid}/quality/recompute", headers=lead).json()["id"]
    job = wait_for_job(client, lead, job_id)

    assert job["status"] == "done"
    assert job["parts"] == {"done": math.ceil(N_TASKS / 2)}
    assert job["progress"] == job["total"] == 2 * N_TASKS  # scored + agreement, over the parts
    assert job["result"]["tasks"] == N_TASKS and job["result"]["parts"] == 5
    assert job["result"]["agreement_tasks"] == N_TASKS
    assert quality_state(db, pid) == single
    parts = _parts(db, job_id)
    assert [len(p.params["tasks"]) for p in parts] == [2, 2, 2, 2, 1]
    assert all(p.worker == background.worker_name() for p in parts)


def test_a_recompute_of_a_project_without_gt_ends_at_once(db, client, people):
    pid, _ = survey(db, people, 3)
    lead = people["lead"].headers
    job_id = client.post(f"/api/projects/{pid}/quality/recompute", headers=lead).json()["id"]
    job = wait_for_job(client, lead, job_id)
    assert job["status"] == "done" and job["result"]["tasks"] == 0
    assert "parts" not in job and _parts(db, job_id) == []


# -- the machinery, on a kind of its own ----------------------------------------------------

FLAKY = "test.flaky"


def _register(part_work, n_parts: int = 3):
    finished: list[list[dict]] = []

    def plan(_db, _actor, params):
        return [({"n": i}, 1) for i in range(n_parts)]

    def finish(_db, _actor, params, results):
        finished.append(results)
        return {"sum": sum(r["n"] for r in results)}

    background.register_partitioned(FLAKY, plan, part_work, finish)
    return finished


def _run(db, people) -> int:
    background.use_queue(db, "thread")
    job_id = background.submit(db, actor_of(people["lead"]), FLAKY, None, {})
    background.drain_thread_queue(timeout=60)  # with the parts and retries it queued
    return job_id


def _job(db, job_id) -> BackgroundJob:
    with db.session(write=False) as s:
        job = s.get(BackgroundJob, job_id)
        s.expunge(job)
        return job


def test_a_part_that_fails_once_is_run_again_and_the_whole_ends(db, people):
    failures = {1: 1}  # part 1 fails on its first attempt

    def work(_db, _actor, params, report):
        if failures.get(params["n"], 0):
            failures[params["n"]] -= 1
            raise RuntimeError("the database went away")
        report(1, 1)
        return {"n": params["n"]}

    finished = _register(work)
    job_id = _run(db, people)

    job = _job(db, job_id)
    assert job.status == "done" and job.result == {"sum": 3}
    assert finished == [[{"n": 0}, {"n": 1}, {"n": 2}]]  # once, in plan order
    assert [p.attempts for p in _parts(db, job_id)] == [1, 2, 1]


def test_a_part_that_always_fails_fails_the_whole_after_its_attempts(db, people):
    def work(_db, _actor, params, report):
        if params["n"] == 0:
            raise RuntimeError("bad range")
        return {"n": params["n"]}

    finished = _register(work)
    job_id = _run(db, people)

    job = _job(db, job_id)
    assert job.status == "failed"
    assert f"failed after {background.MAX_ATTEMPTS} attempts: RuntimeError: bad range" in job.error
    first = _parts(db, job_id)[0]
    assert first.status == "failed" and first.attempts == background.MAX_ATTEMPTS
    assert finished == []  # the whole never finishes


def test_cancelling_a_job_stops_its_running_part_and_its_queued_parts(db, client, people):
    started, release = threading.Event(), threading.Event()
    reports = []

    def work(_db, _actor, params, report):
        started.set()
        for i in range(1000):
            release.wait(0.01)
            report(i, 1000)  # raises once the part is cancelled
            reports.append(i)
        return {"n": params["n"]}

    finished = _register(work)
    background.use_queue(db, "thread")
    lead = people["lead"]
    job_id = background.submit(db, actor_of(lead), FLAKY, None, {})
    assert started.wait(30)

    r = client.post(f"/api/background-jobs/{job_id}/cancel", headers=lead.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["error"] == f"cancelled by {lead.email}"
    release.set()
    background.drain_thread_queue(timeout=60)

    parts = _parts(db, job_id)
    assert [p.status for p in parts] == ["cancelled"] * 3
    assert parts[0].progress < 1000 and parts[1].started_at is None  # never began
    assert finished == [] and _job(db, job_id).status == "cancelled"
    again = client.post(f"/api/background-jobs/{job_id}/cancel", headers=lead.headers)
    assert again.status_code == 409 and "cancelled, not queued or running" in again.text


def test_only_who_started_a_job_or_staff_of_its_project_may_cancel_it(db, client, people):
    pid = _project(db, people)
    with db.session() as s:
        job = BackgroundJob(
            kind=rescore.RECOMPUTE_KIND,
            project_id=pid,
            created_by_id=people["lead"].id,
            status="running",
            started_at=utcnow(),
            heartbeat_at=utcnow(),
        )
        s.add(job)
        s.flush()
        job_id = job.id
    url = f"/api/background-jobs/{job_id}/cancel"
    assert client.post(url, headers=people["annotator"].headers).status_code == 404
    assert client.post(url, headers=people["reviewer"].headers).status_code == 403
    assert _job(db, job_id).status == "running"
    assert client.post(url, headers=people["admin"].headers).json()["status"] == "cancelled"


def test_a_part_whose_worker_died_is_queued_again_and_run(db, people):
    def work(_db, _actor, params, report):
        return {"n": params["n"]}

    _register(work, n_parts=2)
    job_id = _run(db, people)
    assert _job(db, job_id).status == "done"
    # As if the worker of part 0 had died mid-way: reopen the whole, the part "running" with a
    # heartbeat long gone.
    first = _parts(db, job_id)[0]
    long_ago = utcnow() - background_state.STALLED_AFTER - timedelta(minutes=1)
    with db.session() as s:
        s.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id)
            .values(status="running", parts_left=1, finished_at=None)
        )
        s.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == first.id)
            .values(status="running", heartbeat_at=long_ago, finished_at=None)
        )
    assert background.fail_stalled(db) == [first.id]
    background.drain_thread_queue(timeout=60)

    part = _parts(db, job_id)[0]
    assert part.status == "done" and part.attempts == 2
    assert _job(db, job_id).status == "done"


def test_a_whole_waiting_for_its_parts_is_never_stalled(db, people):
    """Its parts wait in the queue for a worker; the whole has no heartbeat of its own."""
    long_ago = utcnow() - background_state.STALLED_AFTER - timedelta(minutes=1)
    with db.session() as s:
        job = BackgroundJob(
            kind=FLAKY,
            created_by_id=people["lead"].id,
            status="running",
            started_at=long_ago,
            heartbeat_at=long_ago,
            parts_left=2,
        )
        s.add(job)
    assert background.fail_stalled(db) == []


def test_parts_whose_hand_off_to_the_queue_was_lost_are_handed_again(db, people):
    """A process that died between committing a part and queueing it left the part queued
    with nobody to run it: once it waited STALLED_AFTER, any reader hands it again."""

    def work(_db, _actor, params, report):
        return {"n": params["n"]}

    _register(work, n_parts=1)
    background.use_queue(db, "thread")
    long_ago = utcnow() - background_state.STALLED_AFTER - timedelta(minutes=1)
    with db.session() as s:
        whole = BackgroundJob(
            kind=FLAKY,
            created_by_id=people["lead"].id,
            status="running",
            started_at=long_ago,
            parts_left=1,
            total=1,
        )
        s.add(whole)
        s.flush()
        s.add(
            BackgroundJob(
                kind=FLAKY + background_state.PART,
                parent_id=whole.id,
                created_by_id=people["lead"].id,
                params={"n": 5},
                total=1,
                created_at=long_ago,
            )
        )
        s.flush()
        whole_id = whole.id
    background.fail_stalled(db)
    background.drain_thread_queue(timeout=60)
    job = _job(db, whole_id)
    assert job.status == "done" and job.result == {"sum": 5}
