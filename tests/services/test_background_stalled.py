"""Heartbeats of background jobs: a running job whose worker died (kill -9, out of memory, a
machine restart) is failed as stalled once its heartbeat is old, so a new recompute can start
and `GET /api/background-jobs/{id}` stops saying "running"; a live job keeps beating."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest

from assay.services import background
from assay.services.access import Actor, Role
from assay.services.background import state as background_state
from assay.settings import Settings
from assay.store.bookkeeping import BackgroundJob
from assay.store.types import utcnow
from builders import box, wait_for_job

STALLED = re.compile(r"^stalled: its worker stopped answering \(no heartbeat for (\d+) s\)$")


def _scored_project(client, lead) -> int:
    project = client.post(
        "/api/projects", json={"title": "q", "label_config": _config()}, headers=lead.headers
    ).json()
    r = client.post(
        f"/api/projects/{project['id']}/import",
        json=[
            {
                "data": {"image": "a.jpg"},
                "annotations": [{"result": [box(1, 1, 5, 5)], "ground_truth": True}],
                "predictions": [{"result": [box(1, 1, 5, 5)], "model_version": "m"}],
            }
        ],
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    return project["id"]


def _config() -> str:
    from builders import RECT_CONFIG

    return RECT_CONFIG


def _running_job(db, lead, project_id=None, *, beat_ago=None, started_ago=timedelta(hours=1)):
    """A job row as a worker leaves it: running, last heartbeat `beat_ago` (None: no heartbeat
    column value, as rows from before heartbeats)."""
    now = utcnow()
    with db.session() as s:
        job = BackgroundJob(
            kind="quality.recompute",
            project_id=project_id,
            created_by_id=lead.id,
            params={"project_id": project_id},
            status="running",
            progress=3,
            total=10,
            started_at=now - started_ago,
            heartbeat_at=None if beat_ago is None else now - beat_ago,
        )
        s.add(job)
        s.flush()
        return job.id


def _row(db, job_id) -> BackgroundJob:
    with db.session(write=False) as s:
        job = s.get(BackgroundJob, job_id)
        assert job is not None
        return job


def test_polling_a_job_whose_worker_died_shows_it_failed(db, client, people):
    lead = people["lead"]
    pid = _scored_project(client, lead)
    job_id = _running_job(db, lead, pid, beat_ago=timedelta(minutes=10))
    job = client.get(f"/api/background-jobs/{job_id}", headers=lead.headers).json()
    assert job["status"] == "failed"
    seconds = int(STALLED.match(job["error"]).group(1))
    assert 600 <= seconds < 660
    assert job["finished_at"] is not None
    assert job["progress"] == 3  # what it had done stays visible


def test_a_stalled_recompute_does_not_block_a_new_one(db, client, people):
    lead = people["lead"]
    pid = _scored_project(client, lead)
    stalled = _running_job(db, lead, pid, beat_ago=timedelta(minutes=6))
    summary = client.get(f"/api/projects/{pid}/quality", headers=lead.headers).json()
    assert summary["recompute_job"] is None  # active_job looked past the dead one
    r = client.post(f"/api/projects/{pid}/quality/recompute", headers=lead.headers)
    assert r.status_code == 202
    assert r.json()["id"] != stalled
    assert wait_for_job(client, lead.headers, r.json()["id"])["status"] == "done"
    old = _row(db, stalled)
    assert old.status == "failed" and STALLED.match(old.error)


def test_active_job_and_get_job_fail_a_stalled_job(db, people):
    lead = people["lead"]
    actor = Actor(lead.id, Role.LEAD)
    first = _running_job(db, lead, beat_ago=timedelta(minutes=7))
    with db.session(write=False) as s:
        assert background.get_job(s, actor, first).status == "failed"
    with db.session() as s:
        from assay.store.models import Project

        project = Project(title="p", label_config=_config())
        s.add(project)
        s.flush()
        pid = project.id
    second = _running_job(db, lead, pid, beat_ago=timedelta(minutes=7))
    with db.session(write=False) as s:
        assert background.active_job(s, pid, "quality.recompute") is None
    assert _row(db, second).status == "failed"


def test_a_job_with_a_fresh_heartbeat_is_left_alone(db, client, people):
    lead = people["lead"]
    pid = _scored_project(client, lead)
    # Started long ago, but its worker beat a minute ago: it is alive.
    job_id = _running_job(db, lead, pid, beat_ago=timedelta(minutes=1))
    r = client.post(f"/api/projects/{pid}/quality/recompute", headers=lead.headers)
    assert r.json()["id"] == job_id  # still the running one
    job = client.get(f"/api/background-jobs/{job_id}", headers=lead.headers).json()
    assert (job["status"], job["error"], job["finished_at"]) == ("running", None, None)


def test_fail_stalled_fails_only_running_jobs_with_an_old_heartbeat_once(db, people):
    lead = people["lead"]
    old = timedelta(minutes=30)
    dead = _running_job(db, lead, beat_ago=old)
    legacy_dead = _running_job(db, lead, beat_ago=None, started_ago=old)  # before heartbeats
    legacy_alive = _running_job(db, lead, beat_ago=None, started_ago=timedelta(minutes=1))
    alive = _running_job(db, lead, beat_ago=timedelta(seconds=5), started_ago=old)
    with db.session() as s:
        queued = BackgroundJob(kind="quality.recompute", created_by_id=lead.id, status="queued")
        done = BackgroundJob(
            kind="quality.recompute",
            created_by_id=lead.id,
            status="done",
            started_at=utcnow() - old,
            heartbeat_at=utcnow() - old,
        )
        s.add_all([queued, done])
        s.flush()
        queued_id, done_id = queued.id, done.id
    assert sorted(background.fail_stalled(db)) == sorted([dead, legacy_dead])
    assert background.fail_stalled(db) == []  # idempotent
    statuses = {i: _row(db, i).status for i in (legacy_alive, alive, queued_id, done_id)}
    assert statuses == {legacy_alive: "running", alive: "running", queued_id: "queued",
                        done_id: "done"}  # fmt: skip
    for job_id in (dead, legacy_dead):
        assert int(STALLED.match(_row(db, job_id).error).group(1)) >= 30 * 60
    # A later clock: the live ones are now stalled too.
    later = utcnow() + background_state.STALLED_AFTER + timedelta(minutes=1)
    assert sorted(background.fail_stalled(db, now=later)) == sorted([legacy_alive, alive])


@pytest.fixture
def slow_job(db, people, monkeypatch):
    """submit() a "test.slow" job on the thread queue: it runs until `release` is set, then
    reports progress (`report_at_end`) and returns; the heartbeat beats every 0.05 s."""
    monkeypatch.setattr(background_state, "HEARTBEAT_SECONDS", 0.05)
    background.use_queue(db, "thread")
    release, started = threading.Event(), threading.Event()
    options = {"report_at_end": False, "reached_end": False}

    def _slow(_db, _actor, _params, report):
        started.set()
        release.wait()
        if options["report_at_end"]:
            report(1, 1)
        options["reached_end"] = True
        return {"ok": True}

    background.register_kind("test.slow", _slow)

    def submit() -> int:
        job_id = background.submit(db, Actor(people["lead"].id, Role.LEAD), "test.slow", None, {})
        assert started.wait(timeout=30), "the slow job did not start"
        return job_id

    submit.release = release
    submit.options = options
    yield submit
    release.set()
    background.drain_thread_queue()  # the thread queue is free again


def test_the_heartbeat_advances_while_a_slow_job_runs(db, slow_job):
    job_id = slow_job()
    first = _row(db, job_id).heartbeat_at
    assert first is not None  # set when the job was claimed
    for _ in range(50):  # a beat every 0.05 s
        time.sleep(0.02)
        if _row(db, job_id).heartbeat_at > first:
            break
    else:
        raise AssertionError("the heartbeat did not advance")
    slow_job.release.set()
    background.drain_thread_queue()
    job = _row(db, job_id)
    assert (job.status, job.result) == ("done", {"ok": True})
    assert not any(t.name == f"assay-heartbeat-{job_id}" for t in threading.enumerate())


@pytest.mark.parametrize("report_at_end", [False, True])
def test_a_job_declared_stalled_stays_failed_when_its_worker_comes_back(
    db, slow_job, report_at_end
):
    """A worker that was only frozen (not dead) past STALLED_AFTER finds its job failed and
    replaced: it does not overwrite the row, and stops at its next progress report."""
    slow_job.options["report_at_end"] = report_at_end
    job_id = slow_job()
    later = utcnow() + background_state.STALLED_AFTER + timedelta(minutes=1)
    assert background.fail_stalled(db, now=later) == [job_id]
    slow_job.release.set()
    background.drain_thread_queue()
    job = _row(db, job_id)
    assert job.status == "failed" and STALLED.match(job.error)
    assert job.result == {} and job.progress == 0
    assert slow_job.options["reached_end"] is not report_at_end  # a report stops the work


def test_a_starting_worker_fails_stalled_jobs(db, people):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("procrastinate workers run on PostgreSQL")
    job_id = _running_job(db, people["lead"], beat_ago=timedelta(minutes=10))
    background.run_worker(db, wait=False)  # what `assay worker` does, until the queue is empty
    assert _row(db, job_id).status == "failed"


def test_the_stalled_after_setting_shortens_the_wait_and_the_heartbeat(db, people, monkeypatch):
    """ASSAY_STALLED_AFTER_S: a job is stalled after that many seconds without a beat, and its
    worker beats ten times as often (never less often than HEARTBEAT_SECONDS)."""
    monkeypatch.setattr(
        background_state, "STALLED_AFTER", background_state.STALLED_AFTER
    )  # restored after
    assert Settings().stalled_after_s == 300.0
    assert Settings(stalled_after_s="4").stalled_after_s == 4.0
    with pytest.raises(ValueError):
        Settings(stalled_after_s=0)
    assert background.heartbeat_seconds() == background_state.HEARTBEAT_SECONDS
    background.use_stalled_after(4)
    assert background.heartbeat_seconds() == 0.4
    lead = people["lead"]
    fresh = _running_job(db, lead, beat_ago=timedelta(seconds=2))
    dead = _running_job(db, lead, beat_ago=timedelta(seconds=5))
    assert background.fail_stalled(db) == [dead]
    assert _row(db, fresh).status == "running"
    assert 5 <= int(STALLED.match(_row(db, dead).error).group(1)) < 60
    with pytest.raises(ValueError):
        background.use_stalled_after(0)
