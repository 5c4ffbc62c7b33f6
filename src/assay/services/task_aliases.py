"""The ids annotators know tasks by: one alias per task of a job (`job_tasks.alias`).

A honeypot is an older task (it has GT), so its real id, its times and its media path would
tell an annotator which of their job's tasks it is. An annotator (who may not see all
annotations, `Action.ANNOTATIONS_VIEW_ALL`) therefore knows each task of their live jobs only
by the alias of (job, task): a random integer in [ALIAS_MIN, ALIAS_END), a range no real id
reaches, drawn afresh whenever a task is put into a job. What they read of such a task carries
the alias and the job's `created_at`; what they send is resolved back in
`tasks.visibility.resolve_task`, where a real id of such a task answers 404 like a task they
may not see. Everyone else, and every task outside the annotator's jobs (a project without
jobs has no honeypots), keeps its real id.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor
from assay.store.models import Job, JobAssignee, JobTask, Task

ALIAS_MIN = 2**30  # real ids stay below (a billion tasks)
ALIAS_END = 2**31 - 1  # exclusive; every alias is a PostgreSQL integer and an `http.params.Id`

_random = random.SystemRandom()


def is_alias(value: int) -> bool:
    return ALIAS_MIN <= value < ALIAS_END


def knows_aliases(actor: Actor) -> bool:
    """Whether the actor knows the tasks of their jobs by alias (annotators)."""
    return not actor.may(Action.ANNOTATIONS_VIEW_ALL)


def new_aliases(session: Session, n: int) -> list[int]:
    """`n` distinct aliases no job task has yet, for tasks about to be put into jobs.

    Drawn at random; the rare one taken already is drawn again. Two transactions drawing the
    same one at once (odds about n * m / 2**30) meet the unique index, and one of them fails.
    """
    out: set[int] = set()
    while len(out) < n:
        draw = set(_random.sample(range(ALIAS_MIN, ALIAS_END), n - len(out))) - out
        taken = set(session.scalars(select(JobTask.alias).where(JobTask.alias.in_(draw))))
        out |= draw - taken
    return _random.sample(sorted(out), n)


@dataclass(frozen=True)
class SeenTasks:
    """How one reader sees some tasks: for an annotator, each task of their live jobs by an
    alias and with its job's `created_at` as its times; any other task as it is.

    `aliases`: (job id, task id) -> alias. `default_job`: task id -> the job whose alias
    stands for the task where no job is named (the one named when this was made, else the
    one with the smallest alias). `job_created`: job id -> created_at.
    """

    aliases: dict[tuple[int, int], int] = field(default_factory=dict)
    default_job: dict[int, int] = field(default_factory=dict)
    job_created: dict[int, datetime] = field(default_factory=dict)

    def job_of(self, task_id: int, job_id: int | None = None) -> int | None:
        """The job whose alias stands for the task: `job_id` if the task is in it, else the
        default; None for a task known by its real id."""
        if job_id is not None and (job_id, task_id) in self.aliases:
            return job_id
        return self.default_job.get(task_id)

    def id_of(self, task_id: int, job_id: int | None = None) -> int:
        job = self.job_of(task_id, job_id)
        return task_id if job is None else self.aliases[(job, task_id)]

    def time_of(self, task_id: int, real: datetime, job_id: int | None = None) -> datetime:
        """A task's (or its prediction's) time as the reader sees it: its job's creation."""
        job = self.job_of(task_id, job_id)
        return real if job is None else self.job_created[job]


AS_THEY_ARE = SeenTasks()


def seen_tasks(
    session: Session, actor: Actor, task_ids: Iterable[int], job_id: int | None = None
) -> SeenTasks:
    """How `actor` sees these tasks (`SeenTasks`), in one query; `job_id`: the job the actor
    named the tasks in (an alias they sent), preferred where a task is in several of theirs."""
    ids = sorted(set(task_ids))
    if not ids or not knows_aliases(actor):
        return AS_THEY_ARE
    rows = session.execute(
        select(JobTask.job_id, JobTask.task_id, JobTask.alias, Job.created_at)
        .join(Job, Job.id == JobTask.job_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .where(
            JobTask.task_id.in_(ids),
            JobAssignee.user_id == actor.id,
            Job.deleted_at.is_(None),
        )
        .order_by(JobTask.alias)
    ).all()
    aliases: dict[tuple[int, int], int] = {}
    default_job: dict[int, int] = {}
    created: dict[int, datetime] = {}
    for job, task, alias, at in rows:
        aliases[(job, task)] = alias
        created[job] = at
        default_job.setdefault(task, job)  # the smallest alias
    if job_id is not None:
        for job, task in aliases:
            if job == job_id:
                default_job[task] = job
    return SeenTasks(aliases, default_job, created)


def my_job_task(session: Session, actor: Actor, alias: int) -> tuple[int, int] | None:
    """(job id, task id) the alias names among the actor's live jobs; None if it names none."""
    row = session.execute(
        select(JobTask.job_id, JobTask.task_id)
        .join(Job, Job.id == JobTask.job_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .where(JobTask.alias == alias, JobAssignee.user_id == actor.id, Job.deleted_at.is_(None))
    ).first()
    return (row[0], row[1]) if row else None


def in_my_jobs_condition(actor: Actor) -> Any:
    """A condition on Task: it is in one of the actor's live jobs."""
    return (
        select(JobTask.task_id)
        .join(Job, Job.id == JobTask.job_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .where(JobTask.task_id == Task.id, JobAssignee.user_id == actor.id)
        .where(Job.deleted_at.is_(None))
        .correlate(Task)
        .exists()
    )


def in_my_jobs(session: Session, actor: Actor, task_id: int) -> bool:
    """Whether the task is in one of the actor's live jobs (then they know it by alias only)."""
    stmt = (
        select(JobTask.task_id)
        .join(Job, Job.id == JobTask.job_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .where(JobTask.task_id == task_id, JobAssignee.user_id == actor.id)
        .where(Job.deleted_at.is_(None))
    )
    return session.execute(stmt.limit(1)).first() is not None


def alias_order(actor: Actor) -> Any:
    """An ORDER BY term on Task for the actor's lists: the task's smallest alias among their
    live jobs (its id as they see it), else its real id. Ordering by real id would put the
    older tasks (honeypots) first."""
    smallest = (
        select(func.min(JobTask.alias))
        .join(Job, Job.id == JobTask.job_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .where(
            JobTask.task_id == Task.id,
            JobAssignee.user_id == actor.id,
            Job.deleted_at.is_(None),
        )
        .correlate(Task)
        .scalar_subquery()
    )
    return func.coalesce(smallest, Task.id)


def named_tasks(session: Session, actor: Actor, ids: Iterable[int]) -> dict[int, int]:
    """The real task each id the actor sent names, for lists of ids (`selectedItems`): an alias
    of their live jobs names its task; the real id of a task in those jobs names nothing (left
    out, as `tasks.visibility.resolve_task` answers it 404); any other id names itself."""
    sent = set(ids)
    if not sent or not knows_aliases(actor):
        return {i: i for i in sent}
    mine = (
        select(JobTask.alias, JobTask.task_id)
        .join(Job, Job.id == JobTask.job_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .where(JobAssignee.user_id == actor.id, Job.deleted_at.is_(None))
    )
    aliases = [i for i in sent if is_alias(i)]
    reals = [i for i in sent if not is_alias(i)]
    named = {a: t for a, t in session.execute(mine.where(JobTask.alias.in_(aliases)))}
    hidden = set(
        session.scalars(mine.with_only_columns(JobTask.task_id).where(JobTask.task_id.in_(reals)))
    )
    return named | {i: i for i in reals if i not in hidden}
