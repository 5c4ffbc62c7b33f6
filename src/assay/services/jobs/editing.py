"""Creating, changing and listing jobs: their tasks (with honeypots mixed in), assignees and
how many annotators each task needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from assay.services.access import Action, Actor, authorize, works_in
from assay.services.checks import is_id_list, is_int
from assay.services.errors import Invalid
from assay.services.honeypots import rotation
from assay.services.jobs.lookup import get_job
from assay.services.jobs.progress import JobView, views_of
from assay.services.pagination import Page, page_of
from assay.services.selection import Selection, selected_task_ids
from assay.services.task_aliases import new_aliases
from assay.store.models import Job, JobAssignee, JobTask, Task, User

MAX_TITLE = 200


MIN_REPLICAS, MAX_REPLICAS = 2, 11


def _check_ids(value: Any, field: str) -> list[int]:
    if not is_id_list(value):
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
        if not works_in(session, uid, user.role, project_id):
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
    selection: Selection | None = None,
) -> Job:
    """A job over the given tasks, named by `task_ids` or by a Data Manager `selection`
    (its selectedItems AND filters, in task id order; one of the two); honeypots from the
    project's pool are mixed in at random positions (services.honeypots) unless
    `with_honeypots` is off."""
    authorize(session, actor, Action.JOBS_MANAGE, project_id)
    title = _check_title(title)
    task_ids = _job_tasks(session, actor, project_id, task_ids, selection)
    assignee_ids = _check_ids(assignees if assignees is not None else [], "assignees")
    _check_tasks(session, project_id, task_ids)
    _check_assignees(session, project_id, assignee_ids)
    replicas = _check_replicas(replicas, len(assignee_ids))
    job = Job(project_id=project_id, title=title, created_by_id=actor.id, replicas=replicas)
    session.add(job)
    session.flush()
    chosen = (
        rotation.choose(session, project_id, task_ids, assignee_ids, job.id)
        if with_honeypots
        else []
    )
    order = rotation.mix_in(task_ids, chosen)
    session.execute(
        insert(JobTask),
        [
            {"job_id": job.id, "task_id": t, "position": i, "is_honeypot": hp, "alias": alias}
            for i, ((t, hp), alias) in enumerate(
                zip(order, new_aliases(session, len(order)), strict=True)
            )
        ],
    )
    if assignee_ids:
        session.execute(
            insert(JobAssignee), [{"job_id": job.id, "user_id": u} for u in assignee_ids]
        )
    rotation.record_exposures(session, job, chosen, assignee_ids)
    return job


def _job_tasks(
    session: Session, actor: Actor, project_id: int, task_ids: Any, selection: Selection | None
) -> list[int]:
    """The job's own tasks (no honeypots yet), checked: `task_ids` or the `selection`."""
    if selection is not None:
        if task_ids is not None:
            raise Invalid.field("task_ids", "give task_ids or selectedItems, not both")
        chosen = selected_task_ids(session, project_id, selection, actor).order_by(Task.id)
        ids = list(session.scalars(chosen))
        if not ids:
            raise Invalid.field("selectedItems", "selects no task: a job needs at least one")
        return ids
    ids = _check_ids(task_ids if task_ids is not None else [], "task_ids")
    if not ids:
        raise Invalid.field("task_ids", "is empty: a job needs at least one task")
    return ids


def _check_replicas(value: Any, assignees: int) -> int | None:
    """None (every assignee does every task) or 2-11, and no more than the assignees."""
    if value is None:
        return None
    if not is_int(value):
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
                    {"job_id": job.id, "task_id": t, "position": start + 1 + i, "alias": alias}
                    for i, (t, alias) in enumerate(
                        zip(new, new_aliases(session, len(new)), strict=True)
                    )
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
            rotation.assignees_changed(session, job, before, after)
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
    return views_of(session, jobs, actor), pg
