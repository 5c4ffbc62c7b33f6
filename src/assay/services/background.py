"""Background jobs: long work whose state and progress live in the database.

Work runs on a worker thread of the serving process, committing chunk by chunk so that
progress is visible to any request meanwhile. (DESIGN.md plans procrastinate workers on
PostgreSQL; until then the same job functions run here on both databases.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import NotFound
from assay.store.db import Database
from assay.store.models import BackgroundJob
from assay.store.types import utcnow

log = logging.getLogger("assay.background")
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assay-job")

# work(db, job_id, report) -> result dict; report(done, total) records progress.
Work = Callable[[Database, int, Callable[[int, int], None]], dict[str, Any]]


def submit(db: Database, actor: Actor, kind: str, project_id: int | None, work: Work) -> int:
    """Record a queued job and start it; returns its id at once."""
    with db.session() as s:
        job = BackgroundJob(kind=kind, project_id=project_id, created_by_id=actor.id)
        s.add(job)
        s.flush()
        job_id = job.id
    future: Future[None] = _executor.submit(_run, db, job_id, work)
    future.add_done_callback(
        lambda f: f.exception() and log.error("job %s crashed: %s", job_id, f.exception())
    )
    return job_id


def _run(db: Database, job_id: int, work: Work) -> None:
    _set(db, job_id, status="running", started_at=utcnow())

    def report(done: int, total: int) -> None:
        _set(db, job_id, progress=done, total=total)

    try:
        result = work(db, job_id, report)
    except Exception as exc:
        log.exception("background job %s failed", job_id)
        _set(
            db, job_id, status="failed", error=f"{type(exc).__name__}: {exc}", finished_at=utcnow()
        )
        return
    _set(db, job_id, status="done", result=result, finished_at=utcnow())


def _set(db: Database, job_id: int, **values: Any) -> None:
    with db.session() as s:
        s.execute(update(BackgroundJob).where(BackgroundJob.id == job_id).values(**values))


def get_job(session: Session, actor: Actor, job_id: int) -> BackgroundJob:
    job = session.get(BackgroundJob, job_id)
    if job is None:
        raise NotFound(f"Background job {job_id} not found.")
    if job.project_id is not None:
        authorize(session, actor, Action.PROJECT_VIEW, job.project_id)
    elif actor.id != job.created_by_id and not actor.may(Action.USERS_MANAGE):
        raise NotFound(f"Background job {job_id} not found.")
    return job


def active_job(session: Session, project_id: int, kind: str) -> BackgroundJob | None:
    return session.scalar(
        select(BackgroundJob).where(
            BackgroundJob.project_id == project_id,
            BackgroundJob.kind == kind,
            BackgroundJob.status.in_(("queued", "running")),
        )
    )


def fail_interrupted(db: Database) -> None:
    """On start: jobs left queued or running by a stopped process will not finish."""
    with db.session() as s:
        s.execute(
            update(BackgroundJob)
            .where(BackgroundJob.status.in_(("queued", "running")))
            .values(status="failed", error="interrupted: the server stopped", finished_at=utcnow())
        )
