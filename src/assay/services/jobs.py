"""Jobs: batches of tasks handed to annotators; a task may be in many jobs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from assay.services import honeypots
from assay.services.access import Action, Actor, authorize, is_member
from assay.services.errors import Invalid, NotFound
from assay.services.pagination import Page, page_of
from assay.store.models import Annotation, Job, JobAssignee, JobTask, Task, User

MAX_TITLE = 200
MIN_REPLICAS, MAX_REPLICAS = 2, 11


@dataclass(frozen=True)
class JobProgress:
    total: int
    annotated: int  # tasks with a live, non-cancelled annotation made in this job
    done: int  # tasks whose GT stage is finished (done or empty), in any job
    annotated_or_done: int = 0

    @property
    def annotated_percent(self) -> float:
        return round(100 * self.annotated / self.total, 2) if self.total else 0.0

    @property
    def done_percent(self) -> float:
        return round(100 * self.done / self.total, 2) if self.total else 0.0

    @property
    def fully_annotated(self) -> bool:
        """Every task is annotated in this job or already done."""
        return self.total > 0 and self.annotated_or_done == self.total


@dataclass(frozen=True)
class JobView:
    job: Job
    task_ids: list[int]
    assignee_ids: list[int]
    progress: JobProgress


def get_job(session: Session, actor: Actor, job_id: int) -> Job:
    """The job, if the actor may see it: staff and reviewers see all, annotators their own."""
    job = session.get(Job, job_id)
    if job is None or job.deleted_at is not None:
        raise NotFound(f"Job {job_id} not found.")
    authorize(session, actor, Action.TASK_VIEW, job.project_id)
    if not actor.may(Action.JOBS_VIEW_ALL) and not is_assignee(session, job.id, actor.id):
        raise NotFound(f"Job {job_id} not found.")
    return job


def is_assignee(session: Session, job_id: int, user_id: int) -> bool:
    return session.get(JobAssignee, (job_id, user_id)) is not None


def _check_ids(value: Any, field: str) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in value
    ):
        raise Invalid.field(field, "must be a list of ids")
    return list(dict.fromkeys(value))


def _check_tasks(session: Session, project_id: int, task_ids: list[int]) -> None:
    found = set(
        session.scalars(
            select(Task.id).where(
                Task.id.in_(task_ids), Task.project_id == project_id, Task.deleted_at.is_(None)
            )
        )
    )
    missing = [t for t in task_ids if t not in found]
    if missing:
        raise Invalid.field(
            "task_ids", f"not tasks of project {project_id}: {', '.join(map(str, missing[:10]))}"
        )


def _check_assignees(session: Session, project_id: int, user_ids: list[int]) -> None:
    for uid in user_ids:
        user = session.get(User, uid)
        if user is None or not user.is_active:
            raise Invalid.field("assignees", f"user {uid} does not exist")
        if user.role != "admin" and not is_member(session, uid, project_id):
            raise Invalid.field("assignees", f"user {uid} is not a member of project {project_id}")


def create_job(
    session: Session,
    actor: Actor,
    project_id: int,
    title: Any = "",
    task_ids: Any = None,
    assignees: Any = None,
    replicas: Any = None,
    with_honeypots: bool = True,
) -> Job:
    """A job over the given tasks; honeypots from the project's pool are mixed in at random
    positions (services.honeypots) unless `with_honeypots` is off."""
    authorize(session, actor, Action.JOBS_MANAGE, project_id)
    title = _check_title(title)
    task_ids = _check_ids(task_ids if task_ids is not None else [], "task_ids")
    if not task_ids:
        raise Invalid.field("task_ids", "is empty: a job needs at least one task")
    assignee_ids = _check_ids(assignees if assignees is not None else [], "assignees")
    _check_tasks(session, project_id, task_ids)
    _check_assignees(session, project_id, assignee_ids)
    replicas = _check_replicas(replicas, len(assignee_ids))
    job = Job(project_id=project_id, title=title, created_by_id=actor.id, replicas=replicas)
    session.add(job)
    session.flush()
    chosen = (
        honeypots.choose(session, project_id, task_ids, assignee_ids, job.id)
        if with_honeypots
        else []
    )
    session.execute(
        insert(JobTask),
        [
            {"job_id": job.id, "task_id": t, "position": i, "is_honeypot": hp}
            for i, (t, hp) in enumerate(honeypots.mix_in(task_ids, chosen))
        ],
    )
    if assignee_ids:
        session.execute(
            insert(JobAssignee), [{"job_id": job.id, "user_id": u} for u in assignee_ids]
        )
    honeypots.record_exposures(session, job, chosen, assignee_ids)
    return job


def _check_replicas(value: Any, assignees: int) -> int | None:
    """None (every assignee does every task) or 2-11, and no more than the assignees."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid.field("replicas", "must be an integer from 2 to 11, or null")
    if not MIN_REPLICAS <= value <= MAX_REPLICAS:
        raise Invalid.field(
            "replicas", f"must be from {MIN_REPLICAS} to {MAX_REPLICAS}, not {value}"
        )
    if value > assignees:
        raise Invalid.field(
            "replicas",
            f"{value} replicas need at least {value} assignees; the job has {assignees}",
        )
    return value


def _check_title(title: Any) -> str:
    if title is None:
        return ""
    if not isinstance(title, str) or len(title) > MAX_TITLE:
        raise Invalid.field("title", f"must be a string of at most {MAX_TITLE} characters")
    return title


def update_job(session: Session, actor: Actor, job_id: int, **fields: Any) -> Job:
    """Change the title, add tasks (`add_task_ids`), replace the assignees, set `replicas`."""
    job = get_job(session, actor, job_id)
    authorize(session, actor, Action.JOBS_MANAGE, job.project_id)
    if fields.get("title") is not None:
        job.title = _check_title(fields["title"])
    if fields.get("add_task_ids") is not None:
        add = _check_ids(fields["add_task_ids"], "add_task_ids")
        _check_tasks(session, job.project_id, add)
        have = set(session.scalars(select(JobTask.task_id).where(JobTask.job_id == job.id)))
        start = session.scalar(
            select(func.coalesce(func.max(JobTask.position), -1)).where(JobTask.job_id == job.id)
        )
        new = [t for t in add if t not in have]
        if new:
            session.execute(
                insert(JobTask),
                [
                    {"job_id": job.id, "task_id": t, "position": start + 1 + i}
                    for i, t in enumerate(new)
                ],
            )
    before = list(session.scalars(select(JobAssignee.user_id).where(JobAssignee.job_id == job.id)))
    after = before
    if fields.get("assignees") is not None:
        after = _check_ids(fields["assignees"], "assignees")
        _check_assignees(session, job.project_id, after)
    if "replicas" in fields:
        job.replicas = _check_replicas(fields["replicas"], len(after))
    elif job.replicas is not None and job.replicas > len(after):
        _check_replicas(job.replicas, len(after))
    if fields.get("assignees") is not None:
        session.execute(delete(JobAssignee).where(JobAssignee.job_id == job.id))
        if after:
            session.execute(insert(JobAssignee), [{"job_id": job.id, "user_id": u} for u in after])
        if set(after) != set(before):
            honeypots.assignees_changed(session, job, before, after)
    session.flush()
    return job


def list_jobs(
    session: Session, actor: Actor, project_id: int, page: int = 1, page_size: int = 100
) -> tuple[list[JobView], Page]:
    authorize(session, actor, Action.TASK_VIEW, project_id)
    stmt = select(Job).where(Job.project_id == project_id, Job.deleted_at.is_(None))
    if not actor.may(Action.JOBS_VIEW_ALL):
        stmt = stmt.where(
            Job.id.in_(select(JobAssignee.job_id).where(JobAssignee.user_id == actor.id))
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pg = page_of(page, page_size, total)
    jobs = list(session.scalars(stmt.order_by(Job.id).offset(pg.offset).limit(pg.size)))
    return views_of(session, jobs), pg


def views_of(session: Session, jobs: list[Job]) -> list[JobView]:
    """Jobs with their tasks, assignees and progress, in a fixed number of queries."""
    ids = [j.id for j in jobs]
    if not ids:
        return []
    tasks: dict[int, list[int]] = {i: [] for i in ids}
    for job_id, task_id in session.execute(
        select(JobTask.job_id, JobTask.task_id)
        .join(Task, Task.id == JobTask.task_id)
        .where(JobTask.job_id.in_(ids), Task.deleted_at.is_(None))
        .order_by(JobTask.job_id, JobTask.position)
    ):
        tasks[job_id].append(task_id)
    people: dict[int, list[int]] = {i: [] for i in ids}
    for job_id, user_id in session.execute(
        select(JobAssignee.job_id, JobAssignee.user_id)
        .where(JobAssignee.job_id.in_(ids))
        .order_by(JobAssignee.user_id)
    ):
        people[job_id].append(user_id)
    progress = job_progress(session, ids)
    return [JobView(j, tasks[j.id], people[j.id], progress[j.id]) for j in jobs]


def job_progress(session: Session, job_ids: list[int]) -> dict[int, JobProgress]:
    live = (JobTask.job_id.in_(job_ids), Task.deleted_at.is_(None))
    base = (
        select(JobTask.job_id, JobTask.task_id, Task.gt_status)
        .join(Task, Task.id == JobTask.task_id)
        .where(*live)
    )
    annotated_in_job = (
        select(Annotation.id)
        .where(
            Annotation.task_id == JobTask.task_id,
            Annotation.job_id == JobTask.job_id,
            Annotation.deleted_at.is_(None),
            Annotation.was_cancelled.is_(False),
        )
        .exists()
    )
    rows = session.execute(base.add_columns(annotated_in_job)).all()
    out: dict[int, list[int]] = {j: [0, 0, 0, 0] for j in job_ids}
    for job_id, _task_id, status, annotated in rows:
        c = out[job_id]
        done = status != "none"
        c[0] += 1
        c[1] += bool(annotated)
        c[2] += done
        c[3] += bool(annotated) or done
    return {
        j: JobProgress(total=c[0], annotated=c[1], done=c[2], annotated_or_done=c[3])
        for j, c in out.items()
    }


def job_task_ids(session: Session, job_id: int) -> list[int]:
    stmt = (
        select(JobTask.task_id)
        .join(Task, Task.id == JobTask.task_id)
        .where(JobTask.job_id == job_id, Task.deleted_at.is_(None))
        .order_by(JobTask.position)
    )
    return list(session.scalars(stmt))


def is_honeypot_for(session: Session, user_id: int, task_id: int) -> bool:
    """Whether the task is a honeypot in one of the user's jobs: they may annotate it like any
    task, with or without naming the job (a refusal would tell them it is one)."""
    stmt = (
        select(JobTask.task_id)
        .join(JobAssignee, JobAssignee.job_id == JobTask.job_id)
        .join(Job, Job.id == JobTask.job_id)
        .where(
            JobTask.task_id == task_id,
            JobTask.is_honeypot.is_(True),
            JobAssignee.user_id == user_id,
            Job.deleted_at.is_(None),
        )
    )
    return session.execute(stmt.limit(1)).first() is not None


def require_task_in_job(session: Session, job: Job, task_id: int) -> None:
    if session.get(JobTask, (job.id, task_id)) is None:
        raise Invalid.field("task", f"task {task_id} is not in job {job.id}")


def _open_to(user_id: int) -> list[Any]:
    """Conditions on a JobTask joined to its Task: open for this user, before replicas: not
    annotated by them (anywhere), not done (a honeypot is served even though its GT is final)."""
    mine = (
        select(Annotation.id)
        .where(
            Annotation.task_id == JobTask.task_id,
            Annotation.completed_by_id == user_id,
            Annotation.deleted_at.is_(None),
        )
        .exists()
    )
    return [
        Task.deleted_at.is_(None),
        or_(Task.gt_status == "none", JobTask.is_honeypot.is_(True)),
        ~mine,
    ]


def _replicas_done() -> Any:
    """How many people annotated the JobTask's task in its job (replicas count these)."""
    return (
        select(func.count(func.distinct(Annotation.completed_by_id)))
        .where(
            Annotation.task_id == JobTask.task_id,
            Annotation.job_id == JobTask.job_id,
            Annotation.deleted_at.is_(None),
            Annotation.was_cancelled.is_(False),
        )
        .scalar_subquery()
    )


def _queue(job: Job, user_id: int) -> Any:
    """The user's open tasks of the job, in job order (`_open_to`), and with `replicas` set
    not yet annotated in this job by that many people (honeypots go to every assignee)."""
    where = [JobTask.job_id == job.id, *_open_to(user_id)]
    if job.replicas is not None:
        where.append(or_(JobTask.is_honeypot.is_(True), _replicas_done() < job.replicas))
    return select(Task).join(JobTask, JobTask.task_id == Task.id).where(*where)


def remaining_by_job(session: Session, job_ids: list[int], user_id: int) -> dict[int, int]:
    """How many tasks each job's queue (`_queue`) holds for this user, in one query."""
    if not job_ids:
        return {}
    counts = dict(
        session.execute(
            select(JobTask.job_id, func.count())
            .join(Task, Task.id == JobTask.task_id)
            .join(Job, Job.id == JobTask.job_id)
            .where(
                JobTask.job_id.in_(job_ids),
                *_open_to(user_id),
                or_(
                    Job.replicas.is_(None),
                    JobTask.is_honeypot.is_(True),
                    _replicas_done() < Job.replicas,
                ),
            )
            .group_by(JobTask.job_id)
        ).all()
    )
    return {j: int(counts.get(j, 0)) for j in job_ids}


def next_to_annotate(session: Session, actor: Actor, job_id: int) -> tuple[Task | None, int]:
    """The assignee's next task of their queue (see `_queue`) and how many remain for them.

    With replicas, two assignees asking at once may both get a task that needs one more
    replica; both answers are kept (the task then has one replica too many), no reservation.
    """
    job = get_job(session, actor, job_id)
    if not is_assignee(session, job.id, actor.id):
        raise Invalid.field("job", f"you are not an assignee of job {job.id}")
    remaining = remaining_by_job(session, [job.id], actor.id)[job.id]
    return session.scalars(
        _queue(job, actor.id).order_by(JobTask.position).limit(1)
    ).first(), remaining


def shuffled(job_id: int, task_ids: list[int]) -> list[int]:
    """A random-looking order that is stable for a job, so a reload shows the same next task."""
    return sorted(
        task_ids, key=lambda t: hashlib.blake2b(f"{job_id}:{t}".encode(), digest_size=8).digest()
    )
