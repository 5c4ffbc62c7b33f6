"""The life of a background job's row: states that only move forward (queued, running, then
done, failed or cancelled), heartbeats, stalled workers, and what a reader sees of progress.

While a job runs, its worker refreshes the row's `heartbeat_at` (every `heartbeat_seconds()`,
and on each progress report). A worker that dies (kill -9, out of memory, a machine restart)
leaves its job "running" with a heartbeat that ages: once older than `STALLED_AFTER` (the
setting ASSAY_STALLED_AFTER_S, 5 minutes by default) the job is failed as stalled
(`fail_stalled`, run by `active_job`, `get_job` and each starting worker), so a new recompute
or merge can start and pollers see the truth; a stalled part of a partitioned job is queued
again instead while it has attempts left. A worker that comes back after its job was declared
stalled (or cancelled) stops at its next progress report and does not overwrite the row.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize
from assay.services.errors import Conflict, NotFound
from assay.store.bookkeeping import BackgroundJob
from assay.store.db import Database
from assay.store.types import utcnow

log = logging.getLogger("assay.background")

# A running job's worker refreshes its heartbeat this often (seconds), or a tenth of
# STALLED_AFTER when that is shorter ...
HEARTBEAT_SECONDS = 30.0
# ... and a running job whose heartbeat is older than this has lost its worker (the setting
# ASSAY_STALLED_AFTER_S, `use_stalled_after`). Ten beats, so a busy database or some clock skew
# between machines is no death.
STALLED_AFTER = timedelta(minutes=5)
# A part that raised (or whose worker died) is run again until it has been tried this often.
MAX_ATTEMPTS = 3
PART = ":part"  # a part's kind is its whole's kind + PART
ACTIVE = ("queued", "running")


# Who hands parts queued again by `fail_stalled` to the queue once the session commits
# (`queue` registers itself: it runs jobs, this module only keeps their rows).
_requeued_handlers: list[Callable[[Session, list[int]], None]] = []


def on_parts_requeued(handler: Callable[[Session, list[int]], None]) -> None:
    """Call `handler(session, part_ids)` when `fail_stalled` queues stalled parts again."""
    if handler not in _requeued_handlers:
        _requeued_handlers.append(handler)


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


def worker_name() -> str:
    """Who runs a job, as recorded on its row: this machine and process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


class JobAbandoned(Exception):
    """Raised by a job's progress report when its row is no longer running (it was declared
    stalled, or cancelled): the job function stops between chunks instead of racing on."""


def set_values(db: Database, job_id: int, **values: Any) -> None:
    with db.session() as s:
        s.execute(update(BackgroundJob).where(BackgroundJob.id == job_id).values(**values))


def set_if_running(db: Database, job_id: int, **values: Any) -> bool:
    """Update the job if it is still running (one cheap UPDATE); whether it was."""
    with db.session() as s:
        return bool(
            s.execute(
                update(BackgroundJob)
                .where(BackgroundJob.id == job_id, BackgroundJob.status == "running")
                .values(**values)
            ).rowcount
        )


def finish(db: Database, job_id: int, **values: Any) -> None:
    """End a running job; one declared stalled or cancelled meanwhile stays so."""
    if not set_if_running(db, job_id, finished_at=utcnow(), **values):
        log.warning(
            "background job %s ended (%s) after it was stalled or cancelled; the row stays so",
            job_id,
            values.get("status"),
        )


@contextlib.contextmanager
def heartbeat(db: Database, job_id: int) -> Iterator[None]:
    """Refresh the job's heartbeat every `heartbeat_seconds()` from a daemon thread while the
    body runs. A failed beat (a busy or unreachable database) is logged and retried."""
    stop = threading.Event()
    every = heartbeat_seconds()

    def beat() -> None:
        while not stop.wait(every):
            try:
                if not set_if_running(db, job_id, heartbeat_at=utcnow()):
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


def fail_whole(target: Database | Session, parent_id: int, error: str) -> None:
    """Fail a partitioned job and stop its parts (queued ones never start; running ones stop
    at their next progress report)."""
    if isinstance(target, Database):
        with target.session() as s:
            fail_whole(s, parent_id, error)
        return
    now = utcnow()
    target.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == parent_id, BackgroundJob.status.in_(ACTIVE))
        .values(status="failed", error=error, finished_at=now)
    )
    target.execute(
        update(BackgroundJob)
        .where(BackgroundJob.parent_id == parent_id, BackgroundJob.status.in_(ACTIVE))
        .values(status="cancelled", error="its job failed", finished_at=now)
    )


def cancel(session: Session, actor: Actor, job_id: int) -> BackgroundJob:
    """Stop a queued or running job and its parts; work already committed stays (each part
    of a recompute leaves its tasks scored). Whoever started it may, and staff of its project."""
    job = get_job(session, actor, job_id)
    if actor.id != job.created_by_id:
        if job.project_id is not None:
            authorize(session, actor, Action.BACKGROUND_CANCEL, job.project_id)
        elif not actor.may(Action.USERS_MANAGE):
            raise NotFound(f"Background job {job_id} not found.")
    if job.parent_id is not None:
        raise Conflict(
            f"Background job {job_id} is a part of job {job.parent_id}: cancel that one."
        )
    if job.status not in ACTIVE:
        raise Conflict(f"Background job {job_id} is {job.status}, not queued or running.")
    now = utcnow()
    who = actor.email or f"user {actor.id}"
    session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id, BackgroundJob.status.in_(ACTIVE))
        .values(status="cancelled", error=f"cancelled by {who}", finished_at=now)
    )
    session.execute(
        update(BackgroundJob)
        .where(BackgroundJob.parent_id == job_id, BackgroundJob.status.in_(ACTIVE))
        .values(status="cancelled", error=f"cancelled by {who}", finished_at=now)
    )
    session.refresh(job)
    return job


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    parts: dict[str, int] | None  # a partitioned job's parts by status
    workers: list[str]  # who ran it (for a partitioned job, its parts)


def progress_of(session: Session, job: BackgroundJob) -> Progress:
    """How far a job is: its own count, or for a partitioned job the sum of its parts'."""
    if job.parts_left is None:
        return Progress(job.progress, job.total, None, [job.worker] if job.worker else [])
    rows = session.execute(
        select(
            BackgroundJob.status,
            func.count(),
            func.coalesce(func.sum(BackgroundJob.progress), 0),
        )
        .where(BackgroundJob.parent_id == job.id)
        .group_by(BackgroundJob.status)
    ).all()
    workers = session.scalars(
        select(BackgroundJob.worker)
        .where(BackgroundJob.parent_id == job.id, BackgroundJob.worker != "")
        .distinct()
        .order_by(BackgroundJob.worker)
    )
    return Progress(
        int(sum(done for _, _, done in rows)),
        job.total,
        {status: int(n) for status, n, _ in rows},
        list(workers),
    )


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
            BackgroundJob.parent_id.is_(None),
            BackgroundJob.status.in_(ACTIVE),
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

    A partitioned job waiting for its parts has no worker of its own and never stalls; a part
    that stalled is queued again while it has attempts left (`_retry_stalled_parts`), else it
    fails its whole.

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
    stalled = (
        BackgroundJob.status == "running",
        last_beat < now - STALLED_AFTER,
        # a whole waiting for its parts (parts_left > 0) is not stalled; finishing (0), it is
        func.coalesce(BackgroundJob.parts_left, 0) <= 0,
    )
    _redispatch_lost_parts(session, now)
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
            retried = _retry_stalled_parts(session, failed, now)
    except OperationalError as exc:
        log.warning("stalled background jobs %s not failed yet: %s", sorted(errors), exc.orig)
        return []
    for job_id in failed:
        if job_id not in retried:
            log.warning("background job %s failed: %s", job_id, errors[job_id])
    if retried:
        log.warning("stalled parts %s are queued again", retried)
        for handler in _requeued_handlers:
            handler(session, retried)
    return failed


def _redispatch_lost_parts(session: Session, now: datetime) -> None:
    """Parts left queued longer than STALLED_AFTER since they were last handed to the queue
    (`heartbeat_at` of a queued part; its creation before): the hand-off may have been lost (a
    process died between the commit and the dispatch, the queue was unreachable), and their
    whole would wait forever. Hand them again; a part delivered twice still runs once (the
    claim in `run_job`)."""
    handed = func.coalesce(BackgroundJob.heartbeat_at, BackgroundJob.created_at)
    lost = (
        BackgroundJob.status == "queued",
        BackgroundJob.parent_id.is_not(None),
        handed < now - STALLED_AFTER,
    )
    if not session.scalar(select(BackgroundJob.id).where(*lost).limit(1)):
        return
    try:
        with session.begin_nested():
            again = list(
                session.scalars(
                    update(BackgroundJob)
                    .where(*lost)
                    .values(heartbeat_at=now)
                    .returning(BackgroundJob.id)
                    .execution_options(synchronize_session=False)
                )
            )
    except OperationalError as exc:
        log.warning("queued parts not handed again yet: %s", exc.orig)
        return
    log.warning("parts %s waited in the queue too long: handed to it again", again)
    for handler in _requeued_handlers:
        handler(session, again)


def _retry_stalled_parts(session: Session, failed: list[int], now: datetime) -> list[int]:
    """Of jobs just failed as stalled, queue the parts with attempts left again, and fail the
    wholes of the others; returns the parts queued again."""
    parts = session.execute(
        select(BackgroundJob.id, BackgroundJob.parent_id, BackgroundJob.attempts).where(
            BackgroundJob.id.in_(failed), BackgroundJob.parent_id.is_not(None)
        )
    ).all()
    retry = [job_id for job_id, _, attempts in parts if attempts < MAX_ATTEMPTS]
    if retry:
        session.execute(
            update(BackgroundJob)
            .where(BackgroundJob.id.in_(retry))
            .values(status="queued", heartbeat_at=now, finished_at=None)
        )
    for job_id, parent_id, attempts in parts:
        if attempts >= MAX_ATTEMPTS:
            fail_whole(session, parent_id, f"part {job_id} stalled {attempts} times")
    return retry
