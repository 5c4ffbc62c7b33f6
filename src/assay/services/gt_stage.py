"""The ground-truth stage of a job: the lead walks the job's not-yet-done tasks in random
order, starting from the annotators' regions, and presses Done. The edited regions become
the task's GT annotation (a new annotation; the annotators' stay untouched) and the task is
done everywhere, for good; Done with no regions marks it empty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services import ground_truth as gt
from assay.services import jobs
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Conflict, Invalid, NotFound
from assay.services.tasks import checked_result, get_task, label_config_of_project
from assay.services.tasks.annotations import add_annotation, record_revision
from assay.store.models import (
    Annotation,
    Job,
    JobTask,
    Prediction,
    Task,
    TaskEvent,
    User,
)
from assay.store.types import utcnow


@dataclass(frozen=True)
class StageTask:
    """A task of the stage with everything the editor starts from."""

    task: Task
    annotations: list[Annotation]  # the job's annotations on the task, oldest first
    start_from: Annotation | None  # whose regions the editor starts with
    ground_truth: Annotation | None  # the task's GT, when it is done already (Back)


@dataclass(frozen=True)
class StageState:
    job: Job
    progress: jobs.JobProgress
    current: StageTask | None  # None when the stage is complete


@dataclass(frozen=True)
class Reference:
    """One other source of regions for a task: an annotation (job + annotator) or a model."""

    kind: str  # "annotation" | "prediction"
    id: int
    title: str
    result: list[Any]
    job_id: int | None = None
    annotator_id: int | None = None
    model_version: str | None = None
    score: float | None = None


def _stage_job(session: Session, actor: Actor, job_id: int) -> Job:
    job = jobs.get_job(session, actor, job_id)
    authorize(session, actor, Action.GT_STAGE, job.project_id)
    return job


def _progress(session: Session, job: Job) -> jobs.JobProgress:
    return jobs.job_progress(session, [job.id])[job.id]


def _require_fully_annotated(progress: jobs.JobProgress, job: Job) -> None:
    if not progress.fully_annotated:
        raise Conflict(
            f"Job {job.id} is not fully annotated yet: {progress.annotated_or_done} of "
            f"{progress.total} tasks are annotated or done."
        )


def _job_annotations(session: Session, job_id: int, task_id: int) -> list[Annotation]:
    stmt = (
        select(Annotation)
        .where(
            Annotation.task_id == task_id,
            Annotation.job_id == job_id,
            Annotation.deleted_at.is_(None),
        )
        .order_by(Annotation.id)
    )
    return list(session.scalars(stmt))


def _stage_task(session: Session, job: Job, task: Task, start_from: int | None) -> StageTask:
    current = gt.current_gt(session, task.id) if task.gt_status != "none" else None
    annotations = [
        a
        for a in _job_annotations(session, job.id, task.id)
        if current is None or a.id != current.id
    ]
    chosen = next((a for a in annotations if a.completed_by_id == start_from), None)
    return StageTask(
        task, annotations, chosen or (annotations[0] if annotations else None), current
    )


def next_task(
    session: Session, actor: Actor, job_id: int, start_from: int | None = None
) -> StageState:
    """A random not-yet-done task of the job, or the completion state at 100 %."""
    job = _stage_job(session, actor, job_id)
    progress = _progress(session, job)
    _require_fully_annotated(progress, job)
    open_ids = list(
        session.scalars(
            select(Task.id)
            .join(JobTask, JobTask.task_id == Task.id)
            .where(
                JobTask.job_id == job.id,
                JobTask.is_honeypot.is_(False),  # honeypots have GT: never GT candidates
                Task.deleted_at.is_(None),
                Task.gt_status == "none",
            )
        )
    )
    if not open_ids:
        return StageState(job, progress, None)
    task = session.get(Task, jobs.shuffled(job.id, open_ids)[0])
    assert task is not None
    return StageState(job, progress, _stage_task(session, job, task, start_from))


def previous_task(
    session: Session, actor: Actor, job_id: int, before: int | None = None
) -> StageState:
    """The task finished in this job just before `before` (or the last one finished), for Back."""
    job = _stage_job(session, actor, job_id)
    stmt = (
        select(Task)
        .join(JobTask, JobTask.task_id == Task.id)
        .where(
            JobTask.job_id == job.id,
            Task.done_job_id == job.id,
            Task.gt_status != "none",
            Task.deleted_at.is_(None),
        )
    )
    if before is not None:
        anchor = session.get(Task, before)
        if anchor is not None and anchor.done_job_id == job.id and anchor.done_at is not None:
            stmt = stmt.where(Task.done_at < anchor.done_at)
    task = session.scalars(stmt.order_by(Task.done_at.desc(), Task.id.desc()).limit(1)).first()
    if task is None:
        raise NotFound("No earlier task in this job's ground-truth stage.")
    return StageState(job, _progress(session, job), _stage_task(session, job, task, None))


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
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        raise Invalid.field("job", "is required: the job whose ground-truth stage this is")
    job = _stage_job(session, actor, job_id)
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
        return DoneResult(task, ann, _progress(session, job))
    _require_fully_annotated(_progress(session, job), job)
    ann = add_annotation(session, actor, task, result, job_id=job.id)
    gt.make_ground_truth(session, actor, ann)
    task.gt_status = status
    task.done_at = now
    task.done_by_id = actor.id
    task.done_job_id = job.id
    _event(session, task, job, status, actor, regions=len(result))
    session.flush()
    return DoneResult(task, ann, _progress(session, job))


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


def references(session: Session, actor: Actor, task_id: int) -> list[Reference]:
    """Every source of regions for the task: each job x annotator, and each model version."""
    task = get_task(session, actor, task_id)
    authorize(session, actor, Action.GROUND_TRUTH_VIEW, task.project_id)
    rows = session.execute(
        select(Annotation, Job.title, User.email)
        .outerjoin(Job, Job.id == Annotation.job_id)
        .outerjoin(User, User.id == Annotation.completed_by_id)
        .where(Annotation.task_id == task.id, Annotation.deleted_at.is_(None))
        .order_by(Annotation.job_id, Annotation.id)
    ).all()
    out = []
    for ann, job_title, email in rows:
        where = job_title or (f"Job {ann.job_id}" if ann.job_id else "no job")
        tag = " (ground truth)" if ann.ground_truth else ""
        out.append(
            Reference(
                "annotation",
                ann.id,
                f"{where} · {email or 'unknown'}{tag}",
                ann.result,
                ann.job_id,
                ann.completed_by_id,
            )
        )
    preds = session.scalars(
        select(Prediction)
        .where(Prediction.task_id == task.id, Prediction.deleted_at.is_(None))
        .order_by(Prediction.id)
    )
    for p in preds:
        score = f" · score {p.score:.2f}" if p.score is not None else ""
        out.append(
            Reference(
                "prediction",
                p.id,
                f"model {p.model_version or 'unversioned'}{score}",
                p.result,
                model_version=p.model_version,
                score=p.score,
            )
        )
    return out


def stage_counts(session: Session, job: Job) -> dict[str, int]:
    """For the completion page: how the job's tasks ended, and how many GT regions they hold."""
    in_job = (JobTask.job_id == job.id, Task.deleted_at.is_(None))
    rows = session.execute(
        select(Task.gt_status, func.count())
        .join(JobTask, JobTask.task_id == Task.id)
        .where(*in_job)
        .group_by(Task.gt_status)
    ).all()
    counts = {"done": 0, "empty": 0, "none": 0, **dict(rows)}
    results = session.scalars(
        select(Annotation.result)
        .join(JobTask, JobTask.task_id == Annotation.task_id)
        .join(Task, Task.id == Annotation.task_id)
        .where(*in_job, Annotation.ground_truth.is_(True), Annotation.deleted_at.is_(None))
    )
    regions = sum(len(r) for r in results)
    return {
        "done": counts["done"],
        "empty": counts["empty"],
        "open": counts["none"],
        "gt_regions": regions,
    }


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
