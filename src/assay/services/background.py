"""Background jobs: long work whose state and progress live in the database.

A job is a row of `background_jobs` (kind, JSON params, status, progress, result) and a job
function registered for its kind (`register_kind`, called by `assay.app`). Who runs it depends
on the queue:

- "thread" (SQLite, and the default of tests): a worker thread of the serving process;
- "procrastinate" (PostgreSQL): the job id is deferred to procrastinate's queue `assay`, and
  any `assay worker` process (or the worker `assay serve` embeds) on any machine runs it.

Either way the function commits chunk by chunk and reports progress into the row, so any
replica can answer `GET /api/background-jobs/{id}`.

While a job runs, its worker refreshes the row's `heartbeat_at` (every `heartbeat_seconds()`,
and on each progress report). A worker that dies (kill -9, out of memory, a machine restart)
leaves its job "running" with a heartbeat that ages: once older than `STALLED_AFTER` (the
setting ASSAY_STALLED_AFTER_S, 5 minutes by default) the job is failed as stalled
(`fail_stalled`, run by `active_job`, `get_job` and each starting worker), so a new recompute
or merge can start and pollers see the truth. Status only moves forward: a worker
that comes back after its job was declared stalled stops at its next progress report and does
not overwrite the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, case, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, Role, authorize
from assay.services.errors import NotFound
from assay.store.bookkeeping import BackgroundJob
from assay.store.db import Database
from assay.store.models import User
from assay.store.types import utcnow

log = logging.getLogger("assay.background")
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assay-job")
QUEUES = ("auto", "thread", "procrastinate")
QUEUE_NAME = "assay"
TASK_NAME = "assay.run_background_job"
# Modules whose job functions register themselves on import.
# A running job's worker refreshes its heartbeat this often (seconds), or a tenth of
# STALLED_AFTER when that is shorter ...
HEARTBEAT_SECONDS = 30.0
# ... and a running job whose heartbeat is older than this has lost its worker (the setting
# ASSAY_STALLED_AFTER_S, `use_stalled_after`). Ten beats, so a busy database or some clock skew
# between machines is no death.
STALLED_AFTER = timedelta(minutes=5)

Report = Callable[[int, int], None]
# work(db, actor, params, report) -> result dict; report(done, total) records progress.
Work = Callable[[Database, Actor, dict[str, Any], Report], dict[str, Any]]
_KINDS: dict[str, Work] = {}
_QUEUE_OF: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def register_kind(name: str, work: Work) -> None:
    """Run jobs of kind `name` with `work` (assay.app registers every kind at start)."""
    _KINDS[name] = work


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


def use_stalled_after(seconds: float) -> timedelta:
    """Fail a running job as stalled once its heartbeat is `seconds` old, in this process (its
    servers' `fail_stalled`, its workers' heartbeats); the value used before.

    Process-wide, like the setting it comes from (ASSAY_STALLED_AFTER_S): a worker runs its jobs
    on a database of its own (`_database`), and must beat as often as the servers expect.
    """
    if not seconds > 0:
        raise ValueError(f"stalled_after must be positive, not {seconds!r}")
    global STALLED_AFTER
    before, STALLED_AFTER = STALLED_AFTER, timedelta(seconds=seconds)
    return before


def heartbeat_seconds() -> float:
    """How often a running job beats: HEARTBEAT_SECONDS, or a tenth of STALLED_AFTER if less."""
    return min(HEARTBEAT_SECONDS, STALLED_AFTER.total_seconds() / 10)


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


def drain_thread_queue(timeout: float | None = None) -> None:
    """Wait until the jobs handed to this process's worker thread so far have run (tests end
    with it, so that no job of one test writes into the next one's rows)."""
    _executor.submit(lambda: None).result(timeout)


class JobAbandoned(Exception):
    """Raised by a job's progress report when its row is no longer running (it was declared
    stalled): the job function stops between chunks instead of racing its replacement."""


def run_job(db: Database, job_id: int) -> None:
    """Run one queued job to its end, recording running / done / failed and progress."""
    with db.session() as s:
        # Claim it in one statement: a retried delivery of the same job finds it taken.
        now = utcnow()
        claimed = s.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, BackgroundJob.status == "queued")
            .values(status="running", started_at=now, heartbeat_at=now)
        ).rowcount
        if not claimed:
            return
        job = s.get(BackgroundJob, job_id)
        assert job is not None
        user = s.get(User, job.created_by_id) if job.created_by_id else None
        kind, params = job.kind, dict(job.params or {})
    if user is None or not user.is_active:
        _finish(db, job_id, status="failed", error="its user is gone")
        return
    actor = Actor(user.id, Role(user.role), user.email)
    work = _KINDS.get(kind)
    if work is None:  # this process was not wired (assay.app.wire_services)
        _finish(db, job_id, status="failed", error=f"no job function for kind {kind!r}")
        return

    def report(done: int, total: int) -> None:
        if not _set_running(db, job_id, progress=done, total=total, heartbeat_at=utcnow()):
            raise JobAbandoned(f"background job {job_id} is no longer running")

    try:
        with _heartbeat(db, job_id):
            result = work(db, actor, params, report)
    except JobAbandoned:
        log.warning("background job %s stopped: it was declared stalled meanwhile", job_id)
        return
    except Exception as exc:
        log.exception("background job %s failed", job_id)
        _finish(db, job_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        return
    _finish(db, job_id, status="done", result=result)


def _set(db: Database, job_id: int, **values: Any) -> None:
    with db.session() as s:
        s.execute(update(BackgroundJob).where(BackgroundJob.id == job_id).values(**values))


def _set_running(db: Database, job_id: int, **values: Any) -> bool:
    """Update the job if it is still running (one cheap UPDATE); whether it was."""
    with db.session() as s:
        return bool(
            s.execute(
                update(BackgroundJob)
                .where(BackgroundJob.id == job_id, BackgroundJob.status == "running")
                .values(**values)
            ).rowcount
        )


def _finish(db: Database, job_id: int, **values: Any) -> None:
    """End a running job; one declared stalled meanwhile stays failed."""
    if not _set_running(db, job_id, finished_at=utcnow(), **values):
        log.warning(
            "background job %s ended (%s) after it was declared stalled; the row stays failed",
            job_id,
            values.get("status"),
        )


@contextlib.contextmanager
def _heartbeat(db: Database, job_id: int) -> Iterator[None]:
    """Refresh the job's heartbeat every `heartbeat_seconds()` from a daemon thread while the
    body runs. A failed beat (a busy or unreachable database) is logged and retried."""
    stop = threading.Event()
    every = heartbeat_seconds()

    def beat() -> None:
        while not stop.wait(every):
            try:
                if not _set_running(db, job_id, heartbeat_at=utcnow()):
                    return  # done, or declared stalled: nothing left to keep alive
            except Exception:
                log.warning("heartbeat of background job %s failed", job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"assay-heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


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
    # Imported here on purpose, not to dodge a circle: procrastinate (and what it loads) is only
    # used on PostgreSQL, and costs a SQLite server ~25 MiB and a second at start.
    import procrastinate  # noqa: PLC0415

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
    fail_stalled(db)  # jobs whose worker died; procrastinate will not hand them out again
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
    fail_stalled(session)  # so a job whose worker died does not show "running" forever
    job = session.get(BackgroundJob, job_id)
    if job is None:
        raise NotFound(f"Background job {job_id} not found.")
    if job.project_id is not None:
        authorize(session, actor, Action.PROJECT_VIEW, job.project_id)
        # What a recompute, merge or export found is for who may read quality, or who ran it:
        # an annotator may not read a project's job results.
        if actor.id != job.created_by_id and not actor.may(Action.QUALITY_VIEW):
            raise NotFound(f"Background job {job_id} not found.")
    elif actor.id != job.created_by_id and not actor.may(Action.USERS_MANAGE):
        raise NotFound(f"Background job {job_id} not found.")
    return job


def active_job(session: Session, project_id: int, kind: str) -> BackgroundJob | None:
    fail_stalled(session)  # a job whose worker died does not block a new one
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


def fail_stalled(target: Session | Database, now: datetime | None = None) -> list[int]:
    """Fail the running jobs whose heartbeat (or start, for rows older than heartbeats) is
    older than STALLED_AFTER: their worker died. Returns their ids.

    Any replica or worker may call this at any time: one UPDATE, guarded by the same
    condition, so a job whose worker beat meanwhile is left alone and a job failed by a
    concurrent call is not failed twice. A cheap SELECT first keeps the usual case (nothing
    stalled) a read. Given a session, the UPDATE runs in it, in a savepoint: if the database
    is busy (SQLite: another writer since this session's snapshot) it is skipped, and the next
    call does it.
    """
    if isinstance(target, Database):
        with target.session() as s:
            return fail_stalled(s, now)
    session = target
    now = now or utcnow()
    last_beat = func.coalesce(BackgroundJob.heartbeat_at, BackgroundJob.started_at)
    stalled = (BackgroundJob.status == "running", last_beat < now - STALLED_AFTER)
    seen = session.execute(select(BackgroundJob.id, last_beat).where(*stalled)).all()
    if not seen:
        return []
    errors = {
        job_id: "stalled: its worker stopped answering "
        f"(no heartbeat for {int((now - beat).total_seconds())} s)"
        for job_id, beat in seen
    }
    try:
        with session.begin_nested():
            failed = list(
                session.scalars(
                    update(BackgroundJob)
                    .where(BackgroundJob.id.in_(errors), *stalled)
                    .values(
                        status="failed",
                        error=case(errors, value=BackgroundJob.id),
                        finished_at=now,
                    )
                    .returning(BackgroundJob.id)
                    .execution_options(synchronize_session="fetch")
                )
            )
    except OperationalError as exc:
        log.warning("stalled background jobs %s not failed yet: %s", sorted(errors), exc.orig)
        return []
    for job_id in failed:
        log.warning("background job %s failed: %s", job_id, errors[job_id])
    return failed
