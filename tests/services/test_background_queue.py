"""Background jobs on PostgreSQL's queue: procrastinate carries the job id, a worker (a
separate `assay worker`, or the one `assay serve` embeds) runs it, the row tells progress."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from assay.app import create_app
from assay.services import background
from builders import box, wait_for_job


def _is_pg(db) -> bool:
    return db.engine.dialect.name == "postgresql"


def _scored_project(client, people):
    lead = people["lead"].headers
    project = client.post(
        "/api/projects",
        json={"title": "q", "label_config": open_config()},
        headers=lead,
    ).json()
    client.post(
        f"/api/projects/{project['id']}/import",
        json=[
            {
                "data": {"image": "a.jpg"},
                "annotations": [{"result": [box(1, 1, 5, 5)], "ground_truth": True}],
                "predictions": [{"result": [box(1, 1, 5, 5)], "model_version": "m"}],
            }
        ],
        headers=lead,
    )
    return project["id"]


def open_config() -> str:
    from builders import RECT_CONFIG

    return RECT_CONFIG


def test_the_procrastinate_queue_needs_postgresql(db):
    if _is_pg(db):
        assert background.use_queue(db, "auto") == "procrastinate"
        background.use_queue(db, "thread")
    else:
        assert background.use_queue(db, "auto") == "thread"
        with pytest.raises(ValueError, match="needs PostgreSQL"):
            background.use_queue(db, "procrastinate")


def test_a_job_waits_in_the_queue_until_a_worker_runs_it(db, settings, people):
    if not _is_pg(db):
        pytest.skip("procrastinate runs on PostgreSQL")
    settings = settings.model_copy(
        update={"background_queue": "procrastinate", "embedded_worker": False}
    )
    app = create_app(settings, db=db, run_migrations=False)
    try:
        with TestClient(app) as client:
            pid = _scored_project(client, people)
            lead = people["lead"].headers
            r = client.post(f"/api/projects/{pid}/quality/recompute", headers=lead)
            assert r.status_code == 202
            job_id = r.json()["id"]
            job = client.get(f"/api/background-jobs/{job_id}", headers=lead).json()
            assert job["status"] == "queued"  # nobody runs it in this process
            with db.engine.connect() as c:
                queued = c.execute(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'assay' "
                        "AND status = 'todo' AND (args->>'job_id')::int = :j"
                    ),
                    {"j": job_id},
                ).scalar()
            assert queued == 1
            background.run_worker(db, wait=False)  # what `assay worker` does, until empty
            job = client.get(f"/api/background-jobs/{job_id}", headers=lead).json()
            assert job["status"] == "done" and job["result"]["tasks"] == 1
            # its part was queued on procrastinate by the worker, which then ran it too
            assert job["parts"] == {"done": 1} and job["workers"] == [background.worker_name()]
    finally:
        background.use_queue(db, "thread")


def test_the_embedded_worker_of_the_server_runs_jobs(db, settings, people):
    if not _is_pg(db):
        pytest.skip("procrastinate runs on PostgreSQL")
    settings = settings.model_copy(update={"background_queue": "procrastinate"})
    app = create_app(settings, db=db, run_migrations=False)
    try:
        with TestClient(app) as client:
            pid = _scored_project(client, people)
            lead = people["lead"].headers
            r = client.post(f"/api/projects/{pid}/quality/recompute", headers=lead)
            job = wait_for_job(client, lead, r.json()["id"])
            assert job["status"] == "done"
    finally:
        background.use_queue(db, "thread")


def test_a_job_runs_once_even_when_delivered_twice(db, people):
    """procrastinate may deliver a job again (a worker died after taking it): the row is
    claimed in one statement, so the second delivery finds it taken."""
    from assay.services.access import Actor, Role

    runs = []

    def _count(_db, actor, params, report):
        runs.append(actor.id)
        return {"n": params["n"]}

    background.register_kind("test.count", _count)

    lead = Actor(people["lead"].id, Role.LEAD)
    background.use_queue(db, "thread")
    job_id = background.submit(db, lead, "test.count", None, {"n": 3})
    background.drain_thread_queue()  # the thread queue has run it
    background.run_job(db, job_id)  # a second delivery
    assert runs == [people["lead"].id]
    from assay.store.bookkeeping import BackgroundJob

    with db.session() as s:
        job = s.get(BackgroundJob, job_id)
        assert (job.status, job.result) == ("done", {"n": 3})
