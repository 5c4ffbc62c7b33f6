"""Who runs background jobs, and running them: a job is a row of `background_jobs` (kind,
JSON params, state, progress, result; `state`) and a function registered for its kind
(`register_kind`, `register_partitioned`, called by `assay.app`). Who runs it depends on the
queue:

- "thread" (SQLite, and the default of tests): a worker thread of the serving process;
- "procrastinate" (PostgreSQL): the job id is deferred to procrastinate's queue `assay`, and
  any `assay worker` process (or the worker `assay serve` embeds) on any machine runs it.

Either way the function commits chunk by chunk and reports progress into the row, so any
replica can answer `GET /api/background-jobs/{id}`.

A partitioned kind (a recompute) splits its work into parts over task ranges. Its job row is
the parent: it plans the parts, records each as a child row, hands them all to the queue and
lets go. Any worker claims any part; a part rewrites its own range only, so a part that fails
is simply run again (up to `MAX_ATTEMPTS`). The parent's progress is the sum of its parts';
the part that completes last runs the kind's finishing step; a part that fails for good fails
the whole, and cancelling the parent stops every part at its next progress report. On the
thread queue the parts run one after another in this process: the same code, one worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, event, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from assay.services.access import Actor, Role
from assay.services.background import state
from assay.services.background.state import (
    MAX_ATTEMPTS,
    PART,
    JobAbandoned,
    fail_stalled,
    worker_name,
)
from assay.store.bookkeeping import BackgroundJob
from assay.store.db import Database
from assay.store.models import User
from assay.store.types import utcnow

log = logging.getLogger("assay.background")
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assay-job")
QUEUES = ("auto", "thread", "procrastinate")
QUEUE_NAME = "assay"
TASK_NAME = "assay.run_background_job"
Report = Callable[[int, int], None]
# work(db, actor, params, report) -> result dict; report(done, total) records progress.
Work = Callable[[Database, Actor, dict[str, Any], Report], dict[str, Any]]
# plan(db, actor, params) -> each part's params and size (what its progress counts to)
Plan = Callable[[Database, Actor, dict[str, Any]], list[tuple[dict[str, Any], int]]]
# finish(db, actor, params, the parts' results in plan order) -> the whole job's result
Finish = Callable[[Database, Actor, dict[str, Any], list[dict[str, Any]]], dict[str, Any]]


@dataclass(frozen=True)
class Partitioned:
    plan: Plan
    part: Work
    finish: Finish


_KINDS: dict[str, Work] = {}
_PARTITIONED: dict[str, Partitioned] = {}
_QUEUE_OF: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
# The Database of each engine a queue was chosen for, so that a part found stalled while
# reading (fail_stalled, given only a session) can be handed to the queue again.
_DATABASE_OF: weakref.WeakKeyDictionary[Engine, Database] = weakref.WeakKeyDictionary()


def register_kind(name: str, work: Work) -> None:
    """Run jobs of kind `name` with `work` (assay.app registers every kind at start)."""
    _KINDS[name] = work


def register_partitioned(name: str, plan: Plan, part: Work, finish: Finish) -> None:
    """Run jobs of kind `name` in parts: `plan` splits the work (each part must rewrite only
    what it covers, so running it twice is harmless), `part` does one, `finish` ends the whole
    once every part is done."""
    _PARTITIONED[name] = Partitioned(plan, part, finish)


def use_queue(db: Database, queue: str) -> str:
    """Choose who runs this database's jobs; "auto" is procrastinate on PostgreSQL."""
    if queue not in QUEUES:
        raise ValueError(f"background queue must be one of {', '.join(QUEUES)}, not {queue!r}")
    if queue == "auto":
        queue = "procrastinate" if db.engine.dialect.name == "postgresql" else "thread"
    if queue == "procrastinate" and db.engine.dialect.name != "postgresql":
        raise ValueError("the procrastinate queue needs PostgreSQL")
    _QUEUE_OF[db.engine] = queue
    _DATABASE_OF[db.engine] = db
    return queue


def queue_of(db: Database) -> str:
    return _QUEUE_OF.get(db.engine, "thread")


def submit(
    db: Database, actor: Actor, kind: str, project_id: int | None, params: dict[str, Any]
) -> int:
    """Record a queued job and hand it to the queue; returns its id at once."""
    if kind not in _KINDS and kind not in _PARTITIONED:
        raise ValueError(f"no job function for kind {kind!r}")
    with db.session() as s:
        job = BackgroundJob(kind=kind, project_id=project_id, created_by_id=actor.id, params=params)
        s.add(job)
        s.flush()
        job_id = job.id
    try:
        _dispatch(db, [job_id])
    except Exception as exc:  # never leave a row queued that no worker will see
        state.set_values(
            db, job_id, status="failed", error=f"not queued: {exc}", finished_at=utcnow()
        )
        raise
    return job_id


def _dispatch(db: Database, job_ids: Sequence[int]) -> None:
    """Hand queued rows to whoever runs this database's jobs."""
    if not job_ids:
        return
    if queue_of(db) == "procrastinate":
        app = procrastinate_app(db.engine.url.render_as_string(hide_password=False), "defer")
        with app.open():
            app.tasks[TASK_NAME].batch_defer(*({"job_id": i} for i in job_ids))
        return
    for job_id in job_ids:
        with _thread_jobs:
            _thread_jobs.pending += 1
        future: Future[None] = _executor.submit(_run_on_thread, db, job_id)
        future.add_done_callback(
            lambda f, j=job_id: f.exception() and log.error("job %s crashed: %s", j, f.exception())
        )


class _ThreadJobs(threading.Condition):
    """How many jobs the worker thread has been handed and not finished."""

    pending = 0


_thread_jobs = _ThreadJobs()


def _run_on_thread(db: Database, job_id: int) -> None:
    try:
        run_job(db, job_id)
    finally:
        with _thread_jobs:
            _thread_jobs.pending -= 1
            _thread_jobs.notify_all()


def drain_thread_queue(timeout: float | None = None) -> None:
    """Wait until the worker thread of this process is idle: every job handed to it has run,
    with the parts and retries those jobs queued (tests end with it, so that no job of one
    test writes into the next one's rows)."""
    with _thread_jobs:
        if not _thread_jobs.wait_for(lambda: _thread_jobs.pending == 0, timeout):
            raise TimeoutError(f"{_thread_jobs.pending} background jobs still queued or running")


def run_job(db: Database, job_id: int) -> None:
    """Run one queued job (a whole, a part, or a partitioned job's planning) to its end,
    recording running / done / failed and progress."""
    with db.session() as s:
        # Claim it in one statement: a retried delivery of the same job finds it taken.
        now = utcnow()
        claimed = s.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, BackgroundJob.status == "queued")
            .values(
                status="running",
                started_at=now,
                heartbeat_at=now,
                attempts=BackgroundJob.attempts + 1,
                worker=worker_name(),
            )
        ).rowcount
        if not claimed:
            return
        job = s.get(BackgroundJob, job_id)
        assert job is not None
        user = s.get(User, job.created_by_id) if job.created_by_id else None
        kind, params, parent_id = job.kind, dict(job.params or {}), job.parent_id
    if user is None or not user.is_active:
        state.finish(db, job_id, status="failed", error="its user is gone")
        if parent_id is not None:
            state.fail_whole(db, parent_id, "its user is gone")
        return
    actor = Actor(user.id, Role(user.role), user.email)
    if kind in _PARTITIONED:
        _plan_parts(db, actor, job_id, _PARTITIONED[kind], params)
        return
    whole = _PARTITIONED.get(kind.removesuffix(PART)) if parent_id is not None else None
    work = whole.part if whole is not None else _KINDS.get(kind)
    if work is None:  # this process was not wired (assay.app.wire_services)
        state.finish(db, job_id, status="failed", error=f"no job function for kind {kind!r}")
        return

    def report(done: int, total: int) -> None:
        if not state.set_if_running(db, job_id, progress=done, total=total, heartbeat_at=utcnow()):
            raise JobAbandoned(f"background job {job_id} is no longer running")

    try:
        with state.heartbeat(db, job_id):
            result = work(db, actor, params, report)
    except JobAbandoned:
        log.warning("background job %s stopped: it was stalled or cancelled meanwhile", job_id)
        return
    except Exception as exc:
        log.exception("background job %s failed", job_id)
        error = f"{type(exc).__name__}: {exc}"
        if parent_id is None:
            state.finish(db, job_id, status="failed", error=error)
        else:
            _part_failed(db, job_id, parent_id, error)
        return
    if parent_id is None:
        state.finish(db, job_id, status="done", result=result)
    else:
        _part_done(db, actor, job_id, parent_id, result)


def _plan_parts(
    db: Database, actor: Actor, job_id: int, whole: Partitioned, params: dict[str, Any]
) -> None:
    """The parent's turn: record its parts as queued child rows and hand them to the queue
    (or finish at once when there is nothing to split)."""
    try:
        with state.heartbeat(db, job_id):
            parts = whole.plan(db, actor, params)
            if not parts:
                result = whole.finish(db, actor, params, [])
    except Exception as exc:
        log.exception("background job %s failed while planning its parts", job_id)
        state.finish(db, job_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        return
    if not parts:
        state.finish(db, job_id, status="done", result=result)
        return
    with db.session() as s:
        parent = s.get(BackgroundJob, job_id)
        assert parent is not None
        rows = [
            {
                "kind": parent.kind + PART,
                "project_id": parent.project_id,
                "created_by_id": parent.created_by_id,
                "params": part_params,
                "total": size,
                "parent_id": job_id,
                "created_at": utcnow(),
            }
            for part_params, size in parts
        ]
        part_ids = list(
            s.scalars(
                insert(BackgroundJob).returning(BackgroundJob.id, sort_by_parameter_order=True),
                rows,
            )
        )
        still_running = s.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == job_id, BackgroundJob.status == "running")
            .values(parts_left=len(part_ids), total=sum(size for _, size in parts))
        ).rowcount
        if not still_running:  # cancelled while planning: its parts are born cancelled
            s.execute(
                update(BackgroundJob)
                .where(BackgroundJob.id.in_(part_ids))
                .values(status="cancelled", finished_at=utcnow())
            )
            return
    try:
        _dispatch(db, part_ids)
    except Exception as exc:
        state.fail_whole(db, job_id, f"parts not queued: {exc}")


def _part_done(
    db: Database, actor: Actor, part_id: int, parent_id: int, result: dict[str, Any]
) -> None:
    """Record a part done and count it off its whole; the part that counts the last one off
    finishes the whole (one row lock orders concurrent parts: exactly one sees 0)."""
    with db.session() as s:
        # the whole's row first, as cancel and fail_whole lock it: one order, no deadlock
        s.execute(select(BackgroundJob.id).where(BackgroundJob.id == parent_id).with_for_update())
        done = s.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id == part_id, BackgroundJob.status == "running")
            .values(status="done", result=result, finished_at=utcnow())
        ).rowcount
        if not done:
            return
        left = s.scalar(
            update(BackgroundJob)
            .where(BackgroundJob.id == parent_id, BackgroundJob.status == "running")
            .values(parts_left=BackgroundJob.parts_left - 1, heartbeat_at=utcnow())
            .returning(BackgroundJob.parts_left)
        )
    if left != 0:
        return
    with db.session(write=False) as s:
        parent = s.get(BackgroundJob, parent_id)
        assert parent is not None
        kind, params = parent.kind, dict(parent.params or {})
        results = list(
            s.scalars(
                select(BackgroundJob.result)
                .where(BackgroundJob.parent_id == parent_id)
                .order_by(BackgroundJob.id)
            )
        )
    try:
        with state.heartbeat(db, parent_id):
            whole_result = _PARTITIONED[kind].finish(db, actor, params, results)
    except Exception as exc:
        log.exception("background job %s failed while finishing", parent_id)
        state.finish(db, parent_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        return
    state.finish(db, parent_id, status="done", result=whole_result)


def _part_failed(db: Database, part_id: int, parent_id: int, error: str) -> None:
    """A part that raised is queued again while it has attempts left; then it fails its
    whole."""
    with db.session() as s:
        requeued = s.execute(
            update(BackgroundJob)
            .where(
                BackgroundJob.id == part_id,
                BackgroundJob.status == "running",
                BackgroundJob.attempts < MAX_ATTEMPTS,
            )
            .values(status="queued", error=error, heartbeat_at=utcnow())  # handed again now
        ).rowcount
    if requeued:
        log.warning("background job %s (a part of %s) is retried: %s", part_id, parent_id, error)
        _dispatch(db, [part_id])
        return
    state.finish(db, part_id, status="failed", error=error)
    state.fail_whole(db, parent_id, f"part {part_id} failed after {MAX_ATTEMPTS} attempts: {error}")


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
    """The database procrastinate's jobs run on in this process; what they queue (parts, their
    retries) goes to procrastinate too, for any worker to take."""
    db = Database.connect(url)
    use_queue(db, "procrastinate")
    return db


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


def _dispatch_after_commit(session: Session, part_ids: list[int]) -> None:
    """Hand parts `fail_stalled` queued again to the queue once their rows say "queued" to
    every reader (a worker's claim must find them so)."""
    db = _database_of(session)
    if db is not None:  # (a process that chose no queue runs no jobs)
        event.listen(session, "after_commit", lambda _s: _dispatch(db, part_ids), once=True)


def _database_of(session: Session) -> Database | None:
    """The Database a queue was chosen for whose engine this session uses (its writer binds an
    engine with other execution options, over the same pool)."""
    bind = session.get_bind()
    pool = (bind.engine if isinstance(bind, Connection) else bind).pool
    return next((db for engine, db in _DATABASE_OF.items() if engine.pool is pool), None)


state.on_parts_requeued(_dispatch_after_commit)
