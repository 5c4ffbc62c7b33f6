"""Annotations: create, read, change and soft-delete, each change of content kept as a revision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.services import changes, evaluation, jobs, rework
from assay.services import ground_truth as _gt
from assay.services.access import (
    Action,
    Actor,
    authorize,
    authorize_annotation_change,
    shows_annotation_details,
)
from assay.services.checks import is_id, is_int
from assay.services.errors import Conflict, Forbidden, Invalid, NotFound
from assay.services.projects import guideline_in_force
from assay.services.tasks.results import checked_result, checked_times, label_config_of_project
from assay.services.tasks.visibility import (
    annotation_visibility,
    annotation_visible,
    get_task,
    resolve_task,
)
from assay.store.models import Annotation, AnnotationRevision, Task
from assay.store.types import utcnow


def record_revision(session: Session, ann: Annotation, action: str, actor: Actor) -> None:
    """Keep the annotation's current state as revision `ann.revision` (and rescore its task)."""
    changes.record(session, ann.project_id, [ann.task_id])
    session.add(
        AnnotationRevision(
            annotation_id=ann.id,
            revision=ann.revision,
            action=action,
            result=ann.result,
            ground_truth=ann.ground_truth,
            was_cancelled=ann.was_cancelled,
            guideline_version=guideline_in_force(session, ann.project_id),
            changed_by_id=actor.id,
            changed_at=ann.updated_at,
        )
    )


def get_annotation(session: Session, actor: Actor, annotation_id: int) -> Annotation:
    ann = session.get(Annotation, annotation_id)
    if ann is None or ann.deleted_at is not None:
        raise NotFound(f"Annotation {annotation_id} not found.")
    authorize(session, actor, Action.TASK_VIEW, ann.project_id)
    if not annotation_visible(session, actor, ann):
        raise NotFound(f"Annotation {annotation_id} not found.")
    return ann


def list_annotations(session: Session, actor: Actor, task_id: int) -> list[Annotation]:
    task = get_task(session, actor, task_id)
    stmt = (
        select(Annotation)
        .where(
            Annotation.task_id == task.id,
            Annotation.deleted_at.is_(None),
            *annotation_visibility(actor),
        )
        .order_by(Annotation.id)
    )
    return list(session.scalars(stmt))


def create_annotation(
    session: Session,
    actor: Actor,
    task_id: int,
    result: Any,
    ground_truth: bool = False,
    was_cancelled: bool = False,
    lead_time: float | None = None,
    job_id: int | None = None,
    skip_reason: str | None = None,
    active_time: float | None = None,
) -> Annotation:
    """A new annotation of the task `task_id` names; an alias names its job too (`job_id`
    when none is given)."""
    task, named_job = resolve_task(session, actor, task_id)
    job_id = named_job if job_id is None else job_id
    authorize(session, actor, Action.ANNOTATION_CREATE, task.project_id)
    evaluation.require_may_annotate(session, actor, task.project_id)  # paused, at the limit
    if ground_truth:
        authorize(session, actor, Action.GROUND_TRUTH_CHANGE, task.project_id)
        # The star's lock order (task row, then annotation rows), taken before the insert:
        # the insert's foreign-key lock on the task, then the task lock, deadlocked two
        # concurrent GT creates on PostgreSQL.
        _gt.lock_tasks(session, [task.id])
        session.refresh(task)
    if job_id is not None:
        _check_job(session, actor, task, job_id, task_id)
        jobs.require_open(session, actor, job_id)
    if (
        task.gt_status != "none"
        and not actor.may(Action.GT_STAGE)
        and not jobs.is_honeypot_for(session, actor.id, task.id)
    ):
        raise Conflict(
            f"Task {task.id} is done: its ground truth is final and it takes no more annotations."
        )
    result = checked_result(result, label_config_of_project(session, task.project_id), "result")
    lead_time, active_time = checked_times(lead_time, active_time)
    reason = _skip_reason(skip_reason, was_cancelled)
    ann = add_annotation(session, actor, task, result, job_id, was_cancelled, lead_time)
    ann.active_time = active_time
    ann.skip_reason = reason
    if ground_truth:
        _gt.make_ground_truth(session, actor, ann)
    return ann


def add_annotation(
    session: Session,
    actor: Actor,
    task: Task,
    result: list[Any],
    job_id: int | None = None,
    was_cancelled: bool = False,
    lead_time: float | None = None,
) -> Annotation:
    """Store a checked result as a new annotation by the actor, with its first revision."""
    now = utcnow()
    ann = Annotation(
        task_id=task.id,
        project_id=task.project_id,
        job_id=job_id,
        completed_by_id=actor.id,
        result=result,
        ground_truth=False,
        was_cancelled=was_cancelled,
        lead_time=lead_time,
        created_at=now,
        updated_at=now,
        updated_by_id=actor.id,
    )
    session.add(ann)
    session.flush()
    record_revision(session, ann, "created", actor)
    return ann


def _check_job(session: Session, actor: Actor, task: Task, job_id: Any, sent_id: int) -> None:
    """An annotation made in a job: the task must be in it, and annotators must be assigned.
    `sent_id`: the task's id as the actor sent it (an alias), the one an error may name."""
    if not is_id(job_id):
        raise Invalid.field("job", "must be a job id")
    job = jobs.get_job(session, actor, job_id)
    if job.project_id != task.project_id:
        raise Invalid.field("job", f"job {job_id} belongs to another project")
    jobs.require_task_in_job(session, job, task.id, sent_id)
    if not actor.may(Action.JOBS_VIEW_ALL) and not jobs.is_assignee(session, job.id, actor.id):
        raise Invalid.field("job", f"you are not an assignee of job {job_id}")


MAX_SKIP_REASON = 500


def _skip_reason(reason: Any, was_cancelled: bool) -> str | None:
    """Why a task was skipped: text of at most 500 characters, only on a cancelled annotation."""
    if reason is None:
        return None
    if not isinstance(reason, str) or len(reason.strip()) > MAX_SKIP_REASON:
        raise Invalid.field("skip_reason", f"must be text of at most {MAX_SKIP_REASON} characters")
    if not was_cancelled:
        raise Invalid.field("skip_reason", "goes with was_cancelled=true (a skipped task)")
    return reason.strip() or None


def check_revision(ann: Annotation, expected: Any) -> None:
    """Compare-and-set: when the client names the revision it read (`expected`), refuse the
    change with Conflict unless that is still the annotation's revision. None skips it."""
    if expected is None:
        return
    if not is_int(expected) or expected < 1:
        raise Invalid.field("revision", "must be the revision you read, a whole number from 1")
    if expected != ann.revision:
        raise Conflict(
            f"Annotation {ann.id} changed since you read it: it is at revision {ann.revision}, "
            f"not {expected}. Read it again and redo your change.",
            {"revision": [f"stale: the current revision is {ann.revision}"]},
        )


def changeable_annotation(
    session: Session, actor: Actor, annotation_id: int, revision: Any = None
) -> Annotation:
    """The annotation as the actor may change it: visible to them, locked and read afresh
    (`ground_truth.lock_annotation`), theirs to change (`access.authorize_annotation_change`),
    and still at `revision` when they name it."""
    ann = _gt.lock_annotation(session, get_annotation(session, actor, annotation_id))
    if ann.deleted_at is not None:
        raise NotFound(f"Annotation {annotation_id} not found.")
    authorize_annotation_change(actor, ann)
    check_revision(ann, revision)
    return ann


def update_annotation(
    session: Session, actor: Actor, annotation_id: int, revision: Any = None, **fields: Any
) -> Annotation:
    """Change result, cancelled flag or lead time (a new revision), and/or the GT flag.

    `revision`, when given, is the revision the client edited: a stale one is a Conflict.
    The author's change of a rejected annotation is its resubmission (`rework.resubmit`): a new
    revision, "resubmitted", even when the result is the same. Forbidden in an accepted job
    (`jobs.require_open`).
    """
    ann = changeable_annotation(session, actor, annotation_id, revision)
    jobs.require_open(session, actor, ann.job_id)
    wants_gt = fields.get("ground_truth")
    if wants_gt is not None:
        authorize(session, actor, Action.GROUND_TRUTH_CHANGE)  # the project is checked
    own = ann.completed_by_id == actor.id
    content_changed = False
    if fields.get("result") is not None:
        config = label_config_of_project(session, ann.project_id)
        result = checked_result(fields["result"], config, "result")
        if result != ann.result:
            content_changed = True
            if own:
                ann.own_result = None  # the author's new work is what is measured
            elif ann.own_result is None and ann.kind == "manual":
                # someone else's edit (a fix, or a lead's edit of the GT): keep the author's
                ann.own_result = ann.result
        ann.result = result
    if (
        fields.get("was_cancelled") is not None
        and bool(fields["was_cancelled"]) != ann.was_cancelled
    ):
        ann.was_cancelled = bool(fields["was_cancelled"])
        content_changed = True
    if "skip_reason" in fields or not ann.was_cancelled:
        ann.skip_reason = _skip_reason(fields.get("skip_reason"), ann.was_cancelled)
    if fields.get("lead_time") is not None or fields.get("active_time") is not None:
        lead = fields.get("lead_time")
        active = fields.get("active_time")
        ann.lead_time, ann.active_time = checked_times(
            lead if lead is not None else ann.lead_time,
            active if active is not None else ann.active_time,
        )
    resubmitted = own and rework.resubmit(session, ann)  # a new pass, even if unchanged
    if content_changed or resubmitted:
        ann.revision += 1
        ann.updated_at = utcnow()
        ann.updated_by_id = actor.id
        session.flush()
        record_revision(session, ann, "resubmitted" if resubmitted else "updated", actor)
        if ann.ground_truth and wants_gt is not False:
            _gt.record_gt_edit(session, actor, ann)
    if wants_gt is True:
        _gt.make_ground_truth(session, actor, ann)
    elif wants_gt is False:
        _gt.clear_ground_truth(session, actor, ann)
    session.flush()
    return ann


def delete_annotation(session: Session, actor: Actor, annotation_id: int) -> None:
    """Soft-delete: hidden everywhere, the row and its history stay to explain old scores."""
    ann = changeable_annotation(session, actor, annotation_id)
    jobs.require_open(session, actor, ann.job_id)
    if ann.ground_truth:
        _gt.clear_ground_truth(session, actor, ann)
    soft_delete(session, actor, ann)


def soft_delete(session: Session, actor: Actor, ann: Annotation) -> None:
    """Hide the annotation everywhere; the row and a "deleted" revision keep its history."""
    now = utcnow()
    ann.deleted_at = now
    ann.deleted_by_id = actor.id
    ann.revision += 1
    ann.updated_at = now
    session.flush()
    record_revision(session, ann, "deleted", actor)


def list_revisions(session: Session, actor: Actor, annotation_id: int) -> list[AnnotationRevision]:
    """Every state the annotation has had, oldest first; readable as long as the annotation is,
    except a co-assignee's in a shared project (its history holds reviews' fixes and GT)."""
    ann = get_annotation(session, actor, annotation_id)
    if not shows_annotation_details(actor, ann):
        raise Forbidden("Annotators read the revisions of their own annotations only.")
    stmt = (
        select(AnnotationRevision)
        .where(AnnotationRevision.annotation_id == ann.id)
        .order_by(AnnotationRevision.revision, AnnotationRevision.id)
    )
    return list(session.scalars(stmt))
