"""A job's progress as its people see it.

Who may not see ground truth (annotators) sees only their own work: `annotated` and `done`
count the tasks they annotated in the job. Counting the tasks the GT stage has finished
would tell them which tasks are honeypots (in a fresh job, exactly those are done).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services.access import Actor, sees_ground_truth
from assay.services.annotator_work import work_on
from assay.services.task_aliases import knows_aliases
from assay.store.models import Job, JobAssignee, JobTask, Task


@dataclass(frozen=True)
class JobProgress:
    total: int
    annotated: int  # tasks with a live, non-cancelled annotation that counts for the job (work_on)
    done: int  # tasks whose GT stage is finished (done or empty), in any job; see the module
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


def views_of(session: Session, jobs: list[Job], viewer: Actor) -> list[JobView]:
    """Jobs with their tasks, assignees and progress as `viewer` sees it, in a fixed number of
    queries; an annotator sees the tasks by their aliases (`task_aliases`)."""
    ids = [j.id for j in jobs]
    if not ids:
        return []
    tasks: dict[int, list[int]] = {i: [] for i in ids}
    shown_id = JobTask.alias if knows_aliases(viewer) else JobTask.task_id
    for job_id, task_id in session.execute(
        select(JobTask.job_id, shown_id)
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
    progress = job_progress(session, ids, viewer)
    return [JobView(j, tasks[j.id], people[j.id], progress[j.id]) for j in jobs]


def job_progress(
    session: Session, job_ids: list[int], viewer: Actor | None = None
) -> dict[int, JobProgress]:
    """Each job's progress; as `viewer` sees it when given (module docstring), else all of it
    (the GT stage's gate)."""
    own_work_only = viewer is not None and not sees_ground_truth(viewer)
    live = (JobTask.job_id.in_(job_ids), Task.deleted_at.is_(None))
    base = (
        select(JobTask.job_id, JobTask.task_id, Task.gt_status)
        .join(Task, Task.id == JobTask.task_id)
        .where(*live)
    )
    annotated_in_job = work_on(
        JobTask.task_id,
        JobTask.job_id,
        viewer.id if own_work_only and viewer else None,
        skipped=False,
    )
    rows = session.execute(base.add_columns(annotated_in_job)).all()
    out: dict[int, list[int]] = {j: [0, 0, 0, 0] for j in job_ids}
    for job_id, _task_id, status, annotated in rows:
        c = out[job_id]
        done = bool(annotated) if own_work_only else status != "none"
        c[0] += 1
        c[1] += bool(annotated)
        c[2] += done
        c[3] += bool(annotated) or done
    return {
        j: JobProgress(total=c[0], annotated=c[1], done=c[2], annotated_or_done=c[3])
        for j, c in out.items()
    }
