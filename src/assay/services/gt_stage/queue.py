"""Walking a job's GT stage: the lead gets the job's not-yet-done tasks in random order, each
with the job's annotations to start from; Back returns to the previous task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.services import ground_truth as gt
from assay.services import jobs
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Conflict, NotFound
from assay.store.models import (
    Annotation,
    Job,
    JobTask,
    Task,
)


@dataclass(frozen=True)
class StageTask:
    """A task of the stage with everything the editor starts from."""

    task: Task
    annotations: list[Annotation]  # the job's annotations on the task, oldest first
    start_from: Annotation | None  # whose regions the editor starts with
    ground_truth: Annotation | None  # the task's GT, when it is done already (Back)

    @property
    def start_regions(self) -> list[Any]:
        """The regions the editor opens with: the GT's when the task is done already, else
        those of the annotation it starts from, else none."""
        if self.ground_truth is not None:
            return self.ground_truth.result
        return self.start_from.result if self.start_from is not None else []

    @property
    def start_annotator(self) -> int | None:
        """Whose annotation the editor starts from; None when it opens the task's GT."""
        if self.ground_truth is not None or self.start_from is None:
            return None
        return self.start_from.completed_by_id


@dataclass(frozen=True)
class StageState:
    job: Job
    progress: jobs.JobProgress
    current: StageTask | None  # None when the stage is complete
    counts: dict[str, int] | None = None  # `stage_counts` of the job, once it is complete


def stage_job(session: Session, actor: Actor, job_id: int) -> Job:
    job = jobs.get_job(session, actor, job_id)
    authorize(session, actor, Action.GT_STAGE, job.project_id)
    return job


def stage_progress(session: Session, job: Job) -> jobs.JobProgress:
    return jobs.job_progress(session, [job.id])[job.id]


def require_fully_annotated(progress: jobs.JobProgress, job: Job) -> None:
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
    job = stage_job(session, actor, job_id)
    progress = stage_progress(session, job)
    require_fully_annotated(progress, job)
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
        return StageState(job, progress, None, stage_counts(session, job))
    task = session.get(Task, jobs.shuffled(job.id, open_ids)[0])
    assert task is not None
    return StageState(job, progress, _stage_task(session, job, task, start_from))


def previous_task(
    session: Session, actor: Actor, job_id: int, before: int | None = None
) -> StageState:
    """The task finished in this job just before `before` (or the last one finished), for Back."""
    job = stage_job(session, actor, job_id)
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
    return StageState(job, stage_progress(session, job), _stage_task(session, job, task, None))


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
