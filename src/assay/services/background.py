"""Background jobs: long work whose state and progress live in the database.

A job is a row of `background_jobs` (kind, JSON params, status, progress, result) and a job
function registered for its kind with `@job_kind`. Who runs it depends on the queue:

- "thread" (SQLite, and the default of tests): a worker thread of the serving process;
- "procrastinate" (PostgreSQL): the job id is deferred to procrastinate's queue `assay`, and
  any `assay worker` process (or the worker `assay serve` embeds) on any machine runs it.

Either way the function commits chunk by chunk and reports progress into the row, so any
replica can answer `GET /api/background-jobs/{id}`.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, Role, authorize
from assay.services.errors import NotFound
from assay.store.db import Database
from assay.store.models import BackgroundJob, User
from assay.store.types import utcnow

log = logging.getLogger("assay.background")
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assay-job")
QUEUES = ("auto", "thread", "procrastinate")
QUEUE_NAME = "assay"
TASK_NAME = "assay.run_background_job"
# Modules whose job functions register themselves on import.
JOB_MODULES = ("assay.services.quality", "assay.services.consensus")

Report = Callable[[int, int], None]
# work(db, actor, params, report) -> result dict; report(done, total) records progress.
Work = Callable[[Database, Actor, dict[str, Any], Report], dict[str, Any]]
_KINDS: dict[str, Work] = {}
_QUEUE_OF: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def job_kind(name: str) -> Callable[[Work], Work]:
    """Register the function that runs jobs of this kind."""

    def register(work: Work) -> Work:
        _KINDS[name] = work
        return work

    return register


def use_queue(db: Database, queue: str) -> str:
    """Choose who runs this database's jobs; "auto" is procrastinate on PostgreSQL."""
    if queue not in QUEUES:
        raise ValueError(f"background queue must be one of {', '.join(QUEUES)}, not {queue!r}")
    if queue == "auto":
        queue = "procrastinate" if db.engine.dialect.name == "postgresql" else "thread"
    if queue == "procrastinate" and db.engine.dialect.name != "postgresql":
        raise ValueError("the procrastinate queue needs PostgreSQL")
    _QUEUE_OF[db.engine] = queue
    return queue


def queue_of(db: Database) -> str:
    return _QUEUE_OF.get(db.engine, "thread")


def submit(
    db: Database, actor: Actor, kind: str, project_id: int | None, params: dict[str, Any]
) -> int:
    """Record a queued job and hand it to the queue; returns its id at once."""
    if kind not in _KINDS:
        raise ValueError(f"no job function for kind {kind!r}")
    with db.session() as s:
        job = BackgroundJob(kind=kind, project_id=project_id, created_by_id=actor.id, params=params)
        s.add(job)
        s.flush()
        job_id = job.id
    if queue_of(db) == "procrastinate":
        app = procrastinate_app(db.engine.url.render_as_string(hide_password=False), "defer")
        try:
            with app.open():
                app.tasks[TASK_NAME].defer(job_id=job_id)
        except Exception as exc:  # never leave a row queued that no worker will see
            _set(db, job_id, status="failed", error=f"not queued: {exc}", finished_at=utcnow())
            raise
    else:
        future: Future[None] = _executor.submit(run_job, db, job_id)
        future.add_done_callback(
            lambda f: f.exception() and log.error("job %s crashed: %s", job_id, f.exception())
        )
    return job_id


def run_job(db: Database, job_id: int) -> None:
    """Run one queued job to its end, recording running / done / failed and progress."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    with db.session() as s:
        # Claim it in one statement: a retried delivery of the same job finds it taken.
        claimed = s.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, BackgroundJob.status == "queued")
            .values(status="running", started_at=utcnow())
        ).rowcount
        if not claimed:
            return
        job = s.get(BackgroundJob, job_id)
        assert job is not None
        user = s.get(User, job.created_by_id) if job.created_by_id else None
        kind, params = job.kind, dict(job.params or {})
    if user is None or not user.is_active:
        _set(db, job_id, status="failed", error="its user is gone", finished_at=utcnow())
        return
    actor = Actor(user.id, Role(user.role), user.email)

    def report(done: int, total: int) -> None:
        _set(db, job_id, progress=done, total=total)

    try:
        result = _KINDS[kind](db, actor, params, report)
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


# -- procrastinate -------------------------------------------------------------------------


def _conninfo(url: str) -> str:
    """libpq's form of a SQLAlchemy PostgreSQL URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@lru_cache(maxsize=8)
def procrastinate_app(url: str, role: str) -> Any:
    """The procrastinate app of this database, with assay's one task: run a job by id.

    One app per role ("defer": synchronous, from request threads; "worker": asynchronous, in
    the worker's event loop), since an app opened for one cannot serve the other.
    """
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=_conninfo(url)))

    @app.task(name=TASK_NAME, queue=QUEUE_NAME)
    def run_background_job(job_id: int) -> None:
        run_job(_database(url), job_id)

    return app


@lru_cache(maxsize=8)
def _database(url: str) -> Database:
    return Database.connect(url)


def run_worker(db: Database, wait: bool = True, stop: threading.Event | None = None) -> None:
    """Run procrastinate jobs of this database: until stopped (wait) or the queue is empty.

    `stop`, when given, ends a waiting worker from another thread (the embedded worker).
    """
    import asyncio

    url = db.engine.url.render_as_string(hide_password=False)
    app = procrastinate_app(url, "worker")

    async def work() -> None:
        async with app.open_async():
            task = asyncio.ensure_future(
                app.run_worker_async(
                    queues=[QUEUE_NAME], wait=wait, install_signal_handlers=stop is None
                )
            )
            if stop is None:
                await task
                return
            while not task.done() and not stop.is_set():
                await asyncio.sleep(0.2)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    asyncio.run(work())


def start_embedded_worker(db: Database) -> Callable[[], None]:
    """A procrastinate worker on a thread of this process; returns the function stopping it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, args=(db,), kwargs={"stop": stop}, name="assay-worker", daemon=True
    )
    thread.start()

    def shutdown() -> None:
        stop.set()
        thread.join(timeout=10)

    return shutdown


# -- reading -------------------------------------------------------------------------------


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
    """On start with the thread queue: jobs left queued or running by a stopped process will
    not finish (procrastinate jobs wait in their queue for the next worker instead)."""
    with db.session() as s:
        s.execute(
            update(BackgroundJob)
            .where(BackgroundJob.status.in_(("queued", "running")))
            .values(status="failed", error="interrupted: the server stopped", finished_at=utcnow())
        )
