"""Done: the edited regions become the task's GT annotation (a new annotation; the annotators'
stay untouched) and the task is done everywhere, for good; Done with no regions marks it
empty. Reopening is the lead's way back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from assay.services import ground_truth as gt
from assay.services import jobs
from assay.services.access import Action, Actor, authorize
from assay.services.checks import is_id
from assay.services.errors import Conflict, Invalid
from assay.services.gt_stage.queue import require_fully_annotated, stage_job, stage_progress
from assay.services.tasks import checked_result, get_task, label_config_of_project
from assay.services.tasks.annotations import add_annotation, record_revision
from assay.store.models import (
    Annotation,
    Job,
    Task,
    TaskEvent,
)
from assay.store.types import utcnow


@dataclass(frozen=True)
class DoneResult:
    task: Task
    annotation: Annotation
    progress: jobs.JobProgress


def finish_task(
    session: Session, actor: Actor, task_id: int, job_id: Any, result: Any, revise: bool = False
) -> DoneResult:
    """Done: the regions become the task's GT annotation and the task is done (empty if none).

    `revise` edits a task already done in this job (after Back): its GT annotation gets a new
    revision. Without it, Done on a done task is a Conflict.
    """
    if not is_id(job_id):
        raise Invalid.field("job", "is required: the job whose ground-truth stage this is")
    job = stage_job(session, actor, job_id)
    task = get_task(session, actor, task_id)
    jobs.require_task_in_job(session, job, task.id)
    gt.lock_tasks(session, [task.id])
    session.refresh(task)
    result = checked_result(result, label_config_of_project(session, task.project_id), "result")
    now = utcnow()
    status = "done" if result else "empty"
    if task.gt_status != "none":
        if not revise:
            raise Conflict(f"Task {task.id} is done already; use Back to change it.")
        if task.done_job_id != job.id:
            raise Conflict(f"Task {task.id} was done in another job; it cannot be revised here.")
        ann = gt.current_gt(session, task.id)
        if ann is None:
            raise Conflict(f"Task {task.id} has no ground truth to revise.")
        if result != ann.result:
            ann.result = result
            ann.revision += 1
            ann.updated_at = now
            ann.updated_by_id = actor.id
            session.flush()
            record_revision(session, ann, "updated", actor)
            gt.record_gt_edit(session, actor, ann)
        task.gt_status = status
        _event(session, task, job, "revised", actor, status=status, regions=len(result))
        return DoneResult(task, ann, stage_progress(session, job))
    require_fully_annotated(stage_progress(session, job), job)
    ann = add_annotation(session, actor, task, result, job_id=job.id)
    gt.make_ground_truth(session, actor, ann)
    task.gt_status = status
    task.done_at = now
    task.done_by_id = actor.id
    task.done_job_id = job.id
    _event(session, task, job, status, actor, regions=len(result))
    session.flush()
    return DoneResult(task, ann, stage_progress(session, job))


def reopen_task(session: Session, actor: Actor, task_id: int) -> Task:
    """Admin only: take a done task back out of done, recorded; its GT annotation stays GT."""
    task = get_task(session, actor, task_id)
    authorize(session, actor, Action.TASK_REOPEN, task.project_id)
    if task.gt_status == "none":
        raise Conflict(f"Task {task.id} is not done.")
    job = session.get(Job, task.done_job_id) if task.done_job_id else None
    _event(session, task, job, "reopened", actor, was=task.gt_status)
    task.gt_status = "none"
    task.done_at = None
    task.done_by_id = None
    task.done_job_id = None
    session.flush()
    return task


def _event(
    session: Session, task: Task, job: Job | None, action: str, actor: Actor, **detail: Any
) -> None:
    session.add(
        TaskEvent(
            task_id=task.id,
            job_id=job.id if job else None,
            action=action,
            actor_id=actor.id,
            detail=detail,
        )
    )
